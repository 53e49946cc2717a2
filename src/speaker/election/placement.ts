/**
 * L2 placement: which node answers ARP/NDP for each LoadBalancer IP. A pure function of what every
 * speaker can see — the IPs with their eligible nodes (from the API), the live members (from the
 * heartbeat membership) and, in non-revertive mode, the claims members make in their heartbeats — so
 * every speaker with the same view computes the same owners, whatever the order of its inputs.
 * Services sharing an IP are placed once, per IP, so they are announced from the same node.
 *
 * Ranking. Rendezvous hashing (hash.ts): each live eligible node gets a score for the IP and the
 * highest score is the IP's first choice. By rank alone, a node joining would take only the IPs for
 * which it scores highest and a node leaving would free only its own; the balance bound adds a little
 * movement to that (below).
 *
 * Balance. No node holds more than ceil(m / n) + 1 IPs (with uniform eligibility; see below for
 * per-IP eligible sets; `slack` other than 1 replaces the 1), where m counts IPs with at least one live
 * eligible node and n the live nodes eligible for at least one IP. The bounded pass is deferred
 * acceptance (stable-assignment.ts): a node full of IPs that rank it higher pushes the IP to its next
 * choice. Plain rendezvous hashing would put up to about m/n + 3√(m/n) IPs on a node (119–124
 * instead of 101 for 1,000 IPs on 10 nodes). The price of the bound is that an IP bumped to its
 * second choice can move when the capacity changes, so the capacity is made to change as seldom as
 * the bound allows: `capacity = max(ceil(m / N) + slack, ceil(m / n))` with slack 1, where N also
 * counts eligible nodes that are down. A node failing or returning then leaves it unchanged (unless
 * so many are down that the IPs would not fit) and moves little besides its own IPs; a node joining
 * or leaving the eligible set changes it, and moves somewhat more than its fair share
 * (measured in placement.test.ts). With uniform eligibility every IP fits: n × capacity ≥ m.
 *
 * Preferences (L2Advertisement preferredNodeSelectors). An IP with weights goes to its live eligible
 * node of highest weight (ties by rank) before the balanced pass, outside the bound: a user who
 * prefers one node for every IP gets that. Non-revertive claims still come first.
 *
 * Per-IP eligibility. Nodes prefer IPs with fewer eligible nodes, so an IP that only two nodes can
 * serve (externalTrafficPolicy Local) is not crowded out by IPs that could go anywhere. When the
 * eligible sets make the bound impossible (say, 10 IPs that only one node may answer), an IP rejected
 * by every candidate is still placed — exactly one owner whenever a live eligible node exists — on its
 * least-loaded candidate (ties by rank), reported as `overloaded`. The bound then holds only for the
 * nodes that received no overloaded IP.
 *
 * Non-revertive mode and its shared state. An IP stays with the node that announces it now, as long as
 * that node is live and still eligible, so a returning node takes nothing back. "Announces it now"
 * must be the same on every speaker, so it is not local memory: each member lists the IPs it answers
 * for in every heartbeat (membership/codec.ts), and the caller passes those claims of live members. If
 * several live eligible members claim an IP (two sides of a healed partition), the best-ranked one
 * keeps it. IPs nobody validly claims are placed as in revertive mode, around the kept ones: a node
 * already at capacity takes no new IP. Balance guarantee: no node gains an IP while at or above the
 * current capacity; kept IPs are never moved to rebalance, so a node can stay above the current
 * capacity after others join (at most the capacity in force when it gained them). Rebalancing is
 * never automatic: switching to revertive and back moves each IP to its revertive owner once, without
 * two responders (contested moves are break-before-make, see answers.ts).
 */
import { formatIP, tryParseIP } from '../../api/address.js';
import { type Digest, ipDigest, nodeDigest, ranksAbove, score } from './hash.js';
import { type Proposer, stableAssignment } from './stable-assignment.js';

