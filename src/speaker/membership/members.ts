/**
 * Speaker-to-speaker membership: which speakers are alive, learned from UDP heartbeats between the
 * speakers only, never from the API server (which only supplies the peer list, node name → address).
 * A pure state machine: no sockets, no timers, time passed in as `now` (Clock.now(), monotonic ms).
 * The shell, a worker thread, feeds it decoded datagrams (`received`) and clock readings (`tick`,
 * ideally at `nextDeadline()`), and sends the datagrams it returns.
 *
 * Heartbeats. Every `intervalMs` (100 ms) a member sends every configured peer a heartbeat: its name,
 * incarnation, sequence number, status (joining, alive, leaving), the peers it does not hear, and a
 * chunk of the IPs it answers for (codec.ts, chunks.ts). A heartbeat is accepted only if its HMAC
 * verifies (codec.ts) and it is newer than the last one accepted from that sender: a higher
 * incarnation (a restart: a new life, whose claims start empty), or the same incarnation and a higher
 * sequence. Older ones (replays, reordering, a relayed copy of a heartbeat already heard) are ignored.
 * It is a full mesh: with n speakers each sends and receives 10 × (n − 1) datagrams a second at the
 * default interval (990 each way with 100 speakers), small in steady state (no unheard peers, one
 * chunk of claims).
 *
 * Detection. A member with no valid heartbeat for `timeoutMs` (300 ms) is down: exactly at the
 * deadline when the shell ticks at `nextDeadline()`, within timeout + interval if it ticks every
 * interval. A relayed heartbeat counts from when the relayer received it (the relay carries its
 * age), so relays add at most one network hop. A `leaving` heartbeat marks it left at once
 * (graceful hand-over, handover.ts).
 *
 * Joining. A starting member is `joining` for `timeoutMs`, long enough to hear every live peer, and
 * others do not count it as live meanwhile; otherwise it would briefly believe itself alone and
 * announce every IP. A member restarting within the timeout is seen as a new incarnation, joining,
 * so its IPs fail over at once instead of staying unanswered while it warms up.
 *
 * Asymmetric links. Liveness is direct evidence (I heard you within the timeout) plus relayed
 * evidence (relay.ts): if A stops hearing B but C hears both, A lists B as unheard, C forwards B's
 * signed heartbeats to A, and A, B and C keep the same view. If nobody can relay (two nodes, or B
 * heard by no one A hears), A declares B down while B still sees A: B then knows from A's heartbeats
 * that A does not hear it, and yields any IP A claims (election/answers.ts), so the one-way link
 * leaves one responder per IP, not two.
 *
 * Partitions. When the speakers split into groups that cannot reach each other (no relay crosses the
 * cut), each group declares the other down within `timeoutMs` and places every IP on its own members
 * (election/placement.ts). During the partition an IP may therefore have one owner per group, each
 * answering ARP/NDP on its own side: clients on each side reach a node that serves the IP, which is
 * the most a fabric cut allows. A group with no eligible node leaves the IP unanswered on its side.
 * If only speaker traffic is cut (a firewall on the membership port) while clients see both groups,
 * both owners answer the same clients until the cut heals; the speakers report the peers as down.
 * When the cut heals, the first heartbeat from a member on the other side brings it back (same
 * incarnation, higher sequence: down → alive) and every member hears every other within one
 * interval, plus one interval per lost heartbeat. With equal views every speaker computes the same
 * owners. Exactly one responder per IP follows within a second because (election/answers.ts): a node
 * that is no longer the owner stops answering the moment its view says so; a node that becomes the
 * owner while a live eligible peer still claims the IP waits until that peer's heartbeat stops
 * listing it (sent at once on a claims change), so losers go silent before winners speak; and in
 * non-revertive mode two claimants of one IP resolve to the best-ranked one. With 100 ms heartbeats
 * that is one or two intervals after the heal, plus one per lost heartbeat; the simulation in
 * simulated-cluster.test.ts checks it under 5% message loss (about 100 ms in practice).
 */
