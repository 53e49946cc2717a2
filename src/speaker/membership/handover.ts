/**
 * Graceful hand-over when a speaker stops (SIGTERM, drain, rolling upgrade): its successors announce
 * before it goes silent (make-before-break), so clients never ask into the void.
 *
 *  1. The shell calls `Membership.leave`: from now on every heartbeat says `leaving`, the first one at
 *     once and then every interval. A peer marks this node left on the first one it receives, and
 *     places this node's IPs without it; this node is no longer live for anyone.
 *  2. This node keeps answering ARP/NDP for the IPs it held (`beginHandover`), sending no gratuitous
 *     ARP, and keeps listing the IPs it still answers as its claims.
 *  3. A successor starts at once (a leaving claimant does not hold it back, election/answers.ts):
 *     gratuitous ARP / unsolicited NA moves clients to it, and its claims change, which it sends at
 *     once. When this node sees a live peer claim an IP, it stops answering that IP
 *     (`advanceHandover` → `release`). Both answer for about one network round trip, which is
 *     harmless: either node forwards the traffic.
 *  4. An IP no live peer has claimed by the deadline (no other eligible node, or the successor's
 *     heartbeats do not reach us) is released then.
 *  5. When nothing is held (`done`), the shell sets empty claims (one more leaving heartbeat) and exits.
 * The grace should stay well below the pod's terminationGracePeriodSeconds.
 */
import type { MembershipView } from './types.js';

export const DEFAULT_HANDOVER_GRACE_MS = 2_000;

export interface Handover {
  readonly startedAt: number;
  readonly deadline: number;
  /** The IPs this node still answers for. */
  readonly holding: ReadonlySet<string>;
}

export interface HandoverStep {
  readonly handover: Handover;
  /** Stop answering these now. */
  readonly release: readonly string[];
  readonly done: boolean;
}

export function beginHandover(
  answering: Iterable<string>,
  now: number,
  graceMs = DEFAULT_HANDOVER_GRACE_MS,
): Handover {
  if (!(graceMs >= 0)) throw new RangeError(`the hand-over grace must be >= 0 ms, got ${graceMs}`);
  return { startedAt: now, deadline: now + graceMs, holding: new Set(answering) };
}

/** Call on every claims change of a peer and at `handover.deadline`. */
export function advanceHandover(
  handover: Handover,
  claimedByPeers: ReadonlySet<string>,
  now: number,
): HandoverStep {
  const expired = now >= handover.deadline;
  const release = [...handover.holding].filter((ip) => expired || claimedByPeers.has(ip));
  if (release.length === 0) return { handover, release, done: handover.holding.size === 0 };
  const released = new Set(release);
  const holding = new Set([...handover.holding].filter((ip) => !released.has(ip)));
  return { handover: { ...handover, holding }, release, done: holding.size === 0 };
}

/** The IPs claimed by live peers in a membership view: what successors have taken over. */
export function claimedByLivePeers(view: MembershipView): ReadonlySet<string> {
  const claimed = new Set<string>();
  for (const peer of view.peers) {
    if (peer.state !== 'alive') continue;
    for (const ip of peer.claims) claimed.add(ip);
  }
  return claimed;
}