export type PlacementMode = 'revertive' | 'nonRevertive';

export interface IpEligibility {
  readonly ip: string;
  /**
   * Nodes allowed to answer for the IP: speaker selected by the advertisement, no NetworkUnavailable,
   * no exclude label, and for externalTrafficPolicy Local a ready local endpoint; liveness is
   * applied here, from `live`, so list nodes whose speaker is down too (that keeps the capacity
   * steady when they fail). An IP listed twice (two Services sharing it) may only go to nodes
   * eligible for both.
   */
  readonly eligible: Iterable<string>;
  /**
   * Soft preferences (L2Advertisement preferredNodeSelectors): node → weight. The IP goes to the live
   * eligible node with the highest weight (ties by rank), even above the balance bound; without a
   * live eligible weighted node it is placed as usual. Weights of duplicate entries add up.
   */
  readonly preference?: ReadonlyMap<string, number>;
}

export interface PlacementInput {
  readonly ips: readonly IpEligibility[];
  /** Live members, this node included if it is live. */
  readonly live: Iterable<string>;
  readonly mode: PlacementMode;
  /** Non-revertive only: node → the IPs it announces now, as claimed in its heartbeats. */
  readonly claims?: ReadonlyMap<string, Iterable<string>>;
  /**
   * Non-revertive only: members whose claims are weak (they see no majority, membership/members.ts).
   * An IP claimed by a weak and a strong member stays with the strong one: after a partition heals,
   * with the side that saw more members and moved the IP, not with the node that was cut off.
   */
  readonly weak?: ReadonlySet<string>;
  /** Extra IPs a node may hold above ceil(m / n); default 1. */
  readonly slack?: number;
}

/**
 * `preferred`: its best-ranked live eligible node. `balanced`: a lower-ranked node, the better ones
 * being full. `kept`: non-revertive, its current claimant. `overloaded`: every candidate was full.
 * `weighted`: the live eligible node with the highest preference weight.
 */
export type OwnedReason = 'preferred' | 'balanced' | 'kept' | 'overloaded' | 'weighted';
export type UnownedReason = 'noEligibleNode' | 'noLiveEligibleNode';

export type Assignment =
  | { readonly ip: string; readonly owner: string; readonly reason: OwnedReason }
  | { readonly ip: string; readonly owner: undefined; readonly reason: UnownedReason };

export interface Placement {
  /** By canonical IP text, in sorted order. */
  readonly assignments: ReadonlyMap<string, Assignment>;
  /** The per-node bound used for this placement. */
  readonly capacity: number;
  /** IPs owned per live node that owns any. */
  readonly load: ReadonlyMap<string, number>;
}

export const DEFAULT_SLACK = 1;

/** RFC 5952 / dotted text for an IP, so "2001:DB8::1" and "2001:db8::1" are one IP; other text as is. */
export function canonicalIp(text: string): string {
  const parsed = tryParseIP(text);
  return parsed ? formatIP(parsed) : text.trim();
}

interface Prepared extends Proposer {
  readonly ip: string;
  readonly anyEligible: boolean;
  /** The best-ranked live eligible node, -1 if none. */
  readonly first: number;
  /** Preference weight per candidate (aligned with `nodes`); empty when the IP has no preferences. */
  readonly weights: number[];
}

