import { randomBytes } from 'node:crypto';
import { KubeClient } from '../../src/k8s/client.js';
import { loadKubeconfig } from '../../src/k8s/kubeconfig.js';
import { Resources } from '../../src/k8s/resources.js';
import type { Namespace, Node } from '../../src/k8s/types.js';

/** A client for a kubeconfig file, as a component would build it. */
export function clientFor(kubeconfigPath: string): KubeClient {
  return KubeClient.fromKubeconfig(loadKubeconfig({ flag: kubeconfigPath }), { userAgent: 'portico-e2e' });
}

export const uniqueName = (prefix: string): string => `${prefix}-${randomBytes(3).toString('hex')}`;

/** Creates a namespace with a unique name (`portico-test-<prefix>-xxxxxx`); returns its name. */
export async function createTestNamespace(client: KubeClient, prefix: string): Promise<string> {
  const name = uniqueName(`portico-test-${prefix}`).slice(0, 63);
  await client
    .resource<Namespace>(Resources.namespaces)
    .create({ metadata: { name, labels: { 'portico.dev/test': 'true' } } });
  return name;
}

export async function deleteNamespace(client: KubeClient, name: string): Promise<void> {
  await client
    .resource<Namespace>(Resources.namespaces)
    .delete(name, undefined, { propagationPolicy: 'Background' });
}

export interface TestNodeSpec {
  name: string;
  internalIPs?: string[];
  podCIDRs?: string[];
  labels?: Record<string, string>;
  ready?: boolean;
}

/** Creates a Node object with addresses, pod CIDRs and a Ready condition, as a kubelet would report. */
export async function createNode(client: KubeClient, spec: TestNodeSpec): Promise<Node> {
  const nodes = client.resource<Node>(Resources.nodes);
  await nodes.create({
    metadata: { name: spec.name, labels: { 'kubernetes.io/hostname': spec.name, ...spec.labels } },
    spec: spec.podCIDRs ? { podCIDR: spec.podCIDRs[0], podCIDRs: spec.podCIDRs } : {},
  });
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const ready = spec.ready ?? true;
  return nodes.patch(
    spec.name,
    undefined,
    {
      status: {
        addresses: [
          ...(spec.internalIPs ?? []).map((address) => ({ type: 'InternalIP', address })),
          { type: 'Hostname', address: spec.name },
        ],
        conditions: [
          {
            type: 'Ready',
            status: ready ? 'True' : 'False',
            reason: ready ? 'KubeletReady' : 'KubeletNotReady',
            message: ready ? 'test node is ready' : 'test node is not ready',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
      },
    },
    { subresource: 'status' },
  );
}
