/**
 * The ServiceAccount the benchmarks' own writers (the baseline's status patches, the reference
 * controller) use: a ServiceAccount like the controller's, so their requests take the same
 * authorization path and API priority level (`workload-low`), allowed exactly what they write.
 */
import type { ControlPlane } from '../../e2e/cluster/control-plane.js';
import type { KubeClient } from '../../src/k8s/client.js';
import { isAlreadyExists } from '../../src/k8s/errors.js';

export const WRITER_NAMESPACE = 'portico-bench';
export const WRITER_ACCOUNT = 'portico-bench-writer';

/** Creates the account and its ClusterRole (idempotent); returns a kubeconfig path for it. */
export async function writerKubeconfig(plane: ControlPlane, admin: KubeClient): Promise<string> {
  const path = await plane.serviceAccountKubeconfig(WRITER_NAMESPACE, WRITER_ACCOUNT);
  const rbac = '/apis/rbac.authorization.k8s.io/v1';
  await createIfMissing(admin, `${rbac}/clusterroles`, {
    metadata: { name: WRITER_ACCOUNT },
    rules: [
      { apiGroups: [''], resources: ['services/status'], verbs: ['patch', 'update'] },
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
    ],
  });
  await createIfMissing(admin, `${rbac}/clusterrolebindings`, {
    metadata: { name: WRITER_ACCOUNT },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: WRITER_ACCOUNT },
    subjects: [{ kind: 'ServiceAccount', name: WRITER_ACCOUNT, namespace: WRITER_NAMESPACE }],
  });
  return path;
}

async function createIfMissing(admin: KubeClient, path: string, body: object): Promise<void> {
  try {
    await admin.request('POST', path, { body });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}
