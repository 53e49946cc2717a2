import { formatIP, type IPAddr, type IPFamily } from '../../api/address.js';
import { findOverlaps, olderFirst, type Pool } from '../../api/pool.js';
import type { Labels } from '../../k8s/label-selector.js';
import type { AddressRequest, Sharing } from '../service-request.js';
import { PoolSpace } from './pool-space.js';

/** Why a Service is not (fully) served; also the reason of its condition and Event. */
export type FailureReason =
  | 'NoMatchingPool'
  | 'PoolExhausted'
  | 'AddressInUse'
  | 'AddressNotInPool'
  | 'UnknownPool'
  | 'PoolNotAllowed'
  | 'FamilyUnavailable'
  | 'InvalidAnnotation';

export interface Allocation {
  pool: string;
  /** Primary family first. */
  addresses: IPAddr[];
}

export type AssignResult =
  | {
      ok: true;
      allocation: Allocation;
      /** Set when the Service held other addresses before this call and lost them, saying why. */
      replaced?: string;
      /** Set when PreferDualStack got only some of its families. */
      partial?: string;
    }
  | { ok: false; reason: FailureReason; message: string; replaced?: string };

export interface Claim {
  key: string;
  /** Older claims win conflicts (creationTimestamp, then key), so rebuilding never depends on order. */
  createdAt: string;
  request: AddressRequest;
  addresses: IPAddr[];
}

export interface PoolUsage {
  inUse: Record<IPFamily, bigint>;
  free: Record<IPFamily, bigint>;
  capacity: Record<IPFamily, bigint>;
}

/** Namespace labels by name, for pools' namespaceSelectors. */
export type NamespaceLabels = (namespace: string) => Labels;

interface Holding {
  family: IPFamily;
  value: bigint;
  /** The pool whose ranges hold the address now, if any. */
  pool: string | undefined;
  sharingKey: string | undefined;
  holders: Map<string, Sharing | undefined>;
}

interface Held {
  pool: string;
  addresses: IPAddr[];
}

const ipKey = (a: { family: IPFamily; value: bigint }) => `${a.family === 'IPv4' ? 4 : 6}/${a.value}`;

/**
 * Hands out addresses from pools to Services. Pure and synchronous: time comes from `now()`, and
 * nothing here talks to Kubernetes. Deterministic: pools by priority then name, and within a pool
 * the lowest free address (skipping buggy ones and held-down ones while others are free).
 */
export class Allocator {
  private pools = new Map<string, Pool>();
  /** Pools that overlap an older pool: never used, with the pool they overlap. */
  private overlapping = new Map<string, string>();
  private spaces = new Map<string, Record<IPFamily, PoolSpace>>();
  private readonly holdings = new Map<string, Holding>();
  private readonly byService = new Map<string, Held>();
  /** Sharing key -> addresses shared under it. */
  private readonly shared = new Map<string, Set<string>>();
  /** Pending hold-down ends, in order of time. */
  private holdQueue: { at: number; pool: string; family: IPFamily; value: bigint }[] = [];

  constructor(private readonly now: () => number) {}

  /** Replaces the pool configuration. Returns the Services whose addresses are no longer in a usable pool. */
  setPools(pools: readonly Pool[]): string[] {
    const overlaps = findOverlaps(pools);
    this.overlapping = new Map([...overlaps].map(([name, o]) => [name, o.other]));
    this.pools = new Map(pools.map((p) => [p.name, p]));
    this.spaces = new Map();
    for (const pool of [...pools].sort(olderFirst)) {
      if (this.overlapping.has(pool.name)) continue;
      this.spaces.set(pool.name, { IPv4: new PoolSpace(pool, 'IPv4'), IPv6: new PoolSpace(pool, 'IPv6') });
    }
    const affected = new Set<string>();
    for (const h of this.holdings.values()) {
      const pool = this.poolFor(h);
      if (pool !== h.pool) for (const key of h.holders.keys()) affected.add(key);
      h.pool = pool;
      if (pool) this.spaces.get(pool)![h.family].markUsed(h.value);
    }
    // Hold-downs carry over to the pool that has the address now, if any.
    this.holdQueue = this.holdQueue.filter((item) => {
      item.pool = this.poolFor(item) ?? '';
      if (!item.pool || this.holdingOf(item)) return false;
      this.spaces.get(item.pool)![item.family].holdUntil(item.value, item.at);
      return true;
    });
    for (const [key, held] of this.byService) {
      if (held.addresses.some((a) => this.holdingOf(a)?.pool !== held.pool)) affected.add(key);
    }
    return [...affected].sort();
  }

