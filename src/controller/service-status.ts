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
  /**
   * Whether our condition explains the status: when the Service is not served, or not fully (a
   * PreferDualStack Service short of a family). A fully served Service carries no condition of ours:
   * its addresses say it all, and a condition on every Service costs the API server a sixth more
   * per status write.
   */
  explain: boolean;
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
  const conditionSame = desired.explain
    ? old?.status === status && old.reason === desired.reason && old.message === desired.message
    : old === undefined;
  if (ingressSame && conditionSame) return undefined;
  const condition: Condition | undefined = desired.explain
    ? {
        type: ALLOCATED_CONDITION,
        status,
        reason: desired.reason,
        message: desired.message,
        lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
        ...(svc.metadata.generation !== undefined ? { observedGeneration: svc.metadata.generation } : {}),
      }
    : undefined;
  return {
    ...svc.status,
    loadBalancer: ingressSame ? svc.status?.loadBalancer : withIngress(svc, ingress),
    conditions: conditionSame ? svc.status?.conditions : withOurCondition(svc, condition),
  };
}

/**
 * What the status says of the outcome (our condition, or else the addresses), to tell a change of
 * outcome, which gets an Event, from a resync, which does not.
 */
export function outcomeOf(svc: Service): string {
  const c = ourCondition(svc);
  if (c) return `${c.status}|${c.reason}|${c.message}`;
  return `|${(svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').join(',')}`;
}

/** `outcomeOf` a Service whose status says `desired`. */
export function desiredOutcome(desired: DesiredServiceStatus): string {
  if (desired.explain) return `${desired.served ? 'True' : 'False'}|${desired.reason}|${desired.message}`;
  return `|${desired.addresses.map(formatIP).join(',')}`;
}

/**
 * Whether `manager` wrote the Service's `status.loadBalancer.ingress`, by the server's own record
 * (managedFields: the informer keeps ours). A user's hand edit moves the field to the user.
 */
export function ingressWrittenBy(svc: Service, manager: string): boolean {
  return (svc.metadata.managedFields ?? []).some((e) => {
    if (e.manager !== manager || e.subresource !== 'status') return false;
    const status = e.fieldsV1?.['f:status'] as Record<string, Record<string, unknown>> | undefined;
    return status?.['f:loadBalancer']?.['f:ingress'] !== undefined;
  });
}

/**
 * The status without what `manager` wrote on a Service it no longer handles (the ingress it set, our
 * condition), or undefined when there is none: an ingress someone else wrote is theirs.
 */
export function clearedStatus(svc: Service, manager: string): ServiceStatus | undefined {
  const ingressOurs = (svc.status?.loadBalancer?.ingress?.length ?? 0) > 0 && ingressWrittenBy(svc, manager);
  const condition = ourCondition(svc);
  if (!ingressOurs && !condition) return undefined;
  return {
    ...svc.status,
    loadBalancer: ingressOurs ? withIngress(svc, []) : svc.status?.loadBalancer,
    conditions: condition ? withOurCondition(svc, undefined) : svc.status?.conditions,
  };
}

/** `status.loadBalancer` with this ingress (none: the field left out), other fields kept. */
function withIngress(svc: Service, ingress: LoadBalancerIngress[]): ServiceStatus['loadBalancer'] {
  const { ingress: _old, ...rest } = svc.status?.loadBalancer ?? {};
  return ingress.length > 0 ? { ...rest, ingress } : rest;
}

/** The conditions with ours replaced by `condition` (or removed), others kept in their order. */
function withOurCondition(svc: Service, condition: Condition | undefined): Condition[] | undefined {
  const others = (svc.status?.conditions ?? []).filter((c) => c.type !== ALLOCATED_CONDITION);
  const all = condition ? [...others, condition] : others;
  return all.length > 0 ? all : undefined;
}
