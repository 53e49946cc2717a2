import { type IPFamily, isBuggyIPv4 } from '../../api/address.js';
import type { Pool } from '../../api/pool.js';
import { IntervalSet } from './interval-set.js';

/**
 * The addresses of one family of one pool: which are in use, and which were freed recently and are
 * held down (not handed out again while other addresses are free). Memory grows with the number of
 * runs of used addresses, never with the pool's size, and every operation is O(log runs).
 *
 * Sets are kept in "slot" space. Normally a slot is the address itself; in an IPv4 pool that avoids
 * buggy addresses, slots number only the addresses ending in .1–.254, so the .0/.255 gaps vanish and
 * a search never has to step over them one by one.
 */
export class PoolSpace {
  /** Slots of addresses held by at least one Service. */
  private readonly used = new IntervalSet();
  /** Used or held down: skipped by the first search. */
  private readonly blocked = new IntervalSet();
  /** Held-down slot -> time its hold ends. */
  private readonly held = new Map<bigint, number>();
  /** The pool's ranges of this family, in slot space, ascending. */
  private readonly slots: readonly { first: bigint; last: bigint }[];
  private readonly compact: boolean;

  constructor(
    readonly pool: Pool,
    readonly family: IPFamily,
  ) {
    this.compact = family === 'IPv4' && pool.avoidBuggyIPs;
    this.slots = pool.ranges
      .filter((r) => r.family === family)
      .map((r) => (this.compact ? compactRange(r.first, r.last) : { first: r.first, last: r.last }))
      .filter((r): r is { first: bigint; last: bigint } => r !== undefined);
  }

  /** Whether the pool may hand this address out at all (in its ranges, not excluded, not avoided). */
  allows(value: bigint): boolean {
    if (this.compact && isBuggyIPv4(value)) return false;
    const slot = this.slotOf(value);
    return this.slots.some((r) => r.first <= slot && slot <= r.last);
  }

  isUsed(value: bigint): boolean {
    return this.allows(value) && this.used.has(this.slotOf(value));
  }

  get inUse(): bigint {
    return this.used.size;
  }

  /** Addresses held down right now (they count as free). */
  get heldDown(): number {
    return this.held.size;
  }

  markUsed(value: bigint): void {
    const slot = this.slotOf(value);
    this.used.add(slot);
    this.blocked.add(slot);
    this.held.delete(slot);
  }

  /** The last holder let go: hold the address down if the pool asks for it (returns until when). */
  markFree(value: bigint, now: number): number | undefined {
    const slot = this.slotOf(value);
    this.used.delete(slot);
    if (this.pool.holdDownMs > 0) {
      const until = now + this.pool.holdDownMs;
      this.held.set(slot, until);
      return until;
    }
    this.blocked.delete(slot);
    return undefined;
  }

  /** Holds a free address down until the given time (carrying a hold over to a new configuration). */
  holdUntil(value: bigint, until: number): void {
    const slot = this.slotOf(value);
    if (this.used.has(slot)) return;
    this.blocked.add(slot);
    this.held.set(slot, until);
  }

  /** Ends a hold if it is due (a later release may have extended it). */
  endHold(value: bigint, now: number): void {
    const slot = this.slotOf(value);
    const until = this.held.get(slot);
    if (until === undefined || until > now) return;
    this.held.delete(slot);
    if (!this.used.has(slot)) this.blocked.delete(slot);
  }

  /** The lowest address nobody uses, preferring ones that are not held down. */
  lowestFree(): bigint | undefined {
    const slot = this.scan(this.blocked) ?? (this.held.size > 0 ? this.scan(this.used) : undefined);
    return slot === undefined ? undefined : this.valueOf(slot);
  }

  private scan(taken: IntervalSet): bigint | undefined {
    for (const range of this.slots) {
      const candidate = taken.firstAbsentFrom(range.first);
      if (candidate <= range.last) return candidate;
    }
    return undefined;
  }

  private slotOf(value: bigint): bigint {
    return this.compact ? (value >> 8n) * 254n + (value & 255n) - 1n : value;
  }

  private valueOf(slot: bigint): bigint {
    return this.compact ? ((slot / 254n) << 8n) | ((slot % 254n) + 1n) : slot;
  }
}

/** [first, last] in compact slots: the non-buggy addresses inside it, or undefined if there are none. */
function compactRange(first: bigint, last: bigint): { first: bigint; last: bigint } | undefined {
  const up = (v: bigint) => ((v & 255n) === 0n ? v + 1n : (v & 255n) === 255n ? v + 2n : v);
  const down = (v: bigint) => ((v & 255n) === 255n ? v - 1n : (v & 255n) === 0n ? v - 2n : v);
  const a = up(first);
  const b = down(last);
  if (a > b) return undefined;
  const slot = (v: bigint) => (v >> 8n) * 254n + (v & 255n) - 1n;
  return { first: slot(a), last: slot(b) };
}
