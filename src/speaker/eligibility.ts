/**
 * Which nodes may announce a Service's address, before liveness is considered: MetalLB's rules
 * (speaker/main.go, layer2_controller.go). A node is out when its NetworkUnavailable condition is
 * True or it carries the exclude-from-external-load-balancers label (unless the speaker is told to
 * ignore that label); the L2Advertisements must select it; with externalTrafficPolicy Local it must
 * also host an endpoint of the Service. A Service with no endpoint anywhere is not announced.
 */
import type { Labels } from '../k8s/label-selector.js';
import type { EndpointSlice, Node, Service } from '../k8s/types.js';

export const EXCLUDE_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

export interface NodeFacts {
  name: string;
  labels: Labels;
  /** Why the node may not announce anything, if it may not. */
  unusable: 'NetworkUnavailable' | 'ExcludedFromLoadBalancers' | undefined;
}

export function nodeFacts(node: Node, options: { ignoreExcludeLabel: boolean }): NodeFacts {
  const labels = node.metadata.labels;
  const networkUnavailable = node.status?.conditions?.some(
    (c) => c.type === 'NetworkUnavailable' && c.status === 'True',
  );
  const excluded = !options.ignoreExcludeLabel && labels?.[EXCLUDE_LB_LABEL] !== undefined;
  return {
    name: node.metadata.name ?? '',
    labels,
    unusable: networkUnavailable ? 'NetworkUnavailable' : excluded ? 'ExcludedFromLoadBalancers' : undefined,
  };
}

/**
 * The nodes hosting endpoints that take traffic, from the Service's EndpointSlices. Like kube-proxy,
 * ready endpoints count; when there are none anywhere, serving endpoints that are terminating do,
 * so a rolling update of the last pod does not drop the address.
 */
export function endpointNodes(slices: readonly EndpointSlice[]): { ready: boolean; nodes: Set<string> } {
  const ready = new Set<string>();
  const serving = new Set<string>();
  let anyReady = false;
  let anyServing = false;
  for (const slice of slices) {
    for (const ep of slice.endpoints ?? []) {
      if (ep.addresses.length === 0) continue;
      const c = ep.conditions ?? {};
      // Unset conditions mean ready/serving (EndpointSlice API: "nil should be interpreted as true").
      const isReady = c.ready !== false;
      const isServing = c.serving ?? isReady;
      if (isReady) anyReady = true;
      if (isServing) anyServing = true;
      if (!ep.nodeName) continue;
      if (isReady) ready.add(ep.nodeName);
      if (isServing) serving.add(ep.nodeName);
    }
  }
  if (anyReady) return { ready: true, nodes: ready };
  return { ready: anyServing, nodes: serving };
}

export type Eligibility =
  | { ok: true; nodes: string[] }
  | {
      ok: false;
      reason: 'NoEndpoints' | 'NoEligibleNode';
      message: string;
    };

/**
 * The nodes that may announce this Service's address, sorted by name, given the nodes the
 * advertisements select (`selected`) and the Service's endpoints.
 */
export function eligibleNodes(
  svc: Service,
  nodes: readonly NodeFacts[],
  selected: (node: NodeFacts) => boolean,
  endpoints: { ready: boolean; nodes: ReadonlySet<string> },
): Eligibility {
  if (!endpoints.ready) {
    return { ok: false, reason: 'NoEndpoints', message: 'the Service has no ready endpoint' };
  }
  const local = svc.spec?.externalTrafficPolicy === 'Local';
  const out: string[] = [];
  const why = new Map<string, number>();
  const count = (reason: string) => why.set(reason, (why.get(reason) ?? 0) + 1);
  for (const node of nodes) {
    if (node.unusable) count(node.unusable);
    else if (!selected(node)) count('not selected by the L2Advertisements');
    else if (local && !endpoints.nodes.has(node.name))
      count('no local endpoint (externalTrafficPolicy Local)');
    else out.push(node.name);
  }
  if (out.length > 0) return { ok: true, nodes: out.sort() };
  const detail = [...why].map(([reason, n]) => `${n} ${reason}`).join(', ');
  return {
    ok: false,
    reason: 'NoEligibleNode',
    message: `no node may announce it (${detail || 'no nodes'})`,
  };
}
