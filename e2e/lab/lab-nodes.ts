/**
 * The lab's Node objects, kept Ready the way a kubelet keeps its node Ready: a Lease in
 * `kube-node-lease` renewed every 10 s, and the Ready condition's lastHeartbeatTime refreshed
 * about every 40 s. There is no kubelet yet; these objects say what each node namespace is.
 */
import { release } from 'node:os';
import type { AdminRequest, ApiResponse } from '../cluster/admin-request.js';
import type { LabPlan, NodePlan } from './plan.js';

export const LEASE_RENEW_MS = 10_000;
export const STATUS_REFRESH_MS = 40_000;
const LEASE_DURATION_S = 40;

/** Lease times are MicroTime: RFC 3339 with microseconds. */
const microTime = (date: Date) => date.toISOString().replace(/Z$/, '000Z');
const seconds = (date: Date) => `${date.toISOString().slice(0, 19)}Z`;

function expect(res: ApiResponse, ok: readonly number[], what: string): void {
  if (!ok.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
}

export function nodeObject(node: NodePlan, version: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.name,
      labels: {
        'kubernetes.io/hostname': node.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': process.arch === 'arm64' ? 'arm64' : 'amd64',
        'portico.dev/lab-node': 'true',
      },
    },
    spec: {
      podCIDR: node.podCidr.v4,
      podCIDRs: [node.podCidr.v4, ...(node.podCidr.v6 ? [node.podCidr.v6] : [])],
    },
    status: nodeStatus(node, version, new Date()),
  };
}

export function nodeStatus(node: NodePlan, version: string, now: Date): Record<string, unknown> {
  const resources = { cpu: '4', memory: '8Gi', pods: '110', 'ephemeral-storage': '20Gi' };
  const condition = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: seconds(now),
    lastTransitionTime: seconds(now),
  });
  return {
    capacity: resources,
    allocatable: resources,
    addresses: [
      { type: 'InternalIP', address: node.lan.v4 },
      ...(node.lan.v6 ? [{ type: 'InternalIP', address: node.lan.v6 }] : []),
      { type: 'Hostname', address: node.name },
    ],
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'lab node'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'lab node'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'lab node'),
      condition('Ready', 'True', 'KubeletReady', 'lab node namespace is up'),
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: release(),
      osImage: 'Portico lab node (network namespace)',
      containerRuntimeVersion: 'portico-lab://0',
      kubeletVersion: version,
      kubeProxyVersion: version,
      operatingSystem: 'linux',
      architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
    },
  };
}

async function renewLease(request: AdminRequest, node: NodePlan, uid: string | undefined): Promise<void> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node.name}`;
  const spec = {
    holderIdentity: node.name,
    leaseDurationSeconds: LEASE_DURATION_S,
    renewTime: microTime(new Date()),
  };
  const patched = await request('PATCH', path, { spec }, { contentType: 'application/merge-patch+json' });
  if (patched.status !== 404) return expect(patched, [200], `renew Lease ${node.name}`);
  const ownerReferences = uid ? [{ apiVersion: 'v1', kind: 'Node', name: node.name, uid }] : undefined;
  const created = await request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
    metadata: { name: node.name, namespace: 'kube-node-lease', ownerReferences },
    spec,
  });
  expect(created, [201, 409], `create Lease ${node.name}`);
}

/** Conditions merge by type: a heartbeat only moves lastHeartbeatTime, keeping each lastTransitionTime. */
const heartbeat = (now: Date) => ({
  conditions: ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready'].map((type) => ({
    type,
    lastHeartbeatTime: seconds(now),
  })),
});

/**
 * A strategic merge for heartbeats (conditions merge by type); a JSON merge for the full status,
 * whose addresses a strategic merge would mangle (they "merge" by type, and both IPs are InternalIP).
 */
async function writeStatus(
  request: AdminRequest,
  node: NodePlan,
  status: unknown,
  full = false,
): Promise<void> {
  const contentType = full ? 'application/merge-patch+json' : 'application/strategic-merge-patch+json';
  const res = await request('PATCH', `/api/v1/nodes/${node.name}/status`, { status }, { contentType });
  expect(res, [200], `update the status of Node ${node.name}`);
}

/** Creates (or refreshes) every Node and its Lease. */
export async function registerNodes(request: AdminRequest, plan: LabPlan, version: string): Promise<void> {
  for (const node of plan.nodes) {
    const res = await request<{ metadata?: { uid?: string } }>(
      'POST',
      '/api/v1/nodes',
      nodeObject(node, version),
    );
    expect(res, [201, 409], `create Node ${node.name}`);
    await writeStatus(request, node, nodeStatus(node, version, new Date()), true);
    const uid = (await request<{ metadata?: { uid?: string } }>('GET', `/api/v1/nodes/${node.name}`)).body
      ?.metadata?.uid;
    await renewLease(request, node, uid);
  }
}

/** Keeps the nodes Ready until stopped; errors (an apiserver restart) are reported and retried. */
export function startHeartbeats(
  request: AdminRequest,
  plan: LabPlan,
  onError: (err: Error) => void,
): { stop(): void } {
  const each = (fn: (node: NodePlan) => Promise<void>) => () => {
    for (const node of plan.nodes) fn(node).catch(onError);
  };
  const lease = setInterval(
    each((node) => renewLease(request, node, undefined)),
    LEASE_RENEW_MS,
  );
  const status = setInterval(
    each((node) => writeStatus(request, node, heartbeat(new Date()))),
    STATUS_REFRESH_MS,
  );
  return {
    stop: () => {
      clearInterval(lease);
      clearInterval(status);
    },
  };
}

/** Whether every plan node has a Ready=True condition. */
export async function nodesReady(request: AdminRequest, plan: LabPlan): Promise<boolean> {
  const res = await request<{
    items?: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
  }>('GET', '/api/v1/nodes');
  const ready = new Set(
    (res.body?.items ?? [])
      .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((n) => n.metadata.name),
  );
  return plan.nodes.every((n) => ready.has(n.name));
}
