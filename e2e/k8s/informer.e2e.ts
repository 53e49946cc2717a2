import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Informer } from '../../src/k8s/informer.js';
import type { ResourceClient } from '../../src/k8s/resource-client.js';
import { Resources } from '../../src/k8s/resources.js';
import { objectKey } from '../../src/k8s/store.js';
import type { Service } from '../../src/k8s/types.js';
import { useControlPlane } from '../support/fixture.js';
import { createTestNamespace } from '../support/kube.js';
import { waitFor } from '../support/wait.js';

const fast = { backoff: { initialMs: 50, maxMs: 500 } };

const service = (namespace: string, name: string, labels: Record<string, string> = {}): Service => ({
  metadata: { name, namespace, labels },
  spec: { type: 'ClusterIP', ports: [{ port: 80, protocol: 'TCP' }] },
});

/** name → resourceVersion, the comparable state of a set of objects. */
const versions = (items: Service[]) =>
  Object.fromEntries(items.map((s) => [objectKey(s), s.metadata.resourceVersion]).sort());

/** What handlers were told, replayed into a map: must end equal to the server. */
function mirror(informer: Informer<Service>) {
  const seen = new Map<string, string | undefined>();
  informer.addHandler({
    onAdd: (s) => seen.set(objectKey(s), s.metadata.resourceVersion),
    onUpdate: (_old, s) => seen.set(objectKey(s), s.metadata.resourceVersion),
    onDelete: (s) => seen.delete(objectKey(s)),
  });
  return () => Object.fromEntries([...seen].sort());
}

async function expectConverged(
  informer: Informer<Service>,
  services: ResourceClient<Service>,
  ns: string,
  told: () => object,
) {
  await waitFor('the informer cache and its handlers to equal the server', async (seen) => {
    const server = versions((await services.list({ namespace: ns })).items);
    const cache = versions(informer.list({ namespace: ns }));
    seen({ server, cache, handlers: told() });
    return (
      JSON.stringify(server) === JSON.stringify(cache) && JSON.stringify(server) === JSON.stringify(told())
    );
  });
}

describe('informer against a real kube-apiserver', () => {
  const cp = useControlPlane({ controllerManager: false });

  it(
    'ends equal to the server after kube-apiserver is SIGKILLed and restarted mid-stream',
    cp.run(async () => {
      const ns = await createTestNamespace(cp.admin, 'informer-kill');
      const services = cp.admin.resource<Service>(Resources.services);
      for (let i = 0; i < 10; i++) await services.create(service(ns, `svc-${i}`));
      const informer = new Informer(services, { namespace: ns, ...fast }).start();
      const told = mirror(informer);
      await informer.waitForSync();

      // A writer that keeps changing things before, during and after the outage.
      let writing = true;
      let writes = 0;
      let failures = 0;
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          try {
            const n = i % 14;
            if (n < 10) await services.patch(`svc-${n}`, ns, { metadata: { labels: { step: String(i) } } });
            else if (n === 10) await services.create(service(ns, `extra-${i}`));
            else if (n === 11) {
              const extra = (await services.list({ namespace: ns })).items.find((s) =>
                s.metadata.name?.startsWith('extra-'),
              );
              if (extra) await services.delete(extra.metadata.name!, ns);
            }
            writes++;
          } catch {
            failures++;
            await sleep(50);
          }
        }
      })();
      await sleep(700);
      await cp.plane.killApiserver('SIGKILL');
      await sleep(500);
      await services.delete('svc-3', ns).catch(() => undefined); // fails: nobody is listening
      await cp.plane.startApiserver();
      await services.delete('svc-4', ns);
      await sleep(700);
      writing = false;
      await writer;

      assert.ok(writes > 20, `the writer made ${writes} writes`);
      assert.ok(failures > 0, 'some writes failed while the apiserver was down');
      await expectConverged(informer, services, ns, told);
      assert.ok(informer.stats.errors >= 1, 'the informer noticed the outage');
      assert.equal(informer.get('svc-4', ns), undefined);
      await informer.stop();
    }),
  );

  it(
    'relists when its watch starts from a compacted resourceVersion (410 Gone)',
    cp.run(async () => {
      const ns = await createTestNamespace(cp.admin, 'informer-gone');
      const services = cp.admin.resource<Service>(Resources.services);
      for (let i = 0; i < 5; i++) await services.create(service(ns, `svc-${i}`));
      const informer = new Informer(services, { namespace: ns, ...fast }).start();
      const told = mirror(informer);
      await informer.waitForSync();
      await informer.stop();
      const staleVersion = informer.lastResourceVersion;
      assert.ok(staleVersion);

      // While it is stopped: changes, then etcd compaction, then an apiserver restart so that no
      // watch cache can serve the old resourceVersion from memory.
      await services.delete('svc-0', ns);
      await services.patch('svc-1', ns, { metadata: { labels: { changed: 'yes' } } });
      await services.create(service(ns, 'svc-new'));
      const compactedAt = await cp.plane.compactEtcd();
      assert.ok(compactedAt > Number(staleVersion), `compacted at ${compactedAt}, after ${staleVersion}`);
      await cp.plane.killApiserver('SIGTERM');
      await cp.plane.startApiserver();

      // The old resourceVersion really is gone: a raw watch from it gets 410.
      const raw = await services.watch({ namespace: ns, resourceVersion: staleVersion }).next();
      assert.equal(raw.value?.type, 'ERROR');
      assert.equal(raw.value?.type === 'ERROR' && raw.value.object.code, 410);

      informer.start();
      await expectConverged(informer, services, ns, told);
      assert.equal(informer.stats.relistsAfterGone, 1);
      assert.equal(informer.get('svc-0', ns), undefined, 'the deletion missed while stopped was seen');
      assert.equal(informer.get('svc-1', ns)?.metadata.labels?.changed, 'yes');
      await informer.stop();
    }),
  );

  it(
    'keeps the open file-descriptor count flat over 100 watch restarts',
    cp.run(async () => {
      const ns = await createTestNamespace(cp.admin, 'informer-fds');
      const services = cp.admin.resource<Service>(Resources.services);
      await services.create(service(ns, 'one'));
      // The watchdog restarts every watch that stays silent for 30 ms: the real restart path.
      const informer = new Informer(services, {
        namespace: ns,
        stallTimeoutMs: 30,
        backoff: { initialMs: 1, maxMs: 5 },
      }).start();
      await informer.waitForSync();
      const fds = () => readdirSync('/proc/self/fd').length;
      await waitFor('10 watch restarts', () => informer.stats.stalls >= 10, {
        timeoutMs: 30_000,
        intervalMs: 20,
      });
      const before = fds();
      const stallsBefore = informer.stats.stalls;
      await waitFor('100 more watch restarts', () => informer.stats.stalls >= stallsBefore + 100, {
        timeoutMs: 60_000,
        intervalMs: 20,
      });
      const afterRestarts = fds();
      await informer.stop();
      assert.equal(informer.stats.lists, 1, 'restarts resumed the watch; they did not relist');
      assert.ok(
        afterRestarts <= before + 2,
        `open fds went from ${before} to ${afterRestarts} over ${informer.stats.stalls - stallsBefore} restarts`,
      );
    }),
  );
});