export function place(input: PlacementInput): Placement {
  const slack = input.slack ?? DEFAULT_SLACK;
  if (!Number.isInteger(slack) || slack < 0)
    throw new RangeError(`slack must be an integer >= 0, got ${slack}`);
  const live = new Set(input.live);
  const nodes = new NodeTable(live);
  const prepared: Prepared[] = [];
  const used = new Uint8Array(nodes.names.length);
  const down = new Set<string>();
  // Marks which live nodes the current IP already lists, so repeated names count once.
  const seen = new Int32Array(nodes.names.length).fill(-1);
  for (const [k, [ip, eligible, preference]] of mergeEligibility(input.ips).entries()) {
    const digest = ipDigest(ip);
    const indices: number[] = [];
    const scores: number[] = [];
    const weights: number[] = [];
    let anyEligible = false;
    let first = -1;
    let firstScore = 0;
    for (const name of eligible) {
      anyEligible = true;
      const i = nodes.indexOf(name);
      if (i === undefined) down.add(name);
      if (i === undefined || seen[i] === k) continue;
      seen[i] = k;
      const s = score(digest, nodes.digests[i]!);
      indices.push(i);
      scores.push(s);
      if (preference) weights.push(preference.get(name) ?? 0);
      used[i] = 1;
      if (first < 0 || ranksAbove(s, name, firstScore, nodes.names[first]!)) {
        first = i;
        firstScore = s;
      }
    }
    prepared.push({ ip, anyEligible, first, nodes: indices, scores, key: ip, weights });
  }

  const placeable = prepared.filter((p) => p.nodes.length > 0).length;
  // n counts live nodes eligible for at least one IP: a node no IP may use adds no room.
  const nodeCount = used.reduce((sum, u) => sum + u, 0);
  const capacity =
    nodeCount === 0
      ? 0
      : Math.max(Math.ceil(placeable / (nodeCount + down.size)) + slack, Math.ceil(placeable / nodeCount));
  const owner = new Int32Array(prepared.length).fill(-1);
  const kept = new Uint8Array(prepared.length);
  const load = new Int32Array(nodes.names.length);

  if (input.mode === 'nonRevertive' && input.claims) {
    const claimants = claimantsByIp(input.claims, live, input.weak);
    prepared.forEach((p, i) => {
      const claimedBy = claimants.get(p.ip);
      if (!claimedBy) return;
      const best = bestRanked(p, nodes.names, (j) => claimedBy.has(nodes.names[p.nodes[j]!]!));
      if (best < 0) return;
      owner[i] = p.nodes[best]!;
      kept[i] = 1;
      load[owner[i]!]!++;
    });
  }

  // Preferences next: an explicit wish outranks the balance bound, so these take room first.
  const weighted = new Uint8Array(prepared.length);
  prepared.forEach((p, i) => {
    if (owner[i]! >= 0 || p.weights.length === 0) return;
    const top = Math.max(0, ...p.weights);
    if (top === 0) return;
    const best = bestRanked(p, nodes.names, (j) => p.weights[j] === top);
    owner[i] = p.nodes[best]!;
    weighted[i] = 1;
    load[owner[i]!]!++;
  });

  const open = prepared.flatMap((p, i) => (owner[i]! < 0 && p.nodes.length > 0 ? [i] : []));
  const room = Array.from(load, (held) => Math.max(0, capacity - held));
  const matched = stableAssignment(
    open.map((i) => prepared[i]!),
    nodes.names,
    room,
  );
  open.forEach((i, k) => {
    owner[i] = matched[k]!;
    if (owner[i]! >= 0) load[owner[i]!]!++;
  });
  // Rejected everywhere: the eligibility makes the bound impossible, so take the least-loaded candidate.
  const overloaded = new Uint8Array(prepared.length);
  for (const i of open) {
    if (owner[i]! >= 0) continue;
    const p = prepared[i]!;
    const fewest = Math.min(...p.nodes.map((n) => load[n]!));
    const j = bestRanked(p, nodes.names, (c) => load[p.nodes[c]!] === fewest);
    owner[i] = p.nodes[j]!;
    overloaded[i] = 1;
    load[owner[i]!]!++;
  }

  const assignments = new Map<string, Assignment>();
  prepared.forEach((p, i) => {
    const how =
      kept[i] === 1
        ? 'kept'
        : weighted[i] === 1
          ? 'weighted'
          : overloaded[i] === 1
            ? 'overloaded'
            : undefined;
    assignments.set(p.ip, describe(p, owner[i]!, how, nodes.names));
  });
  const loads = new Map<string, number>();
  nodes.names.forEach((name, i) => {
    if (load[i]! > 0) loads.set(name, load[i]!);
  });
  return { assignments, capacity, load: loads };
}

