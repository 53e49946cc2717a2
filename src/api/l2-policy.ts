import {
  compileLabelSelector,
  type LabelSelector,
  type Labels,
  type Matcher,
  SelectorError,
} from '../k8s/label-selector.js';
import { checkNameList, compileSelectors, type FieldError } from './field-errors.js';
import type { L2Advertisement } from './l2-advertisement.js';

/** An L2Advertisement as the speaker uses it: validated, selectors compiled. */
export interface L2Ad {
  name: string;
  pools: ReadonlySet<string> | undefined;
  poolSelectors: Matcher[] | undefined;
  nodeSelectors: Matcher[] | undefined;
  /** Undefined: every interface that can announce. */
  interfaces: readonly string[] | undefined;
  /** Weighted soft preferences among the selected nodes. */
  preferences: readonly { weight: number; matches: Matcher }[];
  serviceSelectors: Matcher[] | undefined;
}

export type L2AdParseResult = { ok: true; ad: L2Ad } | { ok: false; errors: FieldError[] };

/** Linux interface names: 1–15 bytes, no '/', no whitespace, not '.' or '..'. */
const IFNAME = /^[^\s/:]{1,15}$/;

export function parseL2Advertisement(obj: L2Advertisement): L2AdParseResult {
  const errors: FieldError[] = [];
  const spec = obj.spec ?? {};
  const name = obj.metadata.name ?? '';
  if (!name) errors.push({ field: 'metadata.name', message: 'an L2Advertisement needs a name' });
  const pools = checkNameList(spec.ipAddressPools, 'spec.ipAddressPools', errors);
  const poolSelectors = compileSelectors(spec.ipAddressPoolSelectors, 'spec.ipAddressPoolSelectors', errors);
  const nodeSelectors = compileSelectors(spec.nodeSelectors, 'spec.nodeSelectors', errors);
  const serviceSelectors = compileSelectors(spec.serviceSelectors, 'spec.serviceSelectors', errors);
  const interfaces = checkNameList(spec.interfaces, 'spec.interfaces', errors);
  const preferences = parsePreferences(spec.preferredNodeSelectors, errors);
  for (const [i, ifname] of (interfaces ?? []).entries()) {
    if (!IFNAME.test(ifname) || ifname === '.' || ifname === '..') {
      errors.push({
        field: `spec.interfaces[${i}]`,
        message: `"${ifname}" is not a Linux interface name (1-15 characters, no '/', ':' or spaces)`,
      });
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    ad: {
      name,
      pools: pools && pools.length > 0 ? new Set(pools) : undefined,
      poolSelectors,
      nodeSelectors,
      interfaces: interfaces && interfaces.length > 0 ? interfaces : undefined,
      serviceSelectors,
      preferences,
    },
  };
}

function parsePreferences(list: unknown, errors: FieldError[]): L2Ad['preferences'] {
  const field = 'spec.preferredNodeSelectors';
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    errors.push({ field, message: 'must be a list of {weight, preference}' });
    return [];
  }
  const out: { weight: number; matches: Matcher }[] = [];
  for (const [i, entry] of list.entries()) {
    const weight = (entry as { weight?: unknown } | null)?.weight;
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 1 || weight > 100) {
      errors.push({ field: `${field}[${i}].weight`, message: 'must be a whole number from 1 to 100' });
      continue;
    }
    try {
      out.push({
        weight,
        matches: compileLabelSelector((entry as { preference?: LabelSelector }).preference ?? {}),
      });
    } catch (err) {
      if (!(err instanceof SelectorError)) throw err;
      errors.push({ field: `${field}[${i}].preference`, message: err.message });
    }
  }
  return out;
}

/** A node's preference weight for an address: the weights of every matching entry of every advertisement. */
export function preferenceWeight(ads: readonly L2Ad[], nodeLabels: Labels): number {
  let total = 0;
  for (const ad of ads) {
    if (!anyMatch(ad.nodeSelectors, nodeLabels)) continue;
    for (const p of ad.preferences) if (p.matches(nodeLabels)) total += p.weight;
  }
  return total;
}

const anyMatch = (matchers: Matcher[] | undefined, labels: Labels): boolean =>
  matchers === undefined || matchers.some((m) => m(labels));

/** Whether the advertisement covers the pool: named, or selected, or every pool when it names none. */
export function coversPool(ad: L2Ad, pool: { name: string; labels: Labels }): boolean {
  if (ad.pools === undefined && ad.poolSelectors === undefined) return true;
  return (ad.pools?.has(pool.name) ?? false) || (ad.poolSelectors?.some((m) => m(pool.labels)) ?? false);
}

export interface L2Target {
  pool: { name: string; labels: Labels };
  service: { labels: Labels; sharesAddress: boolean };
}

export type L2Scope =
  | {
      announced: true;
      /** The advertisements that apply; a node may announce if any of them selects it. */
      ads: readonly L2Ad[];
    }
  | { announced: false; reason: 'NoL2Advertisement' | 'SharedAddressWithServiceSelectors'; message: string };

/** Which advertisements apply to a Service's address, or why it is not announced over L2 at all. */
export function l2Scope(ads: readonly L2Ad[], target: L2Target): L2Scope {
  const forPool = ads.filter((ad) => coversPool(ad, target.pool));
  const matching = forPool.filter((ad) => anyMatch(ad.serviceSelectors, target.service.labels));
  if (matching.length === 0) {
    return {
      announced: false,
      reason: 'NoL2Advertisement',
      message:
        forPool.length === 0
          ? `no L2Advertisement covers pool ${target.pool.name}`
          : `the L2Advertisements of pool ${target.pool.name} (${names(forPool)}) do not select this Service`,
    };
  }
  if (target.service.sharesAddress) {
    const selective = matching.filter((ad) => ad.serviceSelectors !== undefined);
    if (selective.length > 0) {
      return {
        announced: false,
        reason: 'SharedAddressWithServiceSelectors',
        message: `the Service shares its address and L2Advertisement ${names(selective)} selects Services; sharers could end up on different nodes, so it is not announced`,
      };
    }
  }
  return { announced: true, ads: matching };
}

/** Whether a node with these labels may announce under the scope's advertisements. */
export function nodeSelected(ads: readonly L2Ad[], nodeLabels: Labels): boolean {
  return ads.some((ad) => anyMatch(ad.nodeSelectors, nodeLabels));
}

/**
 * The interfaces a node announces from: the union over the advertisements that select it, or every
 * interface when one of them lists none.
 */
export function interfacesFor(ads: readonly L2Ad[], nodeLabels: Labels): 'all' | string[] {
  const names = new Set<string>();
  for (const ad of ads) {
    if (!anyMatch(ad.nodeSelectors, nodeLabels)) continue;
    if (ad.interfaces === undefined) return 'all';
    for (const name of ad.interfaces) names.add(name);
  }
  return [...names].sort();
}

const names = (ads: readonly L2Ad[]) => ads.map((ad) => ad.name).join(', ');
