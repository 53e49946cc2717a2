/** What one member knows about one peer, and the ordering rules for the peer's datagrams. */
import { ClaimsAssembler } from './chunks.js';
import type { Heartbeat } from './codec.js';
import type { DelayBase } from './delay.js';

export type MemberState = 'unknown' | 'joining' | 'alive' | 'left' | 'down';

export interface PeerRecord {
  readonly name: string;
  readonly tag: string;
  /** Undefined once the peer is no longer configured (its record stays, to keep rejecting replays). */
  address: string | undefined;
  configuredAt: number;
  state: MemberState;
  incarnation: number | undefined;
  seq: number;
  /** Freshest evidence of life: a direct heartbeat's arrival, or a relayed one's arrival minus its age. */
  lastHeardAt: number | undefined;
  lastDirectAt: number | undefined;
  /** Tags of the peers it does not hear, from its latest heartbeat. */
  unheard: ReadonlySet<string>;
  /** Its latest heartbeat said it sees no majority (codec.ts). */
  minority: boolean;
  claims: ClaimsAssembler;
  /** Its latest datagram heard directly, kept to relay on request. */
  latest: { bytes: Buffer; at: number } | undefined;
  /** The least delay seen, as (arrival − its `sentAt`), with the time it was last updated (delay.ts). */
  delay: DelayBase | undefined;
}

export function newPeerRecord(name: string, tag: string, address: string, now: number): PeerRecord {
  return {
    name,
    tag,
    address,
    configuredAt: now,
    state: 'unknown',
    incarnation: undefined,
    seq: -1,
    lastHeardAt: undefined,
    lastDirectAt: undefined,
    unheard: new Set(),
    minority: false,
    claims: new ClaimsAssembler(),
    latest: undefined,
    delay: undefined,
  };
}

export type Ordering = 'newLife' | 'next' | 'duplicate' | 'replayed' | 'staleIncarnation';

/** How a heartbeat relates to what we accepted from the same peer before. */
export function ordering(record: PeerRecord, h: Heartbeat): Ordering {
  if (record.incarnation === undefined || h.incarnation > record.incarnation) return 'newLife';
  if (h.incarnation < record.incarnation) return 'staleIncarnation';
  if (h.seq === record.seq) return 'duplicate';
  return h.seq > record.seq ? 'next' : 'replayed';
}

/** The state a heartbeat puts its sender in; a member that left stays gone until its next life. */
export function stateAfter(record: PeerRecord, h: Heartbeat, newLife: boolean): MemberState {
  if (record.state === 'left' && !newLife) return 'left';
  return h.status === 'leaving' ? 'left' : h.status;
}