import { canonicalIp } from '../election/placement.js';
import { ClaimsAssembler, splitClaims } from './chunks.js';
import {
  encodeHeartbeat,
  encodeRelay,
  type Heartbeat,
  heartbeatOverhead,
  isNodeName,
  type MemberStatus,
  type Message,
  RELAY_OVERHEAD,
} from './codec.js';
import { judgeDelay } from './delay.js';
import type { Keyring } from './keyring.js';
import { type MembershipOptions, membershipOptions } from './options.js';
import { type MemberState, newPeerRecord, ordering, type PeerRecord, stateAfter } from './peer-record.js';
import { isChosenRelayer, RelayRequests } from './relay.js';
import { nodeTag } from './tags.js';
import type {
  ChangeCause,
  Datagram,
  MemberChange,
  MembershipConfig,
  MembershipView,
  MemberView,
  Output,
  Peer,
} from './types.js';

const NONE: Output = { send: [], changes: [] };

export class Membership {
  private readonly options: MembershipOptions;
  private readonly self: string;
  private readonly selfTag: string;
  private readonly incarnation: number;
  private readonly keyring: Keyring;
  private readonly startedAt: number;
  private status: MemberStatus = 'joining';
  private seq = 0;
  private round = 0;
  private nextHeartbeatAt: number;
  private claimsVersion = 0;
  private claimSet: ReadonlySet<string> = new Set();
  private chunks: string[][] = [[]];
  private sentUnheard: ReadonlySet<string> = new Set();
  private unheardCheckedAt = Number.NEGATIVE_INFINITY;
  private minorityUntil = Number.NEGATIVE_INFINITY;
  /** The minority flag as last reported in a change, so that its flips are reported too. */
  private reportedMinority = false;
  private readonly peers = new Map<string, PeerRecord>();
  private readonly names = new Map<string, string>();
  private readonly requests = new RelayRequests();

  constructor(config: MembershipConfig, now: number) {
    if (!isNodeName(config.self)) throw new RangeError(`"${config.self}" is not a valid node name`);
    this.options = membershipOptions(config.options);
    this.self = config.self;
    this.selfTag = nodeTag(config.self);
    this.incarnation = config.incarnation;
    this.keyring = config.keyring;
    this.startedAt = now;
    this.nextHeartbeatAt = now;
  }

  /** Replaces the configured peers (this node's own name, if listed, is skipped). */
  setPeers(peers: readonly Peer[], now: number): Output {
    const invalid = peers.find((p) => !isNodeName(p.name));
    if (invalid) throw new RangeError(`peer "${invalid.name}" is not a valid node name`);
    const changes: MemberChange[] = [];
    const wanted = new Map(peers.filter((p) => p.name !== this.self).map((p) => [p.name, p.address]));
    for (const record of this.peers.values()) {
      if (record.address === undefined || wanted.has(record.name)) continue;
      record.address = undefined;
      this.requests.update(record.name, new Set());
      if (record.state === 'alive' || record.state === 'joining')
        this.transition(record, 'down', 'removed', now, changes);
    }
    for (const [name, address] of wanted) {
      const record = this.peers.get(name);
      if (!record) {
        const tag = nodeTag(name);
        this.peers.set(name, newPeerRecord(name, tag, address, now));
        this.names.set(tag, name);
      } else {
        if (record.address === undefined) record.configuredAt = now;
        record.address = address;
      }
    }
    return { send: [], changes };
  }

  /** Sets the IPs this node answers for; a change is sent to every peer at once, all chunks. */
  setClaims(ips: Iterable<string>, now: number): Output {
    const next = new Set([...ips].map(canonicalIp));
    if (next.size === this.claimSet.size && [...next].every((ip) => this.claimSet.has(ip))) return NONE;
    this.claimSet = next;
    this.claimsVersion = (this.claimsVersion + 1) % 2 ** 32;
    const room =
      this.options.maxDatagramBytes -
      RELAY_OVERHEAD -
      heartbeatOverhead(this.self.length, this.options.maxUnheard);
    this.chunks = splitClaims(next, room);
    return {
      send: this.heartbeats(
        now,
        this.chunks.map((_, i) => i),
      ),
      changes: [],
    };
  }

