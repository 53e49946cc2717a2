/**
 * Why this node took an address over, for the Event on the Service and the failover metric. Pure:
 * the speaker remembers how each member left (from the membership changes) and which addresses it
 * answered for then; this turns that into one sentence and the failover duration.
 */
import type { ChangeCause } from '../membership/types.js';

export interface Departure {
  member: string;
  cause: ChangeCause;
  /**
   * When the member was last heard, on the speaker's clock: the start of the outage. For a restart
   * (a new process heard before the old one was missed), when the new process was first heard.
   */
  silentSince: number;
}

/**
 * A restarted speaker does not announce at once (its caches sync first), so a peer takes its
 * addresses while it is live: within this long of the restart, the restart is the cause.
 */
const RESTART_CAUSE_WINDOW_MS = 5_000;

export interface TakeoverContext {
  self: string;
  /**
   * The node that announced the Service before, if any: its ServiceL2Status, or, once that is gone,
   * the member the membership saw announce the address when it left.
   */
  previous: string | undefined;
  /** Live members now. */
  live: ReadonlySet<string>;
  /** Nodes that may announce the address now. */
  eligible: ReadonlySet<string> | undefined;
  /** How the previous node left the membership (or restarted), if it did. */
  departure: Departure | undefined;
  /** The speaker's clock now. */
  now: number;
}

export function takeoverCause(c: TakeoverContext): string {
  const prev = c.previous;
  if (prev === undefined || prev === c.self) return 'first announcement of this Service';
  if (!c.live.has(prev)) {
    if (c.departure?.cause === 'leaving') return `took over from ${prev}, whose speaker is shutting down`;
    return `took over from ${prev}, whose speaker stopped answering heartbeats (node down or cut off)`;
  }
  const d = c.departure;
  if (d?.cause === 'restart' && c.now - d.silentSince <= RESTART_CAUSE_WINDOW_MS) {
    return `took over from ${prev}, whose speaker restarted (killed or crashed, and back before it was missed)`;
  }
  if (c.eligible && !c.eligible.has(prev)) {
    return `took over from ${prev}, which may no longer announce it (NetworkUnavailable, excluded from load balancers, not selected by an L2Advertisement, or no ready local endpoint)`;
  }
  return `took over from ${prev}: placement moved it after the set of live or eligible nodes changed`;
}

/** Seconds from the previous owner's last heartbeat to our first announcement, for a death or cut only. */
export function failoverSeconds(departure: Departure | undefined, now: number): number | undefined {
  if (!departure || departure.cause === 'leaving' || departure.cause === 'restart') return undefined;
  return Math.max(0, now - departure.silentSince) / 1000;
}
