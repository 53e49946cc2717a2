/**
 * Which IPs this node answers ARP/NDP for now: the placement, made safe against the moments when
 * speakers' views differ. Pure; the shell diffs `answer` against what it answers, sends gratuitous ARP /
 * unsolicited NA for `start`, and lists `answer` as its claims in the next heartbeat.
 *
 * Losing an IP. An IP we answer but no longer own is dropped at once.
 *
 * Taking an IP.
 *  - Failover: no live peer that is still eligible for the IP claims it (its owner is down, leaving or
 *    no longer eligible): answer at once. A leaving owner keeps answering until it sees our claim
 *    (membership/handover.ts), so a graceful hand-over is make-before-break.
 *  - Contested move: a live eligible peer still claims it (a node returned in revertive mode, a
 *    rebalance, a healed partition). That peer computes the same placement and drops the IP at once,
 *    and its next heartbeat (sent immediately when its claims change) no longer lists it; only then do
 *    we start. Break-before-make: never two responders, at the cost of a gap of about one network
 *    delay, during which clients with a cached ARP entry still reach the old node.
 *
 * Yielding. A live peer that does not hear us (it lists us as unheard) computes its placement without
 * us and cannot see our claims. If it claims an IP we own, we stop answering for it instead of
 * answering twice (one-way links, see membership/members.ts). We keep claiming it (claimsOf), so it
 * stays ours in every speaker's placement and nobody else takes it while the deaf peer answers; a node
 * that was cut off, deaf for a heartbeat or two after the heal, then drops it again.
 */
import { canonicalIp, type IpEligibility, type Placement } from './placement.js';

export interface PeerClaims {
  readonly node: string;
  /** The IPs it answers for, as listed in its latest heartbeats (canonical text). */
  readonly claims: ReadonlySet<string>;
  /** False when its latest heartbeat lists us as a member it does not hear. */
  readonly hearsUs: boolean;
}

export interface AnswerInput {
  readonly self: string;
  readonly placement: Placement;
  /** The IPs this node answers for now. */
  readonly answering: ReadonlySet<string>;
  /** Live peers (alive, neither joining nor leaving). */
  readonly peers: readonly PeerClaims[];
  readonly isEligible: (ip: string, node: string) => boolean;
}

/** Why an IP this node owns is not answered. */
export type Held =
  | { readonly ip: string; readonly reason: 'waitingForRelease'; readonly holder: string }
  | { readonly ip: string; readonly reason: 'yieldedToPeerThatCannotHearUs'; readonly holder: string };

export interface Answers {
  readonly answer: ReadonlySet<string>;
  readonly start: readonly string[];
  readonly stop: readonly string[];
  readonly held: readonly Held[];
}

export function decideAnswers(input: AnswerInput): Answers {
  const { self, placement, answering, peers, isEligible } = input;
  const answer = new Set<string>();
  const start: string[] = [];
  const held: Held[] = [];
  for (const [ip, assignment] of placement.assignments) {
    if (assignment.owner !== self) continue;
    const claimants = peers.filter((p) => p.claims.has(ip));
    const deaf = claimants.find((p) => !p.hearsUs);
    if (deaf) {
      held.push({ ip, reason: 'yieldedToPeerThatCannotHearUs', holder: deaf.node });
      continue;
    }
    if (!answering.has(ip)) {
      const holder = claimants.find((p) => isEligible(ip, p.node));
      if (holder) {
        held.push({ ip, reason: 'waitingForRelease', holder: holder.node });
        continue;
      }
      start.push(ip);
    }
    answer.add(ip);
  }
  const stop = [...answering].filter((ip) => !answer.has(ip));
  return { answer, start, stop, held };
}

/**
 * What a node claims in its heartbeats: the IPs it answers, and those it owns but yields to a peer that
 * cannot hear it. Keeping the yielded ones claimed keeps them its own in every speaker's placement: a
 * cut-off node coming back (deaf for a heartbeat or two, and claiming everything) does not win them in
 * non-revertive mode, and a peer that stays deaf answers alone while nobody else takes them.
 */
export function claimsOf(answers: Answers): Set<string> {
  const claims = new Set(answers.answer);
  for (const h of answers.held) if (h.reason === 'yieldedToPeerThatCannotHearUs') claims.add(h.ip);
  return claims;
}

/** `isEligible` for decideAnswers from the same list given to `place`. */
export function eligibilityLookup(ips: readonly IpEligibility[]): (ip: string, node: string) => boolean {
  const byIp = new Map<string, Set<string>>();
  for (const { ip, eligible } of ips) {
    const key = canonicalIp(ip);
    const nodes = new Set(eligible);
    const earlier = byIp.get(key);
    byIp.set(key, earlier ? new Set([...earlier].filter((n) => nodes.has(n))) : nodes);
  }
  return (ip, node) => byIp.get(canonicalIp(ip))?.has(node) ?? false;
}