  /** The pools in use (valid and not overlapping an older one). */
  poolNames(): string[] {
    return [...this.spaces.keys()];
  }

  pool(name: string): Pool | undefined {
    return this.pools.get(name);
  }

  /** The pool this one overlaps, if it is unusable because of that. */
  overlapOf(name: string): string | undefined {
    return this.overlapping.get(name);
  }

  allocation(key: string): Allocation | undefined {
    const held = this.byService.get(key);
    return held && { pool: held.pool, addresses: [...held.addresses] };
  }

  get serviceCount(): number {
    return this.byService.size;
  }

  usage(name: string): PoolUsage | undefined {
    const spaces = this.spaces.get(name);
    const pool = this.pools.get(name);
    if (!spaces || !pool) return undefined;
    const inUse = { IPv4: spaces.IPv4.inUse, IPv6: spaces.IPv6.inUse };
    return {
      inUse,
      capacity: pool.capacity,
      free: { IPv4: pool.capacity.IPv4 - inUse.IPv4, IPv6: pool.capacity.IPv6 - inUse.IPv6 },
    };
  }

  /**
   * Rebuilds state from addresses Services already hold (their status), oldest claim first, before
   * anything new is allocated. Returns the claims that could not be honoured, with why.
   */
  restore(claims: readonly Claim[], namespaceLabels: NamespaceLabels): Map<string, AssignResult> {
    const failed = new Map<string, AssignResult>();
    const ordered = [...claims].sort((a, b) =>
      a.createdAt !== b.createdAt ? (a.createdAt < b.createdAt ? -1 : 1) : a.key < b.key ? -1 : 1,
    );
    for (const claim of ordered) {
      if (claim.addresses.length === 0) continue;
      const problem = this.checkClaim(claim.key, claim.request, claim.addresses, namespaceLabels);
      if (problem) {
        failed.set(claim.key, problem);
        continue;
      }
      this.take(claim.key, this.poolOfAddresses(claim.addresses)!, claim.addresses, claim.request.sharing);
    }
    return failed;
  }

  /**
   * Makes sure the Service holds addresses that satisfy its request: keeps what it holds (or what
   * its status says it holds) when that is still valid, else allocates anew.
   */
  assign(
    key: string,
    request: AddressRequest,
    current: readonly IPAddr[],
    namespaceLabels: NamespaceLabels,
  ): AssignResult {
    this.expireHolds();
    let replaced: string | undefined;
    const held = this.byService.get(key);
    const existing = held?.addresses ?? current;
    if (existing.length > 0) {
      const problem = this.checkClaim(key, request, existing, namespaceLabels);
      if (!problem) {
        const pool = held?.pool ?? this.poolOfAddresses(existing)!;
        this.take(key, pool, existing, request.sharing);
        return this.completeDualStack(key, request);
      }
      replaced = `${existing.map(formatIP).join(', ')} no longer fits: ${problem.ok ? '' : problem.message}`;
      this.release(key);
    }
    const result = this.allocate(key, request, namespaceLabels);
    return replaced ? { ...result, replaced } : result;
  }

