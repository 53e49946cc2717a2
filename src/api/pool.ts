import type { Matcher } from '../k8s/label-selector.js';
import { parseDuration } from '../util/duration.js';
import {
  AddressError,
  countNonBuggyIPv4,
  type IPFamily,
  type IPRange,
  normalizeRanges,
  parseAddressEntry,
  rangeSize,
  rangesOverlap,
  subtractRanges,
} from './address.js';
import { compileSelectors, type FieldError } from './field-errors.js';
import type { IPAddressPool } from './ip-address-pool.js';

/** A pool as the allocator uses it: parsed, defaulted, with its excludes already taken out. */
export interface Pool {
  name: string;
  /** Orders pools that overlap (the older one keeps its addresses) and ties nothing else. */
  createdAt: string;
  /** The declared ranges, normalised (for overlap checks and lookups). */
  declared: IPRange[];
  /** The ranges addresses are handed out from: declared minus excludes, sorted, IPv4 first. */
  ranges: IPRange[];
  autoAssign: boolean;
  avoidBuggyIPs: boolean;
  holdDownMs: number;
  /** Pools with a serviceAllocation are tried first, by priority (0 = after all others), then by name. */
  pinned: boolean;
  priority: number;
  namespaces: ReadonlySet<string> | undefined;
  namespaceSelectors: Matcher[] | undefined;
  serviceSelectors: Matcher[] | undefined;
  /** Addresses that can be handed out, per family (buggy IPv4 addresses not counted when avoided). */
  capacity: Record<IPFamily, bigint>;
}

export type PoolParseResult = { ok: true; pool: Pool } | { ok: false; errors: FieldError[] };

/**
 * Validates one IPAddressPool on its own (the webhook, and the controller for pools the webhook did
 * not see) and turns it into a Pool. Every problem is reported, each naming its field.
 */
export function parsePool(obj: IPAddressPool): PoolParseResult {
  const errors: FieldError[] = [];
  const spec = obj.spec ?? ({} as IPAddressPool['spec']);
  const name = obj.metadata.name ?? '';
  if (!name) errors.push({ field: 'metadata.name', message: 'a pool needs a name' });

  const declared = parseEntries(spec.addresses, 'spec.addresses', errors);
  if (Array.isArray(spec.addresses) && spec.addresses.length === 0) {
    errors.push({ field: 'spec.addresses', message: 'must list at least one CIDR, range or address' });
  }
  for (const [i, a] of declared.entries()) {
    for (const [j, b] of declared.entries()) {
      if (j <= i || !rangesOverlap(a.range, b.range)) continue;
      errors.push({
        field: `spec.addresses[${b.index}]`,
        message: `"${b.text}" overlaps spec.addresses[${a.index}] "${a.text}" in the same pool`,
      });
    }
  }
  const excludes = parseEntries(spec.excludes, 'spec.excludes', errors);
  for (const ex of excludes) {
    const covered =
      subtractRanges(
        [ex.range],
        declared.map((d) => d.range),
      ).length === 0;
    if (!covered) {
      errors.push({
        field: `spec.excludes[${ex.index}]`,
        message: `"${ex.text}" is not inside the pool's addresses; excludes may only remove addresses the pool has`,
      });
    }
  }

  let holdDownMs = 0;
  if (spec.reuseHoldDown !== undefined && spec.reuseHoldDown !== '') {
    try {
      holdDownMs = parseDuration(spec.reuseHoldDown);
    } catch (err) {
      errors.push({ field: 'spec.reuseHoldDown', message: (err as Error).message });
    }
  }

  const alloc = spec.serviceAllocation;
  const priority = alloc?.priority ?? 0;
  if (!Number.isInteger(priority) || priority < 0) {
    errors.push({
      field: 'spec.serviceAllocation.priority',
      message: `must be a whole number >= 0, not ${priority}`,
    });
  }
  const namespaces = alloc?.namespaces;
  if (namespaces) {
    const seen = new Set<string>();
    for (const [i, ns] of namespaces.entries()) {
      if (seen.has(ns)) {
        errors.push({ field: `spec.serviceAllocation.namespaces[${i}]`, message: `"${ns}" is listed twice` });
      }
      seen.add(ns);
    }
  }
  const namespaceSelectors = compileSelectors(
    alloc?.namespaceSelectors,
    'spec.serviceAllocation.namespaceSelectors',
    errors,
  );
  const serviceSelectors = compileSelectors(
    alloc?.serviceSelectors,
    'spec.serviceAllocation.serviceSelectors',
    errors,
  );
  if (errors.length > 0) return { ok: false, errors };

  const declaredRanges = normalizeRanges(declared.map((d) => d.range));
  const ranges = subtractRanges(
    declaredRanges,
    excludes.map((e) => e.range),
  );
  const avoidBuggyIPs = spec.avoidBuggyIPs === true;
  return {
    ok: true,
    pool: {
      name,
      createdAt: obj.metadata.creationTimestamp ?? '',
      declared: declaredRanges,
      ranges,
      autoAssign: spec.autoAssign !== false,
      avoidBuggyIPs,
      holdDownMs,
      pinned: alloc !== undefined && alloc !== null,
      priority,
      namespaces: namespaces && namespaces.length > 0 ? new Set(namespaces) : undefined,
      namespaceSelectors,
      serviceSelectors,
      capacity: capacityOf(ranges, avoidBuggyIPs),
    },
  };
}