  /** Starts a graceful departure: every heartbeat from now on says `leaving`, the first one at once. */
  leave(now: number): Output {
    if (this.status === 'leaving') return NONE;
    const from: MemberState = this.status === 'alive' ? 'alive' : 'joining';
    this.status = 'leaving';
    const change: MemberChange = {
      kind: 'state',
      member: this.self,
      from,
      to: 'left',
      cause: 'leaving',
      at: now,
      incarnation: this.incarnation,
      lastHeardAt: now,
    };
    return {
      send: this.heartbeats(
        now,
        this.chunks.map((_, i) => i),
      ),
      changes: [change],
    };
  }

  tick(now: number): Output {
    const changes: MemberChange[] = [];
    let announce = false;
    if (this.status === 'joining' && now >= this.startedAt + this.options.timeoutMs) {
      this.status = 'alive';
      announce = true;
      changes.push({
        kind: 'state',
        member: this.self,
        from: 'joining',
        to: 'alive',
        cause: 'joined',
        at: now,
        incarnation: this.incarnation,
        lastHeardAt: now,
      });
    }
    for (const record of this.peers.values()) {
      const live = record.state === 'alive' || record.state === 'joining';
      if (live && record.lastHeardAt !== undefined && now >= record.lastHeardAt + this.options.timeoutMs) {
        this.transition(record, 'down', 'timeout', now, changes);
        this.requests.update(record.name, new Set());
      }
    }
    this.reportMinority(now, changes);
    // A new suspect is asked about at once, so relays start before its timeout.
    if (this.unheardTags(now).some((tag) => !this.sentUnheard.has(tag))) announce = true;
    this.unheardCheckedAt = now;
    const scheduled = now >= this.nextHeartbeatAt;
    if (scheduled) {
      const next = this.nextHeartbeatAt + this.options.intervalMs;
      this.nextHeartbeatAt = next > now ? next : now + this.options.intervalMs;
    }
    if (!scheduled && !announce) return { send: [], changes };
    const chunk = this.round++ % this.chunks.length;
    return { send: this.heartbeats(now, [chunk]), changes };
  }

  /** The earliest time `tick` has something to do. */
  nextDeadline(): number {
    let next = this.nextHeartbeatAt;
    if (this.status === 'joining') next = Math.min(next, this.startedAt + this.options.timeoutMs);
    if (this.reportedMinority) next = Math.min(next, this.minorityUntil);
    for (const record of this.peers.values()) {
      if ((record.state === 'alive' || record.state === 'joining') && record.lastHeardAt !== undefined) {
        next = Math.min(next, record.lastHeardAt + this.options.timeoutMs);
      }
      if (record.address !== undefined && record.state !== 'left') {
        const suspectAt = this.directSince(record) + this.options.suspectAfterMs;
        if (suspectAt > this.unheardCheckedAt) next = Math.min(next, suspectAt);
      }
    }
    return next;
  }

  received(message: Message, now: number): Output {
    if (message.type === 'heartbeat') return this.accept(message.heartbeat, message.bytes, now, now, true);
    const relayer = this.names.get(message.relayer);
    if (relayer === undefined || this.peers.get(relayer)?.address === undefined) {
      return ignored(`relay from unknown member tag ${message.relayer}`);
    }
    if (message.ageMs >= this.options.timeoutMs)
      return ignored(`relay from ${relayer} held ${message.ageMs} ms`);
    return this.accept(message.heartbeat, message.bytes, now, now - message.ageMs, false);
  }

  view(now: number): MembershipView {
    const peers: MemberView[] = [];
    for (const r of this.peers.values()) {
      if (r.address === undefined) continue;
      peers.push({
        name: r.name,
        state: r.state,
        incarnation: r.incarnation,
        lastHeardAt: r.lastHeardAt,
        direct: r.lastDirectAt !== undefined && now - r.lastDirectAt < this.options.suspectAfterMs,
        hearsUs: !r.unheard.has(this.selfTag),
        minority: r.minority,
        claims: r.claims.claims,
      });
    }
    peers.sort((a, b) => (a.name < b.name ? -1 : 1));
    const live = peers.filter((p) => p.state === 'alive').map((p) => p.name);
    if (this.status === 'alive') live.push(this.self);
    return { self: this.self, status: this.status, peers, live: live.sort(), minority: this.minority(now) };
  }

