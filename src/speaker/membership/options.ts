/** Tunables of the heartbeat membership, with defaults and a one-line error for bad combinations. */
import { maxHeartbeatOverhead, RELAY_OVERHEAD } from './codec.js';

export interface MembershipOptions {
  /** Heartbeats go to every peer this often. */
  intervalMs: number;
  /** A member with no valid heartbeat for this long is down. Also how long a starting node stays joining. */
  timeoutMs: number;
  /**
   * A peer not heard directly for this long is listed as unheard in our heartbeats, which asks other
   * members to relay its heartbeats to us. Between intervalMs and timeoutMs.
   */
  suspectAfterMs: number;
  /** How many members relay a suspect's heartbeats to each member that asks. 0 disables relaying. */
  relayFanout: number;
  /** At most this many unheard peers are listed in a heartbeat (the most recently heard first). */
  maxUnheard: number;
  /** Every datagram, relays included, stays within this size; larger claim lists are sent in chunks. */
  maxDatagramBytes: number;
}

export const DEFAULT_MEMBERSHIP_OPTIONS: Readonly<MembershipOptions> = {
  intervalMs: 100,
  timeoutMs: 300,
  suspectAfterMs: 150,
  relayFanout: 3,
  maxUnheard: 16,
  maxDatagramBytes: 1400,
};

/** Room for at least one IPv6 address per chunk beside the largest headers. */
const MIN_CLAIM_ROOM = 16;

export function membershipOptions(given: Partial<MembershipOptions> = {}): MembershipOptions {
  const o = { ...DEFAULT_MEMBERSHIP_OPTIONS, ...given };
  const minDatagram = maxHeartbeatOverhead(o.maxUnheard) + RELAY_OVERHEAD + MIN_CLAIM_ROOM;
  const problem = !Object.values(o).every((v) => Number.isInteger(v) && v >= 0)
    ? 'every option must be a non-negative integer'
    : o.intervalMs < 1
      ? 'the interval must be at least 1 ms'
      : !(o.intervalMs < o.suspectAfterMs && o.suspectAfterMs < o.timeoutMs)
        ? 'the interval must be shorter than suspectAfter, and suspectAfter shorter than the timeout'
        : o.relayFanout > 8
          ? 'relayFanout must be at most 8'
          : o.maxUnheard > 64
            ? 'maxUnheard must be at most 64'
            : o.maxDatagramBytes < minDatagram || o.maxDatagramBytes > 65_507
              ? `maxDatagramBytes must be between ${minDatagram} and 65507`
              : undefined;
  if (problem) {
    throw new RangeError(
      `invalid membership options (interval ${o.intervalMs} ms, suspectAfter ${o.suspectAfterMs} ms, timeout ${o.timeoutMs} ms, relayFanout ${o.relayFanout}, maxUnheard ${o.maxUnheard}, maxDatagramBytes ${o.maxDatagramBytes}): ${problem}`,
    );
  }
  return o;
}