function describe(
  p: Prepared,
  owner: number,
  how: 'kept' | 'weighted' | 'overloaded' | undefined,
  names: readonly string[],
): Assignment {
  if (owner < 0) {
    return { ip: p.ip, owner: undefined, reason: p.anyEligible ? 'noLiveEligibleNode' : 'noEligibleNode' };
  }
  const name = names[owner]!;
  if (how) return { ip: p.ip, owner: name, reason: how };
  return { ip: p.ip, owner: name, reason: p.first === owner ? 'preferred' : 'balanced' };
}

/** Position (into `p.nodes`) of the best-ranked candidate passing `filter`; -1 if none does. */
function bestRanked(p: Proposer, names: readonly string[], filter: (j: number) => boolean): number {
  let best = -1;
  for (let j = 0; j < p.nodes.length; j++) {
    if (!filter(j)) continue;
    if (best < 0 || ranksAbove(p.scores[j]!, names[p.nodes[j]!]!, p.scores[best]!, names[p.nodes[best]!]!)) {
      best = j;
    }
  }
  return best;
}

/**
 * Canonical IP → eligible nodes (intersected over duplicate entries) and preference weights (added
 * up over them), sorted by IP.
 */
function mergeEligibility(
  ips: readonly IpEligibility[],
): [string, Iterable<string>, ReadonlyMap<string, number> | undefined][] {
  const merged = new Map<string, { eligible: Iterable<string>; preference?: Map<string, number> }>();
  const addWeights = (
    into: Map<string, number> | undefined,
    from: ReadonlyMap<string, number> | undefined,
  ) => {
    if (!from || from.size === 0) return into;
    const out = into ?? new Map<string, number>();
    for (const [node, w] of from) out.set(node, (out.get(node) ?? 0) + w);
    return out;
  };
  for (const { ip, eligible, preference } of ips) {
    const key = canonicalIp(ip);
    const earlier = merged.get(key);
    if (earlier === undefined) {
      merged.set(key, { eligible, preference: addWeights(undefined, preference) });
    } else {
      const nodes = new Set(eligible);
      merged.set(key, {
        eligible: new Set([...earlier.eligible].filter((n) => nodes.has(n))),
        preference: addWeights(earlier.preference, preference),
      });
    }
  }
  return [...merged]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([ip, m]) => [ip, m.eligible, m.preference]);
}

/** Canonical IP → the live nodes claiming it. */
function claimantsByIp(
  claims: ReadonlyMap<string, Iterable<string>>,
  live: ReadonlySet<string>,
  weak: ReadonlySet<string> | undefined,
): Map<string, Set<string>> {
  const byIp = new Map<string, Set<string>>();
  for (const [node, ips] of claims) {
    if (!live.has(node)) continue;
    for (const ip of ips) {
      const key = canonicalIp(ip);
      const set = byIp.get(key) ?? new Set<string>();
      set.add(node);
      byIp.set(key, set);
    }
  }
  if (weak && weak.size > 0) {
    for (const set of byIp.values()) {
      const strong = [...set].filter((n) => !weak.has(n));
      if (strong.length > 0 && strong.length < set.size) for (const n of weak) set.delete(n);
    }
  }
  return byIp;
}

/** The live nodes, indexed in name order, with their digests. */
class NodeTable {
  readonly names: string[];
  readonly digests: Digest[];
  private readonly indices = new Map<string, number>();

  constructor(live: ReadonlySet<string>) {
    this.names = [...live].sort();
    this.digests = this.names.map(nodeDigest);
    this.names.forEach((name, i) => {
      this.indices.set(name, i);
    });
  }

  indexOf(name: string): number | undefined {
    return this.indices.get(name);
  }
}