  /**
   * Whether this node is on the small side: it sees no strict majority of the configured members
   * (itself included) alive. It stays so for two timeouts after it sees a majority again, long enough
   * for the other side to hear it say so while both still claim the same IPs after a partition heals:
   * non-revertive placement then keeps each contested IP with the side that could see the most.
   */
  private minority(now: number): boolean {
    let configured = 1;
    let live = this.status === 'leaving' ? 0 : 1;
    for (const r of this.peers.values()) {
      if (r.address === undefined) continue;
      configured++;
      if (r.state === 'alive' || r.state === 'joining') live++;
    }
    if (configured > 1 && live * 2 <= configured) this.minorityUntil = now + 2 * this.options.timeoutMs;
    return now < this.minorityUntil;
  }

  /** Adds a change when this node's own minority flag flipped since it was last reported. */
  private reportMinority(now: number, changes: MemberChange[]): void {
    const minority = this.minority(now);
    if (minority === this.reportedMinority) return;
    this.reportedMinority = minority;
    changes.push({ kind: 'flags', member: this.self, at: now });
  }

  private accept(h: Heartbeat, bytes: Uint8Array, now: number, heardAt: number, direct: boolean): Output {
    if (h.sender === this.self) {
      return ignored(
        h.incarnation === this.incarnation
          ? 'our own heartbeat'
          : `another speaker (incarnation ${h.incarnation}) uses this node name`,
      );
    }
    const record = this.peers.get(h.sender);
    if (!record || record.address === undefined)
      return ignored(`heartbeat from unconfigured node ${h.sender}`);
    const order = ordering(record, h);
    if (order !== 'newLife' && order !== 'next') return ignored(`${order} heartbeat from ${h.sender}`);

    const newLife = order === 'newLife';
    const delay = judgeDelay(
      newLife ? undefined : record.delay,
      h.sentAt,
      heardAt,
      now,
      this.options.timeoutMs,
    );
    if (delay.late) return ignored(`heartbeat from ${h.sender} arrived ${Math.round(delay.byMs)} ms late`);
    record.delay = delay.base;
    const changes: MemberChange[] = [];
    const restarted = newLife && record.incarnation !== undefined;
    const claimsBefore = record.claims.claims;
    if (newLife) {
      record.incarnation = h.incarnation;
      record.claims = new ClaimsAssembler();
    }
    record.seq = h.seq;
    record.lastHeardAt = Math.max(record.lastHeardAt ?? heardAt, heardAt);
    if (direct) {
      record.lastDirectAt = now;
      record.latest = { bytes: Buffer.from(bytes), at: now };
    }
    const heardUs = !record.unheard.has(this.selfTag);
    const wasMinority = record.minority;
    record.unheard = new Set(h.unheard);
    record.minority = h.minority ?? false;
    const next = stateAfter(record, h, newLife);
    if (next !== record.state || restarted) {
      const cause: ChangeCause = restarted ? 'restart' : next === 'left' ? 'leaving' : 'heartbeat';
      this.transition(record, next, cause, now, changes);
    } else if (heardUs !== !record.unheard.has(this.selfTag) || wasMinority !== record.minority) {
      // Whether it hears us, and whether it sees a majority, steer placement: the view must follow them.
      changes.push({ kind: 'flags', member: record.name, at: now });
    }
    this.reportMinority(now, changes);
    record.claims.accept(h);
    const claims = record.claims.claims;
    if (claims.size !== claimsBefore.size || [...claims].some((ip) => !claimsBefore.has(ip))) {
      changes.push({ kind: 'claims', member: record.name, at: now, claims });
    }
    const send = this.relayDuties(record, h, now, direct);
    return { send, changes };
  }

  /** Relays `record`'s heartbeat to members that asked for it, and serves its new requests. */
  private relayDuties(record: PeerRecord, h: Heartbeat, now: number, direct: boolean): Datagram[] {
    const send: Datagram[] = [];
    const wanted = record.state === 'left' || record.state === 'down' ? new Set<string>() : record.unheard;
    const added = this.requests.update(record.name, wanted);
    if (direct && record.latest) {
      for (const requester of this.requests.requestersOf(record.tag)) {
        const datagram = this.relay(requester, record, 0, now);
        if (datagram) send.push(datagram);
      }
    }
    for (const tag of added) {
      const subject = this.peers.get(this.names.get(tag) ?? '');
      const latest = subject?.latest;
      if (!subject || !latest || now - latest.at >= this.options.timeoutMs) continue;
      // Whole milliseconds on the wire, rounded up: relayed evidence never looks fresher than it is.
      const datagram = this.relay(h.sender, subject, Math.ceil(now - latest.at), now);
      if (datagram) send.push(datagram);
    }
    return send;
  }