  /** Lets go of everything the Service holds. */
  release(key: string): void {
    const held = this.byService.get(key);
    if (!held) return;
    this.byService.delete(key);
    const now = this.now();
    for (const a of held.addresses) {
      const k = ipKey(a);
      const h = this.holdings.get(k);
      if (!h) continue;
      h.holders.delete(key);
      if (h.holders.size > 0) continue;
      this.holdings.delete(k);
      if (h.sharingKey) this.shared.get(h.sharingKey)?.delete(k);
      if (!h.pool) continue;
      const until = this.spaces.get(h.pool)?.[h.family].markFree(h.value, now);
      if (until !== undefined) this.pushHold({ at: until, pool: h.pool, family: h.family, value: h.value });
    }
  }

  // --- checking ---------------------------------------------------------------------------------------

  /** Why the Service may not hold these addresses, or undefined if it may. */
  private checkClaim(
    key: string,
    request: AddressRequest,
    addresses: readonly IPAddr[],
    namespaceLabels: NamespaceLabels,
  ): Extract<AssignResult, { ok: false }> | undefined {
    const fail = (reason: FailureReason, message: string) => ({ ok: false as const, reason, message });
    const families = addresses.map((a) => a.family);
    if (new Set(families).size !== families.length) {
      return fail('FamilyUnavailable', 'holds two addresses of one family');
    }
    for (const f of families) {
      if (!request.families.includes(f)) {
        return fail(
          'FamilyUnavailable',
          `holds an ${f} address but the Service's families are ${request.families.join(', ')}`,
        );
      }
    }
    if (request.policy === 'SingleStack' && (addresses.length !== 1 || families[0] !== request.families[0])) {
      return fail('FamilyUnavailable', `is SingleStack ${request.families[0]}`);
    }
    if (request.policy === 'RequireDualStack' && addresses.length !== 2) {
      return fail('FamilyUnavailable', 'is RequireDualStack and needs one address of each family');
    }
    if (request.addresses && !sameAddresses(request.addresses, addresses)) {
      return fail('AddressInUse', `asks for ${request.addresses.map(formatIP).join(', ')}`);
    }
    const pool = this.poolOfAddresses(addresses);
    if (!pool) {
      const where = addresses.map((a) => `${formatIP(a)} ${this.describePlace(a)}`).join('; ');
      return fail('AddressNotInPool', where);
    }
    if (request.pool && request.pool !== pool) {
      return fail('PoolNotAllowed', `asks for pool ${request.pool}, not ${pool}`);
    }
    const allowed = this.poolAllows(this.pools.get(pool)!, request, namespaceLabels);
    if (allowed) return fail('PoolNotAllowed', `pool ${pool} ${allowed}`);
    for (const a of addresses) {
      const conflict = this.sharingConflict(key, a, request.sharing);
      if (conflict) return fail('AddressInUse', conflict);
    }
    return undefined;
  }

  /** Why the Service may not use this pool (namespaces, selectors), or undefined if it may. */
  private poolAllows(
    pool: Pool,
    request: AddressRequest,
    namespaceLabels: NamespaceLabels,
  ): string | undefined {
    const nsListed = pool.namespaces?.has(request.namespace);
    const nsSelected = pool.namespaceSelectors?.some((m) => m(namespaceLabels(request.namespace)));
    if ((pool.namespaces || pool.namespaceSelectors) && !nsListed && !nsSelected) {
      return `does not serve namespace ${request.namespace}`;
    }
    if (pool.serviceSelectors && !pool.serviceSelectors.some((m) => m(request.labels))) {
      return "does not select this Service's labels";
    }
    return undefined;
  }

