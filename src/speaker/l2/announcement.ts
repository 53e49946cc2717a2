// When to send unsolicited announcements for VIPs this node has just taken over. A new owner sends
// at once, then every interval until the duration has passed (defaults: every 1 s for 5 s, six
// rounds), so a neighbor that missed one packet still switches quickly. Losing a VIP sends nothing:
// the old owner just stops answering. Pure state; the shell keeps one timer at `nextWakeAt`.
import { AddressError } from '../../api/address.js';
import { parseIpBytes } from './ip-bytes.js';

/** Request form first: it is the one Linux accepts within `locktime` of a previous update. */
export type AnnouncementKind = 'garp-request' | 'garp-reply' | 'unsolicited-na';

const IPV4_KINDS: readonly AnnouncementKind[] = ['garp-request', 'garp-reply'];
const IPV6_KINDS: readonly AnnouncementKind[] = ['unsolicited-na'];

export interface DueAnnouncement {
  /** Canonical text of the VIP. */
  vip: string;
  /** The VIP's 4 or 16 bytes. */
  address: Buffer;
  kind: AnnouncementKind;
}

export interface AnnouncementScheduleOptions {
  /** Time between rounds; default 1000 ms. */
  intervalMs?: number;
  /** Rounds go out at takeover + k × interval while k × interval ≤ duration; default 5000 ms. */
  durationMs?: number;
}

export interface DueAnnouncements {
  send: DueAnnouncement[];
  /** When to call `due` again; undefined when no burst is in progress. */
  nextWakeAt: number | undefined;
}

interface OwnedVip {
  address: Buffer;
  kinds: readonly AnnouncementKind[];
  takeoverAt: number;
  /** Undefined once the burst is over; the VIP stays owned. */
  nextRoundAt: number | undefined;
}

export class AnnouncementSchedule {
  private readonly intervalMs: number;
  private readonly durationMs: number;
  private readonly owned = new Map<string, OwnedVip>();

  constructor(options: AnnouncementScheduleOptions = {}) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.durationMs = options.durationMs ?? 5000;
    if (!Number.isFinite(this.intervalMs) || this.intervalMs <= 0) {
      throw new RangeError(`announcement interval ${this.intervalMs} ms must be a positive number`);
    }
    if (!Number.isFinite(this.durationMs) || this.durationMs < 0) {
      throw new RangeError(`announcement duration ${this.durationMs} ms must be zero or more`);
    }
  }

  /**
   * This node became the owner of `vip` at `now`: a burst starts, its first round due at once.
   * Owning an already owned VIP changes nothing and returns false. Throws AddressError if `vip` is
   * not an IP address.
   */
  own(vip: string, now: number): boolean {
    const parsed = parseIpBytes(vip);
    if (!parsed.ok) throw new AddressError(parsed.error);
    if (this.owned.has(parsed.value.text)) return false;
    this.owned.set(parsed.value.text, {
      address: parsed.value.bytes,
      kinds: parsed.value.family === 'IPv4' ? IPV4_KINDS : IPV6_KINDS,
      takeoverAt: now,
      nextRoundAt: now,
    });
    return true;
  }

  /** This node lost `vip`: any burst in progress stops. Returns whether it was owned. */
  disown(vip: string): boolean {
    const key = canonical(vip);
    return key !== undefined && this.owned.delete(key);
  }

  /**
   * Starts a new burst for an owned VIP, e.g. when an interface it is announced on came up or
   * changed its MAC. Returns false if `vip` is not owned.
   */
  reannounce(vip: string, now: number): boolean {
    const entry = this.owned.get(canonical(vip) ?? '');
    if (!entry) return false;
    entry.takeoverAt = now;
    entry.nextRoundAt = now;
    return true;
  }

  isOwned(vip: string): boolean {
    return this.owned.has(canonical(vip) ?? '');
  }

  /**
   * The announcements to send now. A round missed by a late call is sent once, not caught up, and
   * the next one keeps to the takeover's cadence.
   */
  due(now: number): DueAnnouncements {
    const send: DueAnnouncement[] = [];
    for (const [vip, entry] of this.owned) {
      if (entry.nextRoundAt === undefined || entry.nextRoundAt > now) continue;
      for (const kind of entry.kinds) send.push({ vip, address: Buffer.from(entry.address), kind });
      const roundsSoFar = Math.floor((now - entry.takeoverAt) / this.intervalMs) + 1;
      const offset = roundsSoFar * this.intervalMs;
      entry.nextRoundAt = offset <= this.durationMs ? entry.takeoverAt + offset : undefined;
    }
    return { send, nextWakeAt: this.nextWakeAt() };
  }

  nextWakeAt(): number | undefined {
    let earliest: number | undefined;
    for (const { nextRoundAt } of this.owned.values()) {
      if (nextRoundAt !== undefined && (earliest === undefined || nextRoundAt < earliest)) {
        earliest = nextRoundAt;
      }
    }
    return earliest;
  }
}

function canonical(vip: string): string | undefined {
  const parsed = parseIpBytes(vip);
  return parsed.ok ? parsed.value.text : undefined;
}
