/**
 * Dual-stack Services on a dual-stack control plane (reference notes §6.2 item 16): the address
 * families follow the Service's ClusterIPs and ipFamilyPolicy, `ipFamilies[0]` is the primary, and
 * a pool changing shape moves or completes a Service's addresses.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { Resources } from '../../src/k8s/resources.js';
import type { Service } from '../../src/k8s/types.js';
import { useControlPlane } from '../support/fixture.js';
import { createTestNamespace } from '../support/kube.js';
import { waitFor } from '../support/wait.js';
import {
  ControllerProcess,
  createPool,
  createService,
  deleteAllPools,
  getService,
  ingressIPs,
  installManifests,
  pools,
  SYSTEM_NAMESPACE,
  waitForIPs,
  waitForPending,
} from './harness.js';

const isV6 = (ip: string) => ip.includes(':');

describe('controller: dual stack', { timeout: 240_000 }, () => {
  const cp = useControlPlane({
    controllerManager: false,
    apiserver: { serviceClusterIpRange: '198.19.0.0/16,2001:db8:0:fff::/112' },
  });
  let controller: ControllerProcess;
  let ns: string;
  const services = () => cp.admin.resource<Service>(Resources.services);
  const prefer = { ipFamilyPolicy: 'PreferDualStack' as const };
  const require = { ipFamilyPolicy: 'RequireDualStack' as const };

  before(async () => {
    await installManifests(cp.plane);
    controller = await ControllerProcess.start(cp.plane, { identity: 'dual-1' });
    await controller.waitLeading();
  });
  after(async () => {
    await controller?.stop();
  });
  afterEach(async () => {
    for (const svc of (await services().listAll({ namespace: ns })).items)
      await services().delete(svc.metadata.name!, ns);
    await deleteAllPools(cp.admin);
    await new Promise((r) => setTimeout(r, 300));
  });
  const run = (body: () => Promise<void>) =>
    cp.run(async () => {
      ns = await createTestNamespace(cp.admin, 'dual');
      try {
        await body();
      } catch (err) {
        process.stderr.write(`\n--- controller log (last lines) ---\n${controller?.tail(60)}\n`);
        throw err;
      }
    });

  it(
    'PreferDualStack takes both families from a dual pool, primary first (IPv4 by default, IPv6 when ipFamilies says so)',
    run(async () => {
      await createPool(cp.admin, 'v4only', {
        addresses: ['198.51.100.0/28'],
        serviceAllocation: { priority: 1 },
      });
      await createPool(cp.admin, 'dual', {
        addresses: ['203.0.113.0/28', '2001:db8:0:100::/120'],
        serviceAllocation: { priority: 2 },
      });
      await createService(cp.admin, ns, 'v4-first', { spec: prefer });
      await createService(cp.admin, ns, 'v6-first', { spec: { ...prefer, ipFamilies: ['IPv6', 'IPv4'] } });
      const a = await waitForIPs(cp.admin, ns, 'v4-first', 2);
      const b = await waitForIPs(cp.admin, ns, 'v6-first', 2);
      assert.deepEqual(a.map(isV6), [false, true]);
      assert.deepEqual(b.map(isV6), [true, false]);
      assert.ok(
        [...a, ...b].every((ip) => ip.startsWith('203.0.113.') || ip.startsWith('2001:db8:0:100::')),
        'from the dual pool',
      );
    }),
  );

  it(
    'SingleStack IPv6 takes an IPv6 address; RequireDualStack waits with FamilyUnavailable when no pool has both',
    run(async () => {
      await createPool(cp.admin, 'v6only', { addresses: ['2001:db8:0:200::/120'] });
      await createService(cp.admin, ns, 'six', { spec: { ipFamilies: ['IPv6'] } });
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'six'), ['2001:db8:0:200::']);
      await createService(cp.admin, ns, 'both', { spec: require });
      assert.match(await waitForPending(cp.admin, ns, 'both', 'FamilyUnavailable'), /IPv4 and IPv6/);
    }),
  );

  it(
    'a PreferDualStack Service gains its second address when its pool becomes dual, and does not jump to a new dual pool',
    run(async () => {
      await createPool(cp.admin, 'grows', { addresses: ['198.51.100.16/28'] });
      await createService(cp.admin, ns, 'svc', { spec: prefer });
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'svc', 1), ['198.51.100.16']);
      await createPool(cp.admin, 'other-dual', { addresses: ['203.0.113.32/28', '2001:db8:0:300::/120'] });
      await new Promise((r) => setTimeout(r, 1000));
      assert.deepEqual(
        ingressIPs(await getService(cp.admin, ns, 'svc')),
        ['198.51.100.16'],
        'stays on its pool',
      );
      await pools(cp.admin).patch(
        'grows',
        SYSTEM_NAMESPACE,
        { spec: { addresses: ['198.51.100.16/28', '2001:db8:0:400::/120'] } },
        { type: 'merge' },
      );
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'svc', 2), ['198.51.100.16', '2001:db8:0:400::']);
    }),
  );

  it(
    'switching PreferDualStack to RequireDualStack on a single-stack pool waits for a dual pool, and switching back keeps both',
    run(async () => {
      await createPool(cp.admin, 'single', { addresses: ['198.51.100.32/28'] });
      await createService(cp.admin, ns, 'svc', { spec: prefer });
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'svc', 1), ['198.51.100.32']);
      await services().patch('svc', ns, { spec: { ipFamilyPolicy: 'RequireDualStack' } }, { type: 'merge' });
      assert.match(await waitForPending(cp.admin, ns, 'svc', 'FamilyUnavailable'), /IPv4 and IPv6/);
      await createPool(cp.admin, 'dual', { addresses: ['203.0.113.48/28', '2001:db8:0:500::/120'] });
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'svc', 2), ['203.0.113.48', '2001:db8:0:500::']);
      await services().patch('svc', ns, { spec: { ipFamilyPolicy: 'PreferDualStack' } }, { type: 'merge' });
      await new Promise((r) => setTimeout(r, 1000));
      assert.deepEqual(ingressIPs(await getService(cp.admin, ns, 'svc')), [
        '203.0.113.48',
        '2001:db8:0:500::',
      ]);
    }),
  );

  it(
    'a dual pool turning single moves its RequireDualStack Services to another dual pool',
    run(async () => {
      await createPool(cp.admin, 'first', {
        addresses: ['203.0.113.64/28', '2001:db8:0:600::/120'],
        serviceAllocation: { priority: 1 },
      });
      await createPool(cp.admin, 'second', {
        addresses: ['203.0.113.80/28', '2001:db8:0:700::/120'],
        serviceAllocation: { priority: 2 },
      });
      await createService(cp.admin, ns, 'svc', { spec: require });
      assert.deepEqual(await waitForIPs(cp.admin, ns, 'svc', 2), ['203.0.113.64', '2001:db8:0:600::']);
      await pools(cp.admin).patch(
        'first',
        SYSTEM_NAMESPACE,
        { spec: { addresses: ['203.0.113.64/28'] } },
        { type: 'merge' },
      );
      const moved = await waitFor('the Service to move to pool second', async () => {
        const ips = ingressIPs(await getService(cp.admin, ns, 'svc'));
        return ips[0] === '203.0.113.80' ? ips : undefined;
      });
      assert.deepEqual(moved, ['203.0.113.80', '2001:db8:0:700::']);
    }),
  );
});