interface Entry {
  index: number;
  text: string;
  range: IPRange;
}

function parseEntries(list: unknown, field: string, errors: FieldError[]): Entry[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    errors.push({ field, message: 'must be a list of CIDRs, ranges or addresses' });
    return [];
  }
  const out: Entry[] = [];
  for (const [index, text] of list.entries()) {
    if (typeof text !== 'string') {
      errors.push({ field: `${field}[${index}]`, message: `must be a string, not ${JSON.stringify(text)}` });
      continue;
    }
    try {
      out.push({ index, text, range: parseAddressEntry(text) });
    } catch (err) {
      if (!(err instanceof AddressError)) throw err;
      errors.push({ field: `${field}[${index}]`, message: err.message });
    }
  }
  return out;
}

function capacityOf(ranges: readonly IPRange[], avoidBuggyIPs: boolean): Record<IPFamily, bigint> {
  const capacity: Record<IPFamily, bigint> = { IPv4: 0n, IPv6: 0n };
  for (const r of ranges) {
    capacity[r.family] +=
      r.family === 'IPv4' && avoidBuggyIPs ? countNonBuggyIPv4(r.first, r.last) : rangeSize(r);
  }
  return capacity;
}

/** Pools that overlap an older pool, with the first such pool named; the older pool keeps its addresses. */
export function findOverlaps(pools: readonly Pool[]): Map<string, { other: string; range: IPRange }> {
  const ordered = [...pools].sort(olderFirst);
  const rank = new Map(ordered.map((p, i) => [p.name, i]));
  const spans = ordered.flatMap((p) => p.declared.map((range) => ({ pool: p.name, range })));
  spans.sort((a, b) =>
    a.range.family !== b.range.family
      ? a.range.family < b.range.family
        ? -1
        : 1
      : a.range.first < b.range.first
        ? -1
        : a.range.first > b.range.first
          ? 1
          : 0,
  );
  const overlapping = new Map<string, { other: string; range: IPRange }>();
  // Sweep in address order; `open` are spans that may still reach the current one.
  let open: { pool: string; range: IPRange }[] = [];
  for (const span of spans) {
    open = open.filter((o) => o.range.family === span.range.family && o.range.last >= span.range.first);
    for (const o of open) {
      if (o.pool === span.pool) continue;
      const [older, younger] = rank.get(o.pool)! < rank.get(span.pool)! ? [o, span] : [span, o];
      if (!overlapping.has(younger.pool)) {
        overlapping.set(younger.pool, { other: older.pool, range: older.range });
      }
    }
    open.push(span);
  }
  return overlapping;
}

export function olderFirst(a: Pool, b: Pool): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
