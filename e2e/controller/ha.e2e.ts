/**
 * Two controller replicas with Lease leader election: only the leader writes, a killed leader is
 * replaced within the lease duration, a Service created during the hand-over is served, and no
 * existing address changes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Resources } from '../../src/k8s/resources.js';
import type { Lease } from '../../src/k8s/types.js';
import { useControlPlane } from '../support/fixture.js';
import { createTestNamespace } from '../support/kube.js';
import { waitFor } from '../support/wait.js';
import {
  ControllerProcess,
  createPool,
  createService,
  getService,
  ingressIPs,
  installManifests,
  SYSTEM_NAMESPACE,
  waitForIPs,
} from './harness.js';

describe('controller: two replicas, leader election', { timeout: 240_000 }, () => {
  const cp = useControlPlane({ controllerManager: false });
  const replicas: ControllerProcess[] = [];
  let ns: string;
  let started = 0;
  const start = async () => {
    const p = await ControllerProcess.start(cp.plane, { identity: `replica-${++started}` });
    replicas.push(p);
    return p;
  };
  const holder = async () =>
    (await cp.admin.resource<Lease>(Resources.leases).get('portico-controller', SYSTEM_NAMESPACE)).spec
      ?.holderIdentity;
  /** The replica that leads now; its log line may trail its first writes a little, so this waits. */
  const leader = () =>
    waitFor(
      'a leading replica',
      () => replicas.find((r) => r.running && r.log().includes('initial reconcile done')),
      {
        timeoutMs: 10_000,
      },
    );
  const snapshot = async (names: string[]) =>
    new Map(
      await Promise.all(names.map(async (n) => [n, ingressIPs(await getService(cp.admin, ns, n))] as const)),
    );
  const run = (body: () => Promise<void>) =>
    cp.run(async () => {
      try {
        await body();
      } catch (err) {
        for (const r of replicas)
          process.stderr.write(`\n--- ${r.identity} (last lines) ---\n${r.tail(30)}\n`);
        throw err;
      }
    });

  before(async () => {
    await installManifests(cp.plane);
    await createPool(cp.admin, 'pool', { addresses: ['203.0.113.0/24'] });
    ns = await createTestNamespace(cp.admin, 'ha');
    await (await start()).waitLeading();
    await start();
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
  });

  const names = Array.from({ length: 30 }, (_, i) => `svc-${i}`);

  it(
    'serves Services from the leader only; the follower writes nothing',
    run(async () => {
      await Promise.all(names.map((n) => createService(cp.admin, ns, n)));
      const ips = await Promise.all(names.map((n) => waitForIPs(cp.admin, ns, n)));
      assert.equal(new Set(ips.flat()).size, names.length, 'all distinct');
      const [first, second] = replicas;
      assert.equal(await holder(), first!.identity);
      assert.ok(first!.log().includes('Assigned 203.0.113.'));
      assert.ok(!second!.log().includes('Assigned'), 'the follower assigned nothing');
      assert.ok(!second!.log().includes('rebuilt allocations'), 'the follower never started the work loop');
    }),
  );

  it(
    'replaces a SIGKILLed leader within the lease duration; a Service created meanwhile gets an address; none changes',
    run(async () => {
      const before = await snapshot(names);
      const old = await leader();
      const killedAt = Date.now();
      await old.stop('SIGKILL');
      await createService(cp.admin, ns, 'during-kill');
      const [ip] = await waitForIPs(cp.admin, ns, 'during-kill', 1, 15_000);
      const servedAfterMs = Date.now() - killedAt;
      const next = await leader();
      assert.notEqual(next.identity, old.identity);
      assert.equal(await holder(), next.identity);
      // Lease 3 s: the follower takes over once it has seen the lease unrenewed for 3 s (plus its retry period).
      assert.ok(servedAfterMs < 3_000 + 500 + 1_500, `served ${servedAfterMs} ms after the kill`);
      assert.ok(![...before.values()].flat().includes(ip!), 'a fresh address');
      assert.deepEqual(await snapshot(names), before, 'no existing address changed');
      process.stdout.write(
        `# SIGKILL hand-over: new Service served ${servedAfterMs} ms after the leader was killed\n`,
      );
      await start(); // back to two replicas
    }),
  );

  it(
    'hands over at once when the leader stops with SIGTERM (it releases the lease)',
    run(async () => {
      const before = await snapshot(names);
      const old = await leader();
      const stoppedAt = Date.now();
      assert.equal(await old.stop('SIGTERM'), 0, 'exits 0 on SIGTERM');
      await createService(cp.admin, ns, 'during-term');
      await waitForIPs(cp.admin, ns, 'during-term', 1, 10_000);
      const servedAfterMs = Date.now() - stoppedAt;
      assert.ok(servedAfterMs < 2_500, `served ${servedAfterMs} ms after SIGTERM`);
      assert.deepEqual(await snapshot(names), before, 'no existing address changed');
      process.stdout.write(
        `# SIGTERM hand-over: new Service served ${servedAfterMs} ms after the leader was stopped\n`,
      );
      await start();
    }),
  );

  it(
    'a leader cut off from the API server stops acting and exits; the other takes over',
    run(async () => {
      const old = await leader();
      const other = replicas.find((r) => r.running && r !== old)!;
      process.kill(old.pid!, 'SIGSTOP'); // frozen: cannot renew, as if partitioned
      try {
        await waitFor('the other replica to lead', () => other.log().includes('initial reconcile done'), {
          timeoutMs: 10_000,
        });
      } finally {
        process.kill(old.pid!, 'SIGCONT');
      }
      // Thawed, the old leader notices it missed its renew deadline and exits 1 instead of writing.
      assert.equal(await old.exited, 1);
      assert.match(old.tail(5), /lost leadership/);
      await createService(cp.admin, ns, 'after-partition');
      await waitForIPs(cp.admin, ns, 'after-partition');
    }),
  );
});