  private relay(
    requesterName: string,
    subject: PeerRecord,
    ageMs: number,
    now: number,
  ): Datagram | undefined {
    const requester = this.peers.get(requesterName);
    if (!requester?.address || !subject.latest || requester === subject) return undefined;
    if (requester.state !== 'alive' && requester.state !== 'joining') return undefined;
    const candidates = [...this.peers.values()]
      .filter((p) => (p.state === 'alive' || p.state === 'joining') && this.hearsDirectly(p, now))
      .map((p) => p.tag);
    if (!isChosenRelayer(this.selfTag, requester.tag, subject.tag, candidates, this.options.relayFanout)) {
      return undefined;
    }
    const bytes = encodeRelay({ relayer: this.selfTag, ageMs, inner: subject.latest.bytes }, this.keyring);
    return { to: requester.name, address: requester.address, bytes };
  }

  private hearsDirectly(record: PeerRecord, now: number): boolean {
    return record.lastDirectAt !== undefined && now - record.lastDirectAt < this.options.suspectAfterMs;
  }

  /** Heartbeats carrying the given chunks of our claims, each to every configured peer. */
  private heartbeats(now: number, chunkIndices: readonly number[]): Datagram[] {
    const unheard = this.unheardTags(now);
    this.sentUnheard = new Set(unheard);
    const minority = this.minority(now);
    const send: Datagram[] = [];
    for (const chunkIndex of chunkIndices) {
      const bytes = encodeHeartbeat(
        {
          sender: this.self,
          status: this.status,
          minority,
          incarnation: this.incarnation,
          seq: ++this.seq,
          sentAt: Math.max(0, Math.floor(now)),
          claimsVersion: this.claimsVersion,
          chunkIndex,
          chunkCount: this.chunks.length,
          unheard,
          ips: this.chunks[chunkIndex]!,
        },
        this.keyring,
      );
      for (const record of this.peers.values()) {
        if (record.address !== undefined) send.push({ to: record.name, address: record.address, bytes });
      }
    }
    return send;
  }

  /** Peers not heard directly for suspectAfterMs: the most recently heard first, at most maxUnheard. */
  private unheardTags(now: number): string[] {
    const suspects = [...this.peers.values()].filter(
      (r) =>
        r.address !== undefined &&
        r.state !== 'left' &&
        now - this.directSince(r) >= this.options.suspectAfterMs,
    );
    suspects.sort((a, b) => {
      const heardA = a.lastDirectAt ?? Number.NEGATIVE_INFINITY;
      const heardB = b.lastDirectAt ?? Number.NEGATIVE_INFINITY;
      if (heardA !== heardB) return heardA > heardB ? -1 : 1;
      return a.tag < b.tag ? -1 : 1;
    });
    return suspects
      .slice(0, this.options.maxUnheard)
      .map((r) => r.tag)
      .sort();
  }

  /** Since when we have been waiting to hear the peer directly. */
  private directSince(record: PeerRecord): number {
    return Math.max(record.lastDirectAt ?? Number.NEGATIVE_INFINITY, record.configuredAt, this.startedAt);
  }

  private transition(
    record: PeerRecord,
    to: MemberState,
    cause: ChangeCause,
    now: number,
    changes: MemberChange[],
  ) {
    changes.push({
      kind: 'state',
      member: record.name,
      from: record.state,
      to,
      cause,
      at: now,
      incarnation: record.incarnation,
      lastHeardAt: record.lastHeardAt,
    });
    record.state = to;
  }
}

function ignored(reason: string): Output {
  return { send: [], changes: [], ignored: reason };
}

/**
 * Members whose claims are weak in non-revertive placement: live peers that say they see no majority,
 * and this node when it sees none.
 */
export function weakMembers(view: MembershipView): string[] {
  const weak = view.peers.filter((p) => p.state === 'alive' && p.minority).map((p) => p.name);
  if (view.minority) weak.push(view.self);
  return weak;
}
