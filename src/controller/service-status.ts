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

export type ServiceStatus = NonNullable<Service['status']>;

/**
 * The Service's whole status as it should be after `desired`, or undefined when it already is that.
 * It is written with a status update (PUT) carrying the cached resourceVersion, so a stale cache
 * makes the API server answer 409 instead of losing someone else's write. Other controllers'
 * conditions, and any status field this version does not know, are kept as they are.
 */
export function desiredStatus(
  svc: Service,
  desired: DesiredServiceStatus,
  now: string,
): ServiceStatus | undefined {
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
    ...svc.status,
    loadBalancer: ingressSame ? svc.status?.loadBalancer : withIngress(svc, ingress),
    conditions: conditionSame ? svc.status?.conditions : [...others, condition],
  };
}

/**
 * The status without what Portico wrote on a Service it no longer handles, or undefined. Our
 * condition is the mark of what we wrote: without it, the ingress belongs to someone else.
 */
export function clearedStatus(svc: Service): ServiceStatus | undefined {
  if (!ourCondition(svc)) return undefined;
  const conditions = (svc.status?.conditions ?? []).filter((c) => c.type !== ALLOCATED_CONDITION);
  return {
    ...svc.status,
    loadBalancer: withIngress(svc, []),
    conditions: conditions.length > 0 ? conditions : undefined,
  };
}

/** `status.loadBalancer` with this ingress (none: the field left out), other fields kept. */
function withIngress(svc: Service, ingress: LoadBalancerIngress[]): ServiceStatus['loadBalancer'] {
  const { ingress: _old, ...rest } = svc.status?.loadBalancer ?? {};
  return ingress.length > 0 ? { ...rest, ingress } : rest;
}