  /** Why the Service may not share this address with its other holders, or undefined. */
  private sharingConflict(key: string, a: IPAddr, sharing: Sharing | undefined): string | undefined {
    const h = this.holdingOf(a);
    if (!h) return undefined;
    const others = [...h.holders].filter(([k]) => k !== key);
    if (others.length === 0) return undefined;
    const ip = formatIP(a);
    if (!sharing)
      return `${ip} is used by ${others[0]![0]}, and this Service has no allow-shared-ip annotation`;
    for (const [k, s] of others) {
      if (s?.key !== sharing.key) {
        return `${ip} is used by ${k} with ${s ? `sharing key "${s.key}"` : 'no sharing key'}, not "${sharing.key}"`;
      }
      if (s.backendKey !== sharing.backendKey) {
        return `${ip} is shared with ${k}, and Services sharing an address with externalTrafficPolicy Local must both be Local with the same selector`;
      }
      const clash = [...sharing.ports].find((p) => s.ports.has(p));
      if (clash) return `${ip} is shared with ${k}, which already uses port ${clash}`;
    }
    return undefined;
  }

  // --- allocating --------------------------------------------------------------------------------------

  private allocate(key: string, request: AddressRequest, namespaceLabels: NamespaceLabels): AssignResult {
    if (request.addresses) return this.allocateRequested(key, request, namespaceLabels);
    let candidates: Pool[];
    if (request.pool) {
      const pool = this.pools.get(request.pool);
      if (!pool)
        return {
          ok: false,
          reason: 'UnknownPool',
          message: `there is no IPAddressPool named ${request.pool}`,
        };
      const overlap = this.overlapping.get(pool.name);
      if (overlap) {
        return {
          ok: false,
          reason: 'UnknownPool',
          message: `pool ${pool.name} overlaps pool ${overlap} and is not used`,
        };
      }
      const why = this.poolAllows(pool, request, namespaceLabels);
      if (why) return { ok: false, reason: 'PoolNotAllowed', message: `pool ${pool.name} ${why}` };
      candidates = [pool];
    } else {
      candidates = this.candidatePools(request, namespaceLabels);
      if (candidates.length === 0) {
        return {
          ok: false,
          reason: 'NoMatchingPool',
          message: `no IPAddressPool with autoAssign serves namespace ${request.namespace} and this Service's labels`,
        };
      }
    }
    const plans = familyPlans(request);
    for (const plan of plans) {
      for (const pool of candidates) {
        const picked = this.pick(pool, plan, request.sharing);
        if (picked) {
          this.take(key, pool.name, picked, request.sharing);
          const partial =
            plan.length < request.families.length
              ? `PreferDualStack: no ${request.families.find((f) => !plan.includes(f))} address available, serving ${plan[0]} only`
              : undefined;
          return { ok: true, allocation: this.allocation(key)!, partial };
        }
      }
    }
    const names = candidates.map((p) => p.name).join(', ');
    const wanted = plans[plans.length - 1]!;
    const hasFamily = candidates.some((p) => plans.some((plan) => plan.every((f) => p.capacity[f] > 0n)));
    if (!hasFamily) {
      return {
        ok: false,
        reason: 'FamilyUnavailable',
        message: `no pool this Service may use (${names}) has ${plans.map((p) => p.join(' and ')).join(' or ')} addresses`,
      };
    }
    return {
      ok: false,
      reason: 'PoolExhausted',
      message: `no free ${wanted.join(' and ')} address in ${candidates.length > 1 ? 'pools' : 'pool'} ${names}`,
    };
  }

