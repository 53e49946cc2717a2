/**
 * Runs a Membership on a Clock: decodes what arrives, ticks it at the deadlines it asks for, and hands
 * its datagrams and changes to callbacks. This is the loop the speaker's heartbeat worker runs around a
 * UDP socket; with the fake clock and an in-memory "socket" it runs in tests exactly as in production.
 */
import type { Clock, Timer } from '../../util/clock.js';
import { decode } from './codec.js';
import type { Keyring } from './keyring.js';
import type { Membership } from './members.js';
import type { Datagram, MemberChange, Output, Peer } from './types.js';

export interface MembershipDriverOptions {
  readonly membership: Membership;
  readonly keyring: Keyring;
  readonly clock: Clock;
  readonly send: (datagram: Datagram) => void;
  readonly onChanges?: (changes: readonly MemberChange[]) => void;
  /** A datagram was rejected by the decoder or ignored by the state machine (for metrics and debug logs). */
  readonly onDropped?: (reason: string) => void;
}

export class MembershipDriver {
  private timer: Timer | undefined;
  private stopped = false;

  constructor(private readonly options: MembershipDriverOptions) {
    this.apply(options.membership.tick(options.clock.now()));
  }

  received(bytes: Uint8Array): void {
    if (this.stopped) return;
    const decoded = decode(bytes, this.options.keyring);
    if (!decoded.ok) {
      this.options.onDropped?.(decoded.error);
      return;
    }
    this.apply(this.options.membership.received(decoded.value, this.options.clock.now()));
  }

  setPeers(peers: readonly Peer[]): void {
    this.apply(this.options.membership.setPeers(peers, this.options.clock.now()));
  }

  setClaims(ips: Iterable<string>): void {
    this.apply(this.options.membership.setClaims(ips, this.options.clock.now()));
  }

  leave(): void {
    this.apply(this.options.membership.leave(this.options.clock.now()));
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private apply(output: Output): void {
    if (this.stopped) return;
    for (const datagram of output.send) this.options.send(datagram);
    if (output.changes.length > 0) this.options.onChanges?.(output.changes);
    if (output.ignored) this.options.onDropped?.(output.ignored);
    this.timer?.cancel();
    const { clock, membership } = this.options;
    this.timer = clock.setTimer(membership.nextDeadline() - clock.now(), () => {
      this.timer = undefined;
      this.apply(membership.tick(clock.now()));
    });
  }
}
