/**
 * What this node does over L2, from everything the speaker knows: the Services and their addresses,
 * the pools and L2Advertisements, the nodes and endpoints (the API), and who is alive and what each
 * member answers for (the heartbeat membership). Pure: the shell feeds it and applies the result to
 * the announcer, the heartbeat claims, the ServiceL2Status objects and the Events.
 *
 * Per address: the pool it belongs to, the advertisements that apply, the nodes that may announce it
 * (eligibility.ts); Services sharing an address are placed once, on a node eligible for all of them.
 * Then placement (election/placement.ts) picks an owner, and decideAnswers makes taking over safe.
 */
import { type IPRange, tryParseIP } from '../../api/address.js';
import { interfacesFor, type L2Ad, l2Scope, nodeSelected, preferenceWeight } from '../../api/l2-policy.js';
import type { Labels } from '../../k8s/label-selector.js';
import type { Service } from '../../k8s/types.js';
import { claimsOf, decideAnswers, eligibilityLookup, type PeerClaims } from '../election/answers.js';
import { canonicalIp, type IpEligibility, type PlacementMode, place } from '../election/placement.js';
import { eligibleNodes, type NodeFacts } from '../eligibility.js';
import type { OwnedAddress } from './l2-announcer.js';

export interface PoolFacts {
  name: string;
  labels: Labels;
  ranges: readonly IPRange[];
}

export interface ServiceFacts {
  /** namespace/name */
  key: string;
  service: Service;
  /** Canonical text of the addresses in its status. */
  addresses: readonly string[];
  sharesAddress: boolean;
  endpoints: { ready: boolean; nodes: ReadonlySet<string> };
}

export interface L2PlanInput {
  self: string;
  services: readonly ServiceFacts[];
  pools: readonly PoolFacts[];
  ads: readonly L2Ad[];
  nodes: readonly NodeFacts[];
  /** Live members (this node included when it is live), from the membership view. */
  live: readonly string[];
  /** Live peers with the addresses they answer for. */
  peers: readonly PeerClaims[];
  mode: PlacementMode;
  /** Live members whose claims are weak (they see no majority): contested IPs go to the others. */
  weak?: readonly string[];
  /** What this node answers for now. */
  answering: ReadonlySet<string>;
  /** What it claims in its heartbeats now (answering, plus IPs yielded to a peer that cannot hear it). */
  claiming?: ReadonlySet<string>;
}

/** Why a Service's address is not announced over L2, or by which node and on which interfaces it is. */
export type ServiceL2State =
  | { announced: true; address: string; node: string; interfaces: 'all' | string[] }
  | { announced: false; address: string; reason: string; message: string };

export interface L2Plan {
  /** The addresses this node answers for, with their interfaces. */
  answer: Map<string, OwnedAddress>;
  /** What to claim in heartbeats: the answered IPs and those yielded to a peer that cannot hear us. */
  claims: Set<string>;
  /** Newly answered (take-overs) and dropped, for logs and the failover metric. */
  start: readonly string[];
  stop: readonly string[];
  /** Owned here but not answered yet, waiting for the previous owner to let go. */
  held: readonly { ip: string; reason: string; holder: string }[];
  /** Per Service key, per address. */
  services: Map<string, ServiceL2State[]>;
  /** Per placed address, the nodes that may announce it (live or not). */
  eligible: Map<string, ReadonlySet<string>>;
  /** Per placed address, its owner and why (for the logs of a start or stop). */
  owners: Map<string, { owner: string | undefined; reason: string }>;
}

const inRange = (ip: string, r: IPRange): boolean => {
  const a = tryParseIP(ip);
  return a !== undefined && a.family === r.family && a.value >= r.first && a.value <= r.last;
};

