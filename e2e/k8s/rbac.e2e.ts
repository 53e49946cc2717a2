import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError, isForbidden } from '../../src/k8s/errors.js';
import type { ResourceRef } from '../../src/k8s/resources.js';
import { Resources } from '../../src/k8s/resources.js';
import type { KubeObject, Service } from '../../src/k8s/types.js';
import { useControlPlane } from '../support/fixture.js';
import { clientFor, createTestNamespace } from '../support/kube.js';
import { waitFor } from '../support/wait.js';

const rbac = (plural: string, kind: string): ResourceRef => ({
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  plural,
  kind,
  namespaced: true,
});
const Roles = rbac('roles', 'Role');
const RoleBindings = rbac('rolebindings', 'RoleBinding');

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
interface Role extends KubeObject {
  rules: PolicyRule[];
}
interface RoleBinding extends KubeObject {
  roleRef: { apiGroup: string; kind: 'Role' | 'ClusterRole'; name: string };
  subjects: { kind: 'ServiceAccount' | 'User' | 'Group'; name: string; namespace?: string }[];
}

const loadBalancer = (namespace: string, name: string): Service => ({
  metadata: { name, namespace },
  spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
});

const ingress = (ip: string) => ({ status: { loadBalancer: { ingress: [{ ip }] } } });

/** Runs `action`, which must fail with 403 Forbidden; returns the error. */
async function forbidden(what: string, action: () => Promise<unknown>): Promise<ApiError> {
  const err = await action().then(
    () => assert.fail(`${what} succeeded, but should be forbidden`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApiError, `${what}: expected an ApiError, got ${String(err)}`);
  assert.ok(isForbidden(err), `${what}: expected 403, got ${err.code} ${err.message}`);
  assert.equal(err.reason, 'Forbidden');
  return err;
}

describe('a ServiceAccount token against a real kube-apiserver with RBAC', () => {
  const cp = useControlPlane({ controllerManager: true });

  it(
    'is denied until a Role grants it, and then only what the Role grants',
    cp.run(async () => {
      const ns = await createTestNamespace(cp.admin, 'rbac');
      const other = await createTestNamespace(cp.admin, 'rbac-other');
      const user = `system:serviceaccount:${ns}:no-rights`;
      const adminServices = cp.admin.resource<Service>(Resources.services);
      await adminServices.create(loadBalancer(ns, 'web'));
      await adminServices.create(loadBalancer(other, 'elsewhere'));

      const sa = clientFor(await cp.plane.serviceAccountKubeconfig(ns, 'no-rights'));
      try {
        const services = sa.resource<Service>(Resources.services);

        // The token is real: the server knows who it is, and that it may do nothing yet.
        const denied = await forbidden('listing Services as the SA', () => services.list({ namespace: ns }));
        assert.ok(denied.message.includes(`User "${user}"`), denied.message);
        assert.match(denied.message, /cannot list resource "services"/);
        assert.deepEqual(
          (await adminServices.list({ namespace: ns })).items.map((s) => s.metadata.name),
          ['web'],
          'the admin lists them fine',
        );
        const deniedStatus = await forbidden('patching services/status as the SA', () =>
          services.patch('web', ns, ingress('192.0.2.10'), { subresource: 'status' }),
        );
        assert.ok(deniedStatus.message.includes(user), deniedStatus.message);
        assert.match(deniedStatus.message, /cannot patch resource "services\/status"/);

        // What a Portico controller needs on Services, in this namespace only.
        await cp.admin.resource<Role>(Roles).create({
          metadata: { name: 'service-status', namespace: ns },
          rules: [
            { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch'] },
            { apiGroups: [''], resources: ['services/status'], verbs: ['patch'] },
          ],
        });
        await cp.admin.resource<RoleBinding>(RoleBindings).create({
          metadata: { name: 'service-status', namespace: ns },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'service-status' },
          subjects: [{ kind: 'ServiceAccount', name: 'no-rights', namespace: ns }],
        });

        // The authorizer learns of the binding through its informers: a short wait.
        const listed = await waitFor('the SA to be allowed to list Services', async (seen) => {
          const list = await services.list({ namespace: ns });
          seen(list.items.map((s) => s.metadata.name));
          return list;
        });
        assert.deepEqual(
          listed.items.map((s) => s.metadata.name),
          ['web'],
        );
        const patched = await services.patch('web', ns, ingress('192.0.2.10'), { subresource: 'status' });
        assert.deepEqual(
          patched.status?.loadBalancer?.ingress?.map((i) => i.ip),
          ['192.0.2.10'],
        );
        const seenByAdmin = await adminServices.get('web', ns);
        assert.equal(seenByAdmin.status?.loadBalancer?.ingress?.[0]?.ip, '192.0.2.10');

        // ...and nothing more.
        const elsewhere = await forbidden('listing Services in another namespace', () =>
          services.list({ namespace: other }),
        );
        assert.ok(elsewhere.message.includes(`in the namespace "${other}"`), elsewhere.message);
        await forbidden('getting a Service in another namespace', () => services.get('elsewhere', other));
        await forbidden("patching another namespace's services/status", () =>
          services.patch('elsewhere', other, ingress('192.0.2.11'), { subresource: 'status' }),
        );
        await forbidden('deleting a Service', () => services.delete('web', ns));
        await forbidden('patching a Service spec', () =>
          services.patch('web', ns, { metadata: { labels: { touched: 'yes' } } }),
        );
        assert.equal((await adminServices.get('web', ns)).metadata.labels?.touched, undefined);
      } finally {
        sa.close();
      }
    }),
  );
});
