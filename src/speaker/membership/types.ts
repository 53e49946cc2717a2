/** The membership state machine's inputs, outputs and view (members.ts). */
import type { MemberStatus } from './codec.js';
import type { Keyring } from './keyring.js';
import type { MembershipOptions } from './options.js';
import type { MemberState } from './peer-record.js';

export type { MemberState } from './peer-record.js';

export interface Peer {
  readonly name: string;
  /** Where to send it datagrams; opaque to this module (the shell's socket address). */
  readonly address: string;
}

export type ChangeCause = 'heartbeat' | 'restart' | 'leaving' | 'timeout' | 'removed' | 'joined';

export type MemberChange =
  | {
      readonly kind: 'state';
      readonly member: string;
      readonly from: MemberState;
      readonly to: MemberState;
      readonly cause: ChangeCause;
      readonly at: number;
      readonly incarnation: number | undefined;
      /** For a timeout, the evidence it expired from: detection latency is `at - lastHeardAt`. */
      readonly lastHeardAt: number | undefined;
    }
  | {
      readonly kind: 'claims';
      readonly member: string;
      readonly at: number;
      readonly claims: ReadonlySet<string>;
    }
  /** Whether the member hears us or sees a majority changed (for this node: its own minority flag). */
  | { readonly kind: 'flags'; readonly member: string; readonly at: number };

export interface Datagram {
  readonly to: string;
  readonly address: string;
  readonly bytes: Buffer;
}

export interface Output {
  readonly send: Datagram[];
  readonly changes: MemberChange[];
  /** Why a received datagram changed nothing (a one-line reason), for metrics and debug logs. */
  readonly ignored?: string;
}

export interface MemberView {
  readonly name: string;
  readonly state: MemberState;
  readonly incarnation: number | undefined;
  readonly lastHeardAt: number | undefined;
  /** Heard directly within suspectAfterMs (otherwise alive only through relays, if at all). */
  readonly direct: boolean;
  /** False when its latest heartbeat lists us as unheard. */
  readonly hearsUs: boolean;
  /** Its latest heartbeat said it sees no majority of the members (or did a moment ago). */
  readonly minority: boolean;
  readonly claims: ReadonlySet<string>;
}

export interface MembershipView {
  readonly self: string;
  readonly status: MemberStatus;
  /** Configured peers, by name. */
  readonly peers: readonly MemberView[];
  /** Members that placement may use: this node if alive, and peers in state `alive`; sorted. */
  readonly live: readonly string[];
  /** This node sees no strict majority of its configured members alive, or did within the grace. */
  readonly minority: boolean;
}

export interface MembershipConfig {
  readonly self: string;
  /**
   * Increasing across restarts of this node: its start time in wall-clock ms (below 2^48). Peers
   * ignore a lower incarnation as a replay, so a clock stepped back across a restart delays the new
   * life until it passes the old value; a shell that cares can persist the last value on the host.
   */
  readonly incarnation: number;
  readonly keyring: Keyring;
  readonly options?: Partial<MembershipOptions>;
}