export function planL2(input: L2PlanInput): L2Plan {
  const nodeLabels = new Map(input.nodes.map((n) => [n.name, n.labels]));
  const ips: IpEligibility[] = [];
  const scopes = new Map<string, { ads: readonly L2Ad[] }[]>();
  const services = new Map<string, ServiceL2State[]>();
  const pending: { key: string; address: string; ads: readonly L2Ad[] }[] = [];
  for (const s of input.services) {
    const states: ServiceL2State[] = [];
    services.set(s.key, states);
    for (const raw of s.addresses) {
      const address = canonicalIp(raw);
      const pool = input.pools.find((p) => p.ranges.some((r) => inRange(address, r)));
      if (!pool) {
        states.push({
          announced: false,
          address,
          reason: 'AddressNotInPool',
          message: `${address} is in no IPAddressPool`,
        });
        continue;
      }
      const scope = l2Scope(input.ads, {
        pool: { name: pool.name, labels: pool.labels },
        service: { labels: s.service.metadata.labels, sharesAddress: s.sharesAddress },
      });
      if (!scope.announced) {
        states.push({ announced: false, address, reason: scope.reason, message: scope.message });
        continue;
      }
      const eligibility = eligibleNodes(
        s.service,
        input.nodes,
        (n) => nodeSelected(scope.ads, n.labels),
        s.endpoints,
      );
      if (!eligibility.ok) {
        states.push({ announced: false, address, reason: eligibility.reason, message: eligibility.message });
        continue;
      }
      const preference = new Map<string, number>();
      for (const node of eligibility.nodes) {
        const weight = preferenceWeight(scope.ads, nodeLabels.get(node));
        if (weight > 0) preference.set(node, weight);
      }
      ips.push({ ip: address, eligible: eligibility.nodes, ...(preference.size > 0 && { preference }) });
      const list = scopes.get(address) ?? [];
      list.push({ ads: scope.ads });
      scopes.set(address, list);
      pending.push({ key: s.key, address, ads: scope.ads });
    }
  }

  const claims = new Map(input.peers.map((p) => [p.node, p.claims] as const));
  claims.set(input.self, input.claiming ?? input.answering);
  const placement = place({ ips, live: input.live, mode: input.mode, claims, weak: new Set(input.weak) });
  const answers = decideAnswers({
    self: input.self,
    placement,
    answering: input.answering,
    peers: input.peers,
    isEligible: eligibilityLookup(ips),
  });

  for (const p of pending) {
    const assignment = placement.assignments.get(p.address);
    const states = services.get(p.key)!;
    if (!assignment?.owner) {
      states.push({
        announced: false,
        address: p.address,
        reason: 'NoLiveNode',
        message: `no node that may announce ${p.address} has a live speaker`,
      });
      continue;
    }
    states.push({
      announced: true,
      address: p.address,
      node: assignment.owner,
      interfaces: interfacesFor(p.ads, nodeLabels.get(assignment.owner)),
    });
  }

  const selfLabels = nodeLabels.get(input.self);
  const answer = new Map<string, OwnedAddress>();
  for (const ip of answers.answer) {
    // Services sharing the address may come through different advertisements: their interfaces add up.
    const all = (scopes.get(ip) ?? []).map((s) => interfacesFor(s.ads, selfLabels));
    const interfaces: OwnedAddress['interfaces'] = all.includes('all')
      ? 'all'
      : [...new Set(all.flatMap((x) => (x === 'all' ? [] : x)))].sort();
    answer.set(ip, { interfaces });
  }
  const eligible = new Map<string, ReadonlySet<string>>();
  for (const e of ips) {
    const before = eligible.get(e.ip);
    const nodes = new Set(e.eligible);
    eligible.set(e.ip, before ? new Set([...before].filter((n) => nodes.has(n))) : nodes);
  }
  return {
    answer,
    claims: claimsOf(answers),
    start: answers.start,
    stop: answers.stop,
    held: answers.held,
    services,
    eligible,
    owners: new Map(
      [...placement.assignments].map(([ip, a]) => [ip, { owner: a.owner, reason: a.reason }] as const),
    ),
  };
}
