/**
 * Spotting a heartbeat that arrives late. Clocks of two nodes are not synchronised, but (arrival on our
 * clock − `sentAt` on theirs) is the network delay plus a constant offset; its least value seen is the
 * offset plus the quickest delivery. A heartbeat that took much longer than that was held somewhere:
 * typically in the kernel's queue for an unresolved neighbour while a link was down, released when the
 * link comes back, seconds later and in front of the fresh ones. Taken as new, its old claims and flags
 * would undo what the cluster decided meanwhile (a node cut off "returns" claiming what it held before).
 *
 * The baseline may rise by DRIFT_PER_MS per ms (1 ms/s), so clocks running at rates up to 1000 ppm apart
 * never make fresh heartbeats look late, and it is learned afresh with every incarnation of the sender.
 */
export interface DelayBase {
  readonly least: number;
  readonly at: number;
}

const DRIFT_PER_MS = 0.001;

export type DelayVerdict =
  | { readonly late: false; readonly base: DelayBase }
  | { readonly late: true; readonly byMs: number };

/** Judges a heartbeat sent at `sentAt` (sender's clock) and heard at `heardAt` (ours), `now` being ours. */
export function judgeDelay(
  base: DelayBase | undefined,
  sentAt: number,
  heardAt: number,
  now: number,
  limitMs: number,
): DelayVerdict {
  const seen = heardAt - sentAt;
  if (base === undefined) return { late: false, base: { least: seen, at: now } };
  const least = base.least + DRIFT_PER_MS * Math.max(0, now - base.at);
  if (seen - least > limitMs) return { late: true, byMs: seen - least };
  return { late: false, base: { least: Math.min(least, seen), at: now } };
}
