import { formatIP, type IPAddr, tryParseIP } from '../api/address.js';
import { findCondition } from '../k8s/status.js';
import type { Condition, LoadBalancerIngress, Service } from '../k8s/types.js';

/** The condition Portico keeps on every Service it handles. */
export const ALLOCATED_CONDITION = 'portico.dev/Allocated';

/** What the Service's status should say: its addresses, and whether it is fully served and why not. */
export interface DesiredServiceStatus {
  addresses: IPAddr[];
  served: boolean;
  reason: string;
  message: string;
}

/** The addresses in a Service's status, as the allocator sees them (hostnames and junk skipped). */
export function statusAddresses(svc: Service): IPAddr[] {
  const out: IPAddr[] = [];
  for (const ingress of svc.status?.loadBalancer?.ingress ?? []) {
    const ip = ingress.ip ? tryParseIP(ingress.ip) : undefined;
    if (ip) out.push(ip);
  }
  return out;
}

export function ourCondition(svc: Service): Condition | undefined {
  return findCondition(svc.status?.conditions, ALLOCATED_CONDITION);
}

/**
 * The status merge patch that brings the Service to `desired`, or undefined when it already is there.
 * Other controllers' conditions are kept; the patch carries the resourceVersion it was computed from,
 * so a stale cache makes the API server answer 409 instead of losing someone else's write.
 */
export function serviceStatusPatch(
  svc: Service,
  desired: DesiredServiceStatus,
  now: string,
): object | undefined {
  const ingress: LoadBalancerIngress[] = desired.addresses.map((a) => ({ ip: formatIP(a), ipMode: 'VIP' }));
  const current = svc.status?.loadBalancer?.ingress ?? [];
  const ingressSame =
    current.length === ingress.length &&
    current.every(
      (c, i) => c.ip === ingress[i]!.ip && (c.ipMode ?? 'VIP') === 'VIP' && !c.hostname && !c.ports,
    );
  const old = ourCondition(svc);
  const status = desired.served ? 'True' : 'False';
  const conditionSame =
    old?.status === status && old.reason === desired.reason && old.message === desired.message;
  if (ingressSame && conditionSame) return undefined;
  const condition: Condition = {
    type: ALLOCATED_CONDITION,
    status,
    reason: desired.reason,
    message: desired.message,
    lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
    ...(svc.metadata.generation !== undefined ? { observedGeneration: svc.metadata.generation } : {}),
  };
  const others = (svc.status?.conditions ?? []).filter((c) => c.type !== ALLOCATED_CONDITION);
  return {
    metadata: { resourceVersion: svc.metadata.resourceVersion },
    status: {
      loadBalancer: ingressSame ? undefined : { ingress: ingress.length > 0 ? ingress : null },
      conditions: conditionSame ? undefined : [...others, condition],
    },
  };
}

/**
 * The patch that removes what Portico wrote on a Service it no longer handles, or undefined. Our
 * condition is the mark of what we wrote: without it, the ingress belongs to someone else.
 */
export function clearedStatusPatch(svc: Service): object | undefined {
  if (!ourCondition(svc)) return undefined;
  const hasIngress = (svc.status?.loadBalancer?.ingress?.length ?? 0) > 0;
  return {
    metadata: { resourceVersion: svc.metadata.resourceVersion },
    status: {
      loadBalancer: hasIngress ? { ingress: null } : undefined,
      conditions: (svc.status?.conditions ?? []).filter((c) => c.type !== ALLOCATED_CONDITION),
    },
  };
}