  private allocateRequested(
    key: string,
    request: AddressRequest,
    namespaceLabels: NamespaceLabels,
  ): AssignResult {
    const addresses = [...request.addresses!].sort(
      (a, b) => request.families.indexOf(a.family) - request.families.indexOf(b.family),
    );
    const pool = this.poolOfAddresses(addresses);
    if (!pool) {
      const where = addresses.map((a) => `${formatIP(a)} ${this.describePlace(a)}`).join('; ');
      return { ok: false, reason: 'AddressNotInPool', message: `requested ${where}` };
    }
    if (request.pool && request.pool !== pool) {
      return {
        ok: false,
        reason: 'PoolNotAllowed',
        message: `requested ${addresses.map(formatIP).join(', ')} belongs to pool ${pool}, not to pool ${request.pool}`,
      };
    }
    const why = this.poolAllows(this.pools.get(pool)!, request, namespaceLabels);
    if (why) return { ok: false, reason: 'PoolNotAllowed', message: `pool ${pool} ${why}` };
    for (const a of addresses) {
      const conflict = this.sharingConflict(key, a, request.sharing);
      if (conflict) return { ok: false, reason: 'AddressInUse', message: conflict };
    }
    this.take(key, pool, addresses, request.sharing);
    return { ok: true, allocation: this.allocation(key)! };
  }

