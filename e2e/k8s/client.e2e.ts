import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAlreadyExists, isConflict, isNotFound } from '../../src/k8s/errors.js';
import { EventRecorder } from '../../src/k8s/event-recorder.js';
import { Resources } from '../../src/k8s/resources.js';
import { applyStatus, patchStatus, setCondition, updateStatus } from '../../src/k8s/status.js';
import type { KubeEvent, Service } from '../../src/k8s/types.js';
import { useControlPlane } from '../support/fixture.js';
import { createTestNamespace } from '../support/kube.js';
import { waitFor } from '../support/wait.js';

const FIELD_MANAGER = 'portico-e2e';

const lbService = (namespace: string, name: string): Service => ({
  metadata: { name, namespace },
  spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
});

describe('Kubernetes client against a real kube-apiserver', () => {
  const cp = useControlPlane({ controllerManager: false });

  it(
    'creates, gets, watches and patches Services',
    cp.run(async () => {
      const ns = await createTestNamespace(cp.admin, 'client');
      const services = cp.admin.resource<Service>(Resources.services);
      const created = await services.create(lbService(ns, 'web'));
      assert.match(created.spec?.clusterIP ?? '', /^198\.19\./, 'ClusterIP from the 198.19.0.0/16 range');
      assert.ok((created.spec?.ports?.[0]?.nodePort ?? 0) >= 30000, 'a LoadBalancer Service gets a NodePort');
      await assert.rejects(services.create(lbService(ns, 'web')), isAlreadyExists);

      const watch = services.watch({ namespace: ns, resourceVersion: created.metadata.resourceVersion });
      const patched = await services.patch('web', ns, { metadata: { labels: { tier: 'front' } } });
      assert.equal(patched.metadata.labels?.tier, 'front');
      const event = await watch.next();
      assert.equal(event.value?.type, 'MODIFIED');
      assert.equal(event.value?.type !== 'ERROR' && event.value?.object.metadata.labels?.tier, 'front');
      await watch.return(undefined);

      const stale = { ...created, metadata: { ...created.metadata, labels: { tier: 'stale' } } };
      await assert.rejects(services.update(stale), isConflict, 'PUT with an old resourceVersion conflicts');

      const listed = await services.list({ namespace: ns, labelSelector: 'tier=front' });
      assert.deepEqual(
        listed.items.map((s) => s.metadata.name),
        ['web'],
      );
      await services.delete('web', ns);
      await assert.rejects(services.get('web', ns), isNotFound);
    }),
  );

  it(
    'writes the status subresource by merge patch, read-modify-write and server-side apply',
    cp.run(async () => {
      const ns = await createTestNamespace(cp.admin, 'status');
      const services = cp.admin.resource<Service>(Resources.services);
      await services.create(lbService(ns, 'lb'));

      const afterPatch = await patchStatus(
        services,
        'lb',
        ns,
        { loadBalancer: { ingress: [{ ip: '203.0.113.10', ipMode: 'VIP' }] } },
        { fieldManager: FIELD_MANAGER },
      );
      assert.deepEqual(afterPatch.status?.loadBalancer?.ingress, [{ ip: '203.0.113.10', ipMode: 'VIP' }]);

      // Two writers racing on the same object: both changes land, through 409s and retries.
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const addCondition = (type: string) =>
        updateStatus(
          services,
          'lb',
          ns,
          (svc) => ({
            ...svc.status,
            conditions: setCondition(
              svc.status?.conditions,
              { type, status: 'True', reason: 'Test', message: type },
              now,
            ),
          }),
          { fieldManager: FIELD_MANAGER, maxAttempts: 20 },
        );
      await Promise.all(
        ['portico.dev/A', 'portico.dev/B', 'portico.dev/C', 'portico.dev/D'].map(addCondition),
      );
      const raced = await services.get('lb', ns);
      assert.deepEqual(raced.status?.conditions?.map((c) => c.type).sort(), [
        'portico.dev/A',
        'portico.dev/B',
        'portico.dev/C',
        'portico.dev/D',
      ]);

      // Unchanged status: no write, so the resourceVersion stays.
      const same = await addCondition('portico.dev/A');
      assert.equal(same?.metadata.resourceVersion, raced.metadata.resourceVersion);

      const applied = await applyStatus(
        services,
        'lb',
        ns,
        { loadBalancer: { ingress: [{ ip: '203.0.113.11', ipMode: 'VIP' }] } },
        { fieldManager: 'portico-apply' },
      );
      assert.equal(applied.status?.loadBalancer?.ingress?.[0]?.ip, '203.0.113.11');
      const full = await cp.admin.request<{
        metadata: { managedFields?: { manager: string; subresource?: string }[] };
      }>('GET', services.path(ns, 'lb'), { query: { showManagedFields: true } });
      assert.ok(
        full.metadata.managedFields?.some((f) => f.manager === 'portico-apply' && f.subresource === 'status'),
        'server-side apply recorded our field manager on the status subresource',
      );
      assert.equal(
        await updateStatus(services, 'gone', ns, (s) => s.status, { fieldManager: FIELD_MANAGER }),
        undefined,
      );
    }),
  );

  it(
    'records events.k8s.io/v1 Events and folds repeats into one series',
    cp.run(async () => {
      const ns = await createTestNamespace(cp.admin, 'events');
      const services = cp.admin.resource<Service>(Resources.services);
      const svc = await services.create(lbService(ns, 'noisy'));
      const recorder = new EventRecorder({
        client: cp.admin,
        reportingController: 'portico.dev/e2e',
        reportingInstance: 'e2e-1',
        flushIntervalMs: 200,
      });
      const regarding = { ...svc, apiVersion: 'v1', kind: 'Service' };
      for (let i = 0; i < 12; i++) {
        recorder.event(regarding, 'Warning', 'PoolExhausted', 'Allocate', 'no free address in pool "small"');
      }
      recorder.event(regarding, 'Normal', 'IPAllocated', 'Allocate', 'assigned 203.0.113.10');
      await recorder.close();
      const events = cp.admin.resource<KubeEvent>(Resources.events);
      const found = await waitFor('two Events, one with a series of 12', async (seen) => {
        const items = (await events.list({ namespace: ns })).items;
        seen(items.map((e) => ({ reason: e.reason, series: e.series })));
        const exhausted = items.filter((e) => e.reason === 'PoolExhausted');
        return items.length === 2 && exhausted.length === 1 && exhausted[0]?.series?.count === 12
          ? items
          : undefined;
      });
      const warning = found.find((e) => e.reason === 'PoolExhausted')!;
      assert.equal(warning.regarding.uid, svc.metadata.uid);
      assert.equal(warning.reportingController, 'portico.dev/e2e');
      assert.equal(warning.type, 'Warning');
      assert.equal(warning.note, 'no free address in pool "small"');
    }),
  );
});
