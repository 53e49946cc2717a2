/**
 * IP address management end to end: the real controller process, under its own ServiceAccount, on a
 * real kube-apiserver. MetalLB's assignment scenarios (reference notes §6.2 items 10–15, 17, 23) and
 * what Portico adds: reasons on pending Services, hold-down, excludes, deterministic pool order.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { IPAddressPool } from '../../src/api/ip-address-pool.js';
import { Resources } from '../../src/k8s/resources.js';
import type { Namespace, Service } from '../../src/k8s/types.js';
import { useControlPlane } from '../support/fixture.js';
import { createTestNamespace } from '../support/kube.js';
import { waitFor } from '../support/wait.js';
import {
  ControllerProcess,
  createPool,
  createService,
  deleteAllPools,
  deletePool,
  eventsFor,
  getService,
  ingressIPs,
  installManifests,
  kubectl,
  pools,
  SYSTEM_NAMESPACE,
  waitForIPs,
  waitForPending,
  waitForPoolsSeen,
} from './harness.js';

describe('controller: IP address management', { timeout: 300_000 }, () => {
  const cp = useControlPlane({ controllerManager: false });
  let controller: ControllerProcess;
  let ns: string;
  const services = () => cp.admin.resource<Service>(Resources.services);

  before(async () => {
    await installManifests(cp.plane);
    controller = await ControllerProcess.start(cp.plane, { identity: 'ipam-1' });
    await controller.waitLeading();
  });
  after(async () => {
    await controller?.stop();
  });
  const namespaces: string[] = [];
  // Every test starts from no pools and no Services, so a pending Service of one test never takes
  // the addresses of the next (there is no namespace controller here to delete them with their namespace).
  afterEach(async () => {
    for (const n of namespaces.splice(0)) {
      for (const svc of (await services().listAll({ namespace: n })).items) {
        await services().delete(svc.metadata.name!, n);
      }
    }
    await deleteAllPools(cp.admin);
    await new Promise((r) => setTimeout(r, 300));
  });
  const testNamespace = async (prefix: string) => {
    const n = await createTestNamespace(cp.admin, prefix);
    namespaces.push(n);
    return n;
  };
  const run = (body: () => Promise<void>) =>
    cp.run(async () => {
      try {
        await body();
      } catch (err) {
        process.stderr.write(`\n--- controller log (last lines) ---\n${controller?.tail(60)}\n`);
        throw err;
      }
    });
  const fresh = async () => {
    ns = await testNamespace('ipam');
    return ns;
  };

  it(
    'gives a LoadBalancer Service the lowest free address at once, with ipMode VIP and an Event, and no condition while nothing needs explaining',
    run(async () => {
      await fresh();
      await createPool(cp.admin, 'default', { addresses: ['203.0.113.10-203.0.113.20'] });
      const started = Date.now();
      await createService(cp.admin, ns, 'web');
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'web'), ['203.0.113.10']);
      const latency = Date.now() - started;
      const svc = await getService(cp.admin, ns, 'web');
      assert.equal(svc.status?.loadBalancer?.ingress?.[0]?.ipMode, 'VIP');
      // A fully served Service needs no explaining: no condition of ours, and an Event naming the pool.
      assert.equal(
        svc.status?.conditions?.find((c) => c.type === 'portico.dev/Allocated'),
        undefined,
      );
      const events = await waitFor('the IPAllocated event', async () => {
        const evs = await eventsFor(cp.admin, ns, 'web');
        return evs.some((e) => e.reason === 'IPAllocated') ? evs : undefined;
      });
      const allocated = events.filter((e) => e.reason === 'IPAllocated');
      assert.equal(allocated.length, 1);
      assert.match(allocated[0]?.note ?? '', /Assigned 203\.0\.113\.10 from pool default/);
      const table = await kubectl(cp.plane, ['get', 'svc', '-n', ns, 'web', '--no-headers']);
      assert.match(table, /LoadBalancer\s+198\.19\.\d+\.\d+\s+203\.0\.113\.10\s+80:\d+\/TCP/);
      assert.ok(latency < 5000, `address within 5 s (took ${latency} ms)`);
    }),
  );

  it(
    'uses a pool named by annotation, autoAssign true or false, and never an autoAssign: false pool otherwise (§6.2-10)',
    run(async () => {
      await fresh();
      await createPool(cp.admin, 'auto', { addresses: ['203.0.113.0/28'] });
      await createPool(cp.admin, 'manual', { addresses: ['198.51.100.0/28'], autoAssign: false });
      await createService(cp.admin, ns, 'plain');
      await createService(cp.admin, ns, 'to-manual', {
        annotations: { 'portico.dev/address-pool': 'manual' },
      });
      await createService(cp.admin, ns, 'to-auto', { annotations: { 'metallb.io/address-pool': 'auto' } });
      // The pools and Services arrive on separate watches, so which of the two gets .0 may vary.
      const auto = [
        ...(await waitForIPs(cp.admin, ns, 'plain')),
        ...(await waitForIPs(cp.admin, ns, 'to-auto')),
      ];
      assert.deepEqual(auto.sort(), ['203.0.113.0', '203.0.113.1']);
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'to-manual'), ['198.51.100.0']);
      await createService(cp.admin, ns, 'nowhere', {
        annotations: { 'portico.dev/address-pool': 'missing' },
      });
      assert.match(
        await waitForPending(cp.admin, ns, 'nowhere', 'UnknownPool'),
        /no IPAddressPool named missing/,
      );
      // The pool appears: the pending Service is served.
      await createPool(cp.admin, 'missing', { addresses: ['198.51.100.64/30'], autoAssign: false });
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'nowhere'), ['198.51.100.64']);
    }),
  );

  it(
    'frees the address on delete, on a change of type and of class, and gives it to a pending Service (§6.2-11)',
    run(async () => {
      await fresh();
      await createPool(cp.admin, 'one', { addresses: ['203.0.113.50/32'] });
      await createService(cp.admin, ns, 'first');
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'first'), ['203.0.113.50']);
      await createService(cp.admin, ns, 'second');
      assert.match(
        await waitForPending(cp.admin, ns, 'second', 'PoolExhausted'),
        /no free IPv4 address in pool one/,
      );
      await services().delete('first', ns);
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'second'), ['203.0.113.50']);

      await createService(cp.admin, ns, 'third');
      await waitForPending(cp.admin, ns, 'third', 'PoolExhausted');
      // LoadBalancer -> ClusterIP: the address goes to the pending Service, our status is cleared.
      await services().patch(
        'second',
        ns,
        { spec: { type: 'ClusterIP', ports: [{ port: 80, protocol: 'TCP', name: 'p80-tcp' }] } },
        { type: 'merge' },
      );
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'third'), ['203.0.113.50']);
      const second = await waitFor('our condition gone from the ClusterIP Service', async () => {
        const s = await getService(cp.admin, ns, 'second');
        return s.status?.conditions?.some((c) => c.type === 'portico.dev/Allocated') ? undefined : s;
      });
      assert.deepEqual(ingressIPs(second), []);

      // ClusterIP -> LoadBalancer of another class: it is not ours; nothing is written.
      await services().patch(
        'second',
        ns,
        { spec: { type: 'LoadBalancer', loadBalancerClass: 'example.com/other' } },
        { type: 'merge' },
      );
      await services().delete('third', ns);
      await new Promise((r) => setTimeout(r, 1500));
      const foreign = await getService(cp.admin, ns, 'second');
      assert.deepEqual(ingressIPs(foreign), []);
      assert.equal(foreign.status?.conditions?.length ?? 0, 0);
    }),
  );

  it(
    'never touches a Service of a foreign loadBalancerClass, and serves its own class (§6.2-23)',
    run(async () => {
      await fresh();
      await createPool(cp.admin, 'p', { addresses: ['203.0.113.60/30'] });
      await createService(cp.admin, ns, 'foreign', { spec: { loadBalancerClass: 'example.com/other' } });
      await createService(cp.admin, ns, 'ours', { spec: { loadBalancerClass: 'portico.dev/lb' } });
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'ours'), ['203.0.113.60']);
      await new Promise((r) => setTimeout(r, 1000));
      const foreign = await getService(cp.admin, ns, 'foreign');
      assert.deepEqual(ingressIPs(foreign), []);
      assert.equal(foreign.status?.conditions, undefined);
      assert.equal((await eventsFor(cp.admin, ns, 'foreign')).length, 0);
    }),
  );

  it(
    'shares an address between Services with one key and disjoint ports, and re-evaluates when a sharer changes (§6.2-13)',
    run(async () => {
      await fresh();
      await createPool(cp.admin, 'p', { addresses: ['203.0.113.70/31'] });
      const share = { 'portico.dev/allow-shared-ip': 'web', 'portico.dev/load-balancer-ips': '203.0.113.71' };
      await createService(cp.admin, ns, 'http', { annotations: share, ports: [{ port: 80 }] });
      await createService(cp.admin, ns, 'https', { annotations: share, ports: [{ port: 443 }] });
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'http'), ['203.0.113.71']);
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'https'), ['203.0.113.71']);
      // https switches to externalTrafficPolicy Local: Cluster and Local may not share; it loses.
      await services().patch('https', ns, { spec: { externalTrafficPolicy: 'Local' } }, { type: 'merge' });
      assert.match(
        await waitForPending(cp.admin, ns, 'https', 'AddressInUse'),
        /externalTrafficPolicy Local/,
      );
      assert.deepEqual(ingressIPs(await getService(cp.admin, ns, 'http')), ['203.0.113.71']);
      // Aligning them again restores both.
      await services().patch('https', ns, { spec: { externalTrafficPolicy: 'Cluster' } }, { type: 'merge' });
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'https'), ['203.0.113.71']);
      // A port clash is refused with the port named.
      await createService(cp.admin, ns, 'clash', { annotations: share, ports: [{ port: 80 }] });
      assert.match(await waitForPending(cp.admin, ns, 'clash', 'AddressInUse'), /already uses port TCP\/80/);
    }),
  );

  it(
    'removing every pool leaves Services pending with a reason; deleting one pool moves its Services to another (§6.2-14)',
    run(async () => {
      await fresh();
      await createPool(cp.admin, 'first', {
        addresses: ['203.0.113.80/32'],
        serviceAllocation: { priority: 1 },
      });
      await createPool(cp.admin, 'second', {
        addresses: ['198.51.100.80/32'],
        serviceAllocation: { priority: 2 },
      });
      await createService(cp.admin, ns, 'mover');
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'mover'), ['203.0.113.80']);
      await deletePool(cp.admin, 'first');
      assert.deepEqual(
        await waitForIPs(cp.admin, ns, 'mover', 1).then(async () => {
          return await waitFor('the Service to move to pool second', async () => {
            const ips = ingressIPs(await getService(cp.admin, ns, 'mover'));
            return ips[0] === '198.51.100.80' ? ips : undefined;
          });
        }),
        ['198.51.100.80'],
      );
      await deletePool(cp.admin, 'second');
      assert.match(
        await waitForPending(cp.admin, ns, 'mover', 'NoMatchingPool'),
        /no IPAddressPool with autoAssign/,
      );
      // One ClearAssignment per move: first off pool first, then off pool second.
      await waitFor('the ClearAssignment event of the first move', async (seen) => {
        const notes = (await eventsFor(cp.admin, ns, 'mover'))
          .filter((e) => e.reason === 'ClearAssignment')
          .map((e) => e.note);
        seen(notes);
        return notes.some((n) =>
          /203\.0\.113\.80 no longer fits: 203\.0\.113\.80 is not in any IPAddressPool/.test(n ?? ''),
        );
      });
    }),
  );

  it(
    'serviceAllocation: namespaces, namespaceSelectors, serviceSelectors and priority decide the pool (§6.2-15)',
    run(async () => {
      const nsA = await testNamespace('team-a');
      const nsB = await testNamespace('team-b');
      await cp.admin
        .resource<Namespace>(Resources.namespaces)
        .patch(nsB, undefined, { metadata: { labels: { tier: 'gold' } } }, { type: 'merge' });
      await createPool(cp.admin, 'general', { addresses: ['198.51.100.100/30'] });
      await createPool(cp.admin, 'for-a', {
        addresses: ['203.0.113.100/30'],
        serviceAllocation: { priority: 10, namespaces: [nsA] },
      });
      await createPool(cp.admin, 'gold', {
        addresses: ['203.0.113.104/30'],
        serviceAllocation: { priority: 5, namespaceSelectors: [{ matchLabels: { tier: 'gold' } }] },
      });
      await createPool(cp.admin, 'web', {
        addresses: ['203.0.113.108/30'],
        serviceAllocation: {
          priority: 1,
          namespaces: [nsA],
          serviceSelectors: [{ matchLabels: { role: 'web' } }],
        },
      });
      // Otherwise the first Services may be served before the controller has seen the last pools.
      await waitForPoolsSeen(cp.admin, ['general', 'for-a', 'gold', 'web']);
      await createService(cp.admin, nsA, 'plain');
      await createService(cp.admin, nsA, 'frontend', { labels: { role: 'web' } });
      await createService(cp.admin, nsB, 'gold-svc', { labels: { role: 'web' } });
      const other = await testNamespace('other');
      await createService(cp.admin, other, 'elsewhere');
      assert.deepEqual(await waitForIPs(cp.admin, nsA, 'plain'), ['203.0.113.100']);
      assert.deepEqual(await waitForIPs(cp.admin, nsA, 'frontend'), ['203.0.113.108']);
      assert.deepEqual(await waitForIPs(cp.admin, nsB, 'gold-svc'), ['203.0.113.104']);
      assert.deepEqual(await waitForIPs(cp.admin, other, 'elsewhere'), ['198.51.100.100']);
      // A pool restricted to other namespaces, asked for by name, is refused with the reason.
      await createService(cp.admin, other, 'wants-a', {
        annotations: { 'portico.dev/address-pool': 'for-a' },
      });
      assert.match(
        await waitForPending(cp.admin, other, 'wants-a', 'PoolNotAllowed'),
        /pool for-a does not serve namespace/,
      );
      // Labelling the namespace gold makes the gold pool (priority 5) win over general for new Services.
      await cp.admin
        .resource<Namespace>(Resources.namespaces)
        .patch(other, undefined, { metadata: { labels: { tier: 'gold' } } }, { type: 'merge' });
      await createService(cp.admin, other, 'now-gold');
      assert.deepEqual(await waitForIPs(cp.admin, other, 'now-gold'), ['203.0.113.105']);
    }),
  );

  it(
    'keeps pool status counters and conditions, shown by kubectl get ipaddresspools (§6.2-17)',
    run(async () => {
      await fresh();
      await createPool(cp.admin, 'counted', {
        addresses: ['203.0.113.120/30', '2001:db8:0:100::/126'],
        excludes: ['203.0.113.123'],
      });
      await createService(cp.admin, ns, 'a');
      await createService(cp.admin, ns, 'b');
      await waitForIPs(cp.admin, ns, 'a');
      await waitForIPs(cp.admin, ns, 'b');
      const status = await waitFor('pool counters', async (seen) => {
        const p = await pools(cp.admin).get('counted', SYSTEM_NAMESPACE);
        seen(p.status);
        return p.status?.assignedIPv4 === 2 ? p.status : undefined;
      });
      assert.deepEqual(
        {
          a4: status.assignedIPv4,
          a6: status.assignedIPv6,
          v4: status.availableIPv4,
          v6: status.availableIPv6,
          inUse: status.inUse,
          free: status.free,
        },
        { a4: 2, a6: 0, v4: 1, v6: 4, inUse: 2, free: '5' },
      );
      const ready = status.conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'True');
      const table = await kubectl(cp.plane, ['get', 'ipaddresspools', '-n', SYSTEM_NAMESPACE, 'counted']);
      assert.match(table, /NAME\s+ADDRESSES\s+AUTO ASSIGN\s+IN USE\s+FREE\s+READY/);
      assert.match(table, /counted\s+.*true\s+2\s+5\s+True/);
      const metrics = await controller.metrics();
      assert.match(metrics, /portico_pool_addresses_in_use\{pool="counted",family="IPv4"\} 2/);
      assert.match(metrics, /portico_pool_addresses_free\{pool="counted",family="IPv6"\} 4/);
      assert.match(metrics, /portico_pool_addresses_total\{pool="counted",family="IPv4"\} 3/);
      assert.match(metrics, /portico_controller_allocations_total\{pool="counted"\} [1-9]/);
      assert.match(metrics, /portico_controller_reconcile_duration_seconds_count\{result="ok"\} [1-9]/);
      assert.match(metrics, /portico_workqueue_depth\{name="services"\} \d/);
      // Filling it up: Exhausted.
      await createService(cp.admin, ns, 'c');
      await waitForIPs(cp.admin, ns, 'c');
      await waitFor('Exhausted', async () => {
        const p = await pools(cp.admin).get('counted', SYSTEM_NAMESPACE);
        return p.status?.conditions?.find((c) => c.type === 'Exhausted')?.status === 'True';
      });
    }),
  );

  it(
    'marks an invalid pool (the webhook was bypassed) and the younger of two overlapping pools Ready=False, and never uses them',
    run(async () => {
      await fresh();
      await createPool(cp.admin, 'older', { addresses: ['203.0.113.140/30'] });
      await new Promise((r) => setTimeout(r, 1100)); // creationTimestamps have whole seconds
      await createPool(cp.admin, 'younger', {
        addresses: ['203.0.113.142/31', '198.51.100.140/30'],
        serviceAllocation: { priority: 1 },
      });
      await createPool(cp.admin, 'broken', {
        addresses: ['203.0.113.77/24'],
        serviceAllocation: { priority: 1 },
      });
      const cond = async (name: string) =>
        await waitFor(`${name} Ready=False`, async (seen) => {
          const p: IPAddressPool = await pools(cp.admin).get(name, SYSTEM_NAMESPACE);
          const c = p.status?.conditions?.find((x) => x.type === 'Ready');
          seen(c);
          return c?.status === 'False' ? c : undefined;
        });
      assert.match((await cond('younger')).message, /overlaps pool older/);
      assert.match((await cond('broken')).message, /spec\.addresses\[0\]: .*host bits set/);
      await createService(cp.admin, ns, 'svc');
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'svc'), ['203.0.113.140']);
    }),
  );

  it(
    'explains a pending Service in kubectl describe (Event) and in its condition; a bad annotation too',
    run(async () => {
      await fresh();
      await createService(cp.admin, ns, 'lonely');
      const message = await waitForPending(cp.admin, ns, 'lonely', 'NoMatchingPool');
      assert.match(message, /no IPAddressPool with autoAssign serves namespace/);
      const described = await waitFor('describe to show the reason', async () => {
        const out = await kubectl(cp.plane, ['describe', 'svc', '-n', ns, 'lonely']);
        return /Warning\s+NoMatchingPool\s+.*no IPAddressPool with autoAssign/.test(out) ? out : undefined;
      });
      assert.match(described, /LoadBalancer Ingress:\s*\n|Type:\s+LoadBalancer/);
      await createService(cp.admin, ns, 'typo', {
        annotations: { 'portico.dev/load-balancer-ips': '203.0.113.300' },
      });
      assert.match(await waitForPending(cp.admin, ns, 'typo', 'InvalidAnnotation'), /203\.0\.113\.300/);
      // Once per change, not per resync: the event count does not grow while nothing changes.
      await new Promise((r) => setTimeout(r, 1500));
      const evs = (await eventsFor(cp.admin, ns, 'lonely')).filter((e) => e.reason === 'NoMatchingPool');
      assert.equal(evs.length, 1);
      assert.equal(evs[0]?.series, undefined, 'no repeats recorded');
    }),
  );

  it(
    'holds a freed address down while others are free, and never hands out excluded or .0/.255 addresses',
    run(async () => {
      await fresh();
      await createPool(cp.admin, 'careful', {
        addresses: ['198.51.100.255-198.51.101.3'],
        avoidBuggyIPs: true,
        excludes: ['198.51.101.1'],
        reuseHoldDown: '1h',
      });
      await createService(cp.admin, ns, 'a');
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'a'), ['198.51.101.2']);
      await services().delete('a', ns);
      await createService(cp.admin, ns, 'b');
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'b'), ['198.51.101.3'], 'not the address a just freed');
      await createService(cp.admin, ns, 'c');
      assert.deepEqual(
        await waitForIPs(cp.admin, ns, 'c'),
        ['198.51.101.2'],
        'the held one, when nothing else is free',
      );
    }),
  );

  it(
    "puts a hand-edited status back: no Service takes another one's address by an edit",
    run(async () => {
      await fresh();
      await createPool(cp.admin, 'p', { addresses: ['203.0.113.170/31'] });
      await createService(cp.admin, ns, 'a');
      await createService(cp.admin, ns, 'b');
      const [ipA] = await waitForIPs(cp.admin, ns, 'a');
      const [ipB] = await waitForIPs(cp.admin, ns, 'b');
      assert.notEqual(ipA, ipB);
      // Someone copies a's address into b's status, and empties a's.
      await services().patch(
        'b',
        ns,
        { status: { loadBalancer: { ingress: [{ ip: ipA, ipMode: 'VIP' }] } } },
        { type: 'merge', subresource: 'status' },
      );
      await services().patch(
        'a',
        ns,
        { status: { loadBalancer: { ingress: null } } },
        { type: 'merge', subresource: 'status' },
      );
      await waitFor('both addresses back where they were', async (seen) => {
        const a = ingressIPs(await getService(cp.admin, ns, 'a'));
        const b = ingressIPs(await getService(cp.admin, ns, 'b'));
        seen({ a, b });
        return a[0] === ipA && b[0] === ipB && a.length === 1 && b.length === 1;
      });
    }),
  );

  it(
    'keeps every address across a controller restart, assigned ones first (§6.2-12)',
    run(async () => {
      await fresh();
      await createPool(cp.admin, 'p', { addresses: ['203.0.113.160/29'] });
      for (const name of ['s1', 's2', 's3', 's4']) await createService(cp.admin, ns, name);
      const before = new Map<string, string[]>();
      for (const name of ['s1', 's2', 's3', 's4']) before.set(name, await waitForIPs(cp.admin, ns, name));
      // Free the lowest address, so a naive restart would move someone onto it.
      await services().delete('s1', ns);
      before.delete('s1');
      await controller.stop();
      await createService(cp.admin, ns, 's5');
      controller = await ControllerProcess.start(cp.plane, { identity: 'ipam-2' });
      await controller.waitLeading();
      await waitForIPs(cp.admin, ns, 's5');
      for (const [name, ips] of before)
        assert.deepEqual(ingressIPs(await getService(cp.admin, ns, name)), ips, name);
      assert.deepEqual(ingressIPs(await getService(cp.admin, ns, 's5')), ['203.0.113.160']);
    }),
  );
});