  /** Pools for automatic allocation, in the order they are tried. */
  private candidatePools(request: AddressRequest, namespaceLabels: NamespaceLabels): Pool[] {
    const usable = [...this.pools.values()].filter(
      (p) => p.autoAssign && !this.overlapping.has(p.name) && !this.poolAllows(p, request, namespaceLabels),
    );
    const rank = (p: Pool) =>
      p.pinned ? (p.priority > 0 ? p.priority : Number.MAX_SAFE_INTEGER) : Number.POSITIVE_INFINITY;
    return usable.sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** One address per family from this pool: a compatible shared one first, else the lowest free. */
  private pick(
    pool: Pool,
    families: readonly IPFamily[],
    sharing: Sharing | undefined,
  ): IPAddr[] | undefined {
    const spaces = this.spaces.get(pool.name);
    if (!spaces) return undefined;
    const out: IPAddr[] = [];
    for (const family of families) {
      const value = this.pickShared(pool.name, family, sharing) ?? spaces[family].lowestFree();
      if (value === undefined) return undefined;
      out.push({ family, value });
    }
    return out;
  }

  private pickShared(pool: string, family: IPFamily, sharing: Sharing | undefined): bigint | undefined {
    if (!sharing) return undefined;
    let best: bigint | undefined;
    for (const k of this.shared.get(sharing.key) ?? []) {
      const h = this.holdings.get(k)!;
      if (h.pool !== pool || h.family !== family || (best !== undefined && h.value >= best)) continue;
      if (!this.sharingConflict('', h, sharing)) best = h.value;
    }
    return best;
  }

  /** PreferDualStack holding one family: add the other from the same pool when it has one free. */
  private completeDualStack(key: string, request: AddressRequest): AssignResult {
    const held = this.byService.get(key)!;
    if (
      request.policy !== 'PreferDualStack' ||
      request.addresses ||
      held.addresses.length >= request.families.length
    ) {
      return { ok: true, allocation: this.allocation(key)! };
    }
    const missing = request.families.find((f) => !held.addresses.some((a) => a.family === f))!;
    const pool = this.pools.get(held.pool);
    const extra = pool && this.pick(pool, [missing], request.sharing);
    if (extra) {
      this.take(key, held.pool, [...held.addresses, ...extra], request.sharing);
      return { ok: true, allocation: this.allocation(key)! };
    }
    return {
      ok: true,
      allocation: this.allocation(key)!,
      partial: `PreferDualStack: pool ${held.pool} has no free ${missing} address, serving ${held.addresses[0]!.family} only`,
    };
  }

  // --- bookkeeping -------------------------------------------------------------------------------------

  private take(key: string, pool: string, addresses: readonly IPAddr[], sharing: Sharing | undefined): void {
    const previous = this.byService.get(key);
    const ordered = [...addresses];
    for (const a of ordered) {
      const k = ipKey(a);
      let h = this.holdings.get(k);
      if (!h) {
        h = { family: a.family, value: a.value, pool, sharingKey: undefined, holders: new Map() };
        this.holdings.set(k, h);
        this.spaces.get(pool)?.[a.family].markUsed(a.value);
      }
      h.holders.set(key, sharing);
      if (h.holders.size === 1) {
        if (h.sharingKey) this.shared.get(h.sharingKey)?.delete(k);
        h.sharingKey = sharing?.key;
      }
      this.reindexShared(k, h);
    }
    if (previous) {
      for (const a of previous.addresses) {
        if (!ordered.some((b) => b.family === a.family && b.value === a.value)) this.dropOne(key, a);
      }
    }
    this.byService.set(key, { pool, addresses: ordered });
  }

  private dropOne(key: string, a: IPAddr): void {
    const held = this.byService.get(key);
    if (!held) return;
    this.byService.set(key, { pool: held.pool, addresses: [a] });
    this.release(key);
    this.byService.set(key, held);
  }

  private reindexShared(k: string, h: Holding): void {
    if (!h.sharingKey) return;
    let set = this.shared.get(h.sharingKey);
    if (!set) {
      set = new Set();
      this.shared.set(h.sharingKey, set);
    }
    set.add(k);
  }

  private holdingOf(a: { family: IPFamily; value: bigint }): Holding | undefined {
    return this.holdings.get(ipKey(a));
  }

  /** The usable pool whose ranges contain the address. */
  private poolFor(a: { family: IPFamily; value: bigint }): string | undefined {
    for (const [name, spaces] of this.spaces) if (spaces[a.family].allows(a.value)) return name;
    return undefined;
  }

  /** The one usable pool holding all of these addresses, if there is one. */
  private poolOfAddresses(addresses: readonly IPAddr[]): string | undefined {
    const pools = new Set(addresses.map((a) => this.poolFor(a)));
    const [only] = pools;
    return pools.size === 1 ? only : undefined;
  }

  /** Says where an address stands when no usable pool hands it out. */
  private describePlace(a: IPAddr): string {
    const pool = this.poolFor(a);
    if (pool) return `is in pool ${pool}`;
    for (const p of this.pools.values()) {
      const inside = p.declared.some((r) => r.family === a.family && r.first <= a.value && a.value <= r.last);
      if (!inside) continue;
      if (this.overlapping.has(p.name))
        return `is in pool ${p.name}, which overlaps pool ${this.overlapping.get(p.name)} and is not used`;
      if (p.avoidBuggyIPs && a.family === 'IPv4' && (a.value & 255n) % 255n === 0n) {
        return `ends in .0 or .255, which pool ${p.name} avoids (avoidBuggyIPs)`;
      }
      return `is excluded from pool ${p.name}`;
    }
    return 'is not in any IPAddressPool';
  }

  private pushHold(item: { at: number; pool: string; family: IPFamily; value: bigint }): void {
    // Holds all last the pool's hold-down, so pushes mostly arrive in order: insert from the back.
    let i = this.holdQueue.length;
    while (i > 0 && this.holdQueue[i - 1]!.at > item.at) i--;
    this.holdQueue.splice(i, 0, item);
  }

  private expireHolds(): void {
    const now = this.now();
    let done = 0;
    for (const item of this.holdQueue) {
      if (item.at > now) break;
      this.spaces.get(item.pool)?.[item.family].endHold(item.value, now);
      done++;
    }
    if (done > 0) this.holdQueue = this.holdQueue.slice(done);
  }
}

/** The family sets to try, in order: both, then (PreferDualStack) the primary, then the other. */
function familyPlans(request: AddressRequest): IPFamily[][] {
  const [primary, secondary] = request.families as [IPFamily, IPFamily | undefined];
  if (request.policy === 'SingleStack' || !secondary) return [[primary]];
  if (request.policy === 'RequireDualStack') return [[primary, secondary]];
  return [[primary, secondary], [primary], [secondary]];
}

function sameAddresses(a: readonly IPAddr[], b: readonly IPAddr[]): boolean {
  return a.length === b.length && a.every((x) => b.some((y) => y.family === x.family && y.value === x.value));
}
