/**
 * A deterministic in-memory cluster of speakers, for tests and what-if tools ("what if node X dies?").
 * Each node runs the real membership state machine and the real election (placement, answers,
 * hand-over); datagrams are really encoded, signed and decoded, and travel with a latency, seeded
 * random loss, and link cuts (partitions, one-way failures). Time only moves between events.
 */
import { claimsOf, decideAnswers, eligibilityLookup } from '../election/answers.js';
import { Heap } from '../election/heap.js';
import { type IpEligibility, type PlacementMode, place } from '../election/placement.js';
import { decode } from './codec.js';
import { advanceHandover, beginHandover, claimedByLivePeers, type Handover } from './handover.js';
import { createKeyring, type Keyring } from './keyring.js';
import { Membership, weakMembers } from './members.js';
import type { MembershipOptions } from './options.js';
import type { Datagram, Output } from './types.js';

export interface SimulationOptions {
  readonly nodes: readonly string[];
  readonly ips: readonly string[];
  /** Eligible nodes of an IP; every node by default. */
  readonly eligible?: (ip: string) => readonly string[];
  readonly mode?: PlacementMode;
  readonly membership?: Partial<MembershipOptions>;
  /** One-way delay of every datagram; default 1 ms, plus up to `jitterMs`. */
  readonly latencyMs?: number;
  readonly jitterMs?: number;
  /** Probability that a datagram is lost; default 0. */
  readonly lossRate?: number;
  readonly seed?: number;
  readonly handoverGraceMs?: number;
}

interface SimNode {
  readonly name: string;
  membership: Membership | undefined;
  answering: Set<string>;
  /** What it claims in its heartbeats: answered, or owned and yielded to a peer that cannot hear it. */
  claiming: Set<string>;
  handover: Handover | undefined;
  tickAt: number;
}

type SimEvent =
  | {
      readonly at: number;
      readonly seq: number;
      readonly kind: 'deliver';
      readonly to: string;
      readonly bytes: Buffer;
    }
  | { readonly at: number; readonly seq: number; readonly kind: 'tick'; readonly node: string };

export class SimulatedCluster {
  now = 0;
  /** Datagrams sent, lost (loss or cut), and rejected by the decoder. */
  readonly stats = { sent: 0, lost: 0, rejected: 0, takeovers: 0 };
  private readonly nodes = new Map<string, SimNode>();
  private readonly events = new Heap<SimEvent>((a, b) => (a.at !== b.at ? a.at < b.at : a.seq < b.seq));
  private readonly keyring: Keyring = createKeyring(['simulated cluster secret']);
  /** Cut links: datagrams are dropped, or held and delivered at the heal (a kernel's neighbour queue). */
  private readonly cuts = new Map<string, 'drop' | 'hold'>();
  private held: { from: string; datagram: Datagram }[] = [];
  private readonly demands: IpEligibility[];
  private readonly isEligible: (ip: string, node: string) => boolean;
  private readonly random: () => number;
  private seq = 0;
  private incarnation = 1;

  constructor(private readonly options: SimulationOptions) {
    this.demands = options.ips.map((ip) => ({ ip, eligible: options.eligible?.(ip) ?? options.nodes }));
    this.isEligible = eligibilityLookup(this.demands);
    this.random = mulberry32(options.seed ?? 1);
    for (const name of options.nodes) this.start(name);
  }

  /** Starts (or restarts, as a new incarnation) the speaker on `name`. */
  start(name: string): void {
    const membership = new Membership(
      {
        self: name,
        incarnation: this.incarnation++,
        keyring: this.keyring,
        options: this.options.membership,
      },
      this.now,
    );
    membership.setPeers(
      this.options.nodes.map((n) => ({ name: n, address: n })),
      this.now,
    );
    const node: SimNode = {
      name,
      membership,
      answering: new Set(),
      claiming: new Set(),
      handover: undefined,
      tickAt: Number.NaN,
    };
    this.nodes.set(name, node);
    this.reschedule(node);
  }

  /** Kills the speaker on `name` without a word (crash, power loss). */
  crash(name: string): void {
    const node = this.node(name);
    node.membership = undefined;
    node.answering = new Set();
    node.claiming = new Set();
    node.handover = undefined;
  }

  /** SIGTERM: leave gracefully, hand the IPs over, then stop. */
  leave(name: string): void {
    const node = this.node(name);
    if (!node.membership) return;
    this.dispatch(node, node.membership.leave(this.now));
    node.handover = beginHandover(node.answering, this.now, this.options.handoverGraceMs);
    this.afterEvent(node, true);
  }

  /**
   * Cuts the network between the groups (nodes in no group are cut from everyone). With `hold`, what is
   * sent across the cut is delivered when it heals, late and before anything newer, as a Linux sender
   * does with what it queued for an unresolved neighbour while its link was down.
   */
  partition(groups: readonly (readonly string[])[], how: 'drop' | 'hold' = 'drop'): void {
    const groupOf = new Map(groups.flatMap((g, i) => g.map((n) => [n, i] as const)));
    for (const a of this.options.nodes) {
      for (const b of this.options.nodes) {
        if (a !== b && (groupOf.get(a) === undefined || groupOf.get(a) !== groupOf.get(b)))
          this.cut(a, b, how);
      }
    }
  }

  /** Cuts datagrams from `from` to `to` only. */
  cut(from: string, to: string, how: 'drop' | 'hold' = 'drop'): void {
    this.cuts.set(`${from}>${to}`, how);
  }

  heal(): void {
    this.cuts.clear();
    const held = this.held;
    this.held = [];
    for (const { from, datagram } of held) this.transmit(from, datagram, true);
  }

  running(): string[] {
    return [...this.nodes.values()].filter((n) => n.membership).map((n) => n.name);
  }

  answering(name: string): ReadonlySet<string> {
    return this.node(name).answering;
  }

  /** IP → the nodes answering ARP/NDP for it. */
  responders(): Map<string, string[]> {
    const out = new Map<string, string[]>(this.demands.map((d) => [d.ip, []]));
    for (const node of this.nodes.values()) {
      for (const ip of node.answering) out.get(ip)?.push(node.name);
    }
    return out;
  }

  /** Every IP with a running alive eligible node has exactly one responder; others have none. */
  oneResponderPerIp(): boolean {
    const alive = new Set(
      this.running().filter((n) => this.node(n).membership?.view(this.now).status === 'alive'),
    );
    for (const [ip, nodes] of this.responders()) {
      const servable = [...alive].some((n) => this.isEligible(ip, n));
      if (nodes.length !== (servable ? 1 : 0)) return false;
    }
    return true;
  }

  /** Each running node's live set. */
  views(): Map<string, readonly string[]> {
    const out = new Map<string, readonly string[]>();
    for (const node of this.nodes.values()) {
      if (node.membership) out.set(node.name, node.membership.view(this.now).live);
    }
    return out;
  }

  /** Whether every running node has the same live set. */
  viewsAgree(): boolean {
    const views = [...this.views().values()].map((v) => v.join());
    return views.every((v) => v === views[0]);
  }

  run(untilMs: number): void {
    this.runUntil(() => false, untilMs);
  }

  /** Processes events until `done()` holds after one, or time would pass `untilMs`; returns whether it held. */
  runUntil(done: () => boolean, untilMs: number): boolean {
    for (let event = this.events.peek(); event && event.at <= untilMs; event = this.events.peek()) {
      this.events.pop();
      this.now = event.at;
      if (event.kind === 'deliver') this.deliver(event.to, event.bytes);
      else this.tick(event.node, event.at);
      if (done()) return true;
    }
    this.now = Math.max(this.now, untilMs);
    return done();
  }

  private tick(name: string, at: number): void {
    const node = this.node(name);
    if (!node.membership || node.tickAt !== at) return;
    node.tickAt = Number.NaN;
    this.afterEvent(node, this.dispatch(node, node.membership.tick(this.now)));
  }

  private deliver(name: string, bytes: Buffer): void {
    const node = this.node(name);
    if (!node.membership) return;
    const decoded = decode(bytes, this.keyring);
    if (!decoded.ok) {
      this.stats.rejected++;
      return;
    }
    this.afterEvent(node, this.dispatch(node, node.membership.received(decoded.value, this.now)));
  }

  /** Re-runs the election on `node` if its membership changed, then reschedules its tick. */
  private afterEvent(node: SimNode, changed: boolean): void {
    const membership = node.membership;
    if (!membership) return;
    if (!changed) {
      this.reschedule(node);
      return;
    }
    const view = membership.view(this.now);
    if (node.handover) {
      const step = advanceHandover(node.handover, claimedByLivePeers(view), this.now);
      node.handover = step.handover;
      node.answering = new Set(step.handover.holding);
      node.claiming = new Set(node.answering);
      this.dispatch(node, membership.setClaims(node.answering, this.now));
      if (step.done) {
        this.crash(node.name);
        return;
      }
    } else if (view.status === 'alive') {
      const claims = new Map<string, Iterable<string>>([[node.name, node.claiming]]);
      for (const peer of view.peers) if (peer.state === 'alive') claims.set(peer.name, peer.claims);
      const weak = new Set(weakMembers(view));
      const placement = place({
        ips: this.demands,
        live: view.live,
        mode: this.options.mode ?? 'revertive',
        claims,
        weak,
      });
      const answers = decideAnswers({
        self: node.name,
        placement,
        answering: node.answering,
        peers: view.peers
          .filter((p) => p.state === 'alive')
          .map((p) => ({ node: p.name, claims: p.claims, hearsUs: p.hearsUs })),
        isEligible: this.isEligible,
      });
      this.stats.takeovers += answers.start.length;
      node.answering = new Set(answers.answer);
      node.claiming = claimsOf(answers);
      this.dispatch(node, membership.setClaims(node.claiming, this.now));
    }
    this.reschedule(node);
  }

  private reschedule(node: SimNode): void {
    if (!node.membership) return;
    let at = node.membership.nextDeadline();
    if (node.handover) at = Math.min(at, node.handover.deadline);
    at = Math.max(at, this.now);
    if (at === node.tickAt) return;
    node.tickAt = at;
    this.events.push({ at, seq: this.seq++, kind: 'tick', node: node.name });
  }

  /** Sends what the membership asked to send; true if it reported changes. */
  private dispatch(from: SimNode, output: Output): boolean {
    for (const datagram of output.send) this.transmit(from.name, datagram);
    return output.changes.length > 0;
  }

  private transmit(from: string, datagram: Datagram, released = false): void {
    if (!released) this.stats.sent++;
    const cut = this.cuts.get(`${from}>${datagram.address}`);
    if (cut === 'hold') {
      this.held.push({ from, datagram });
      return;
    }
    if (cut === 'drop' || this.random() < (this.options.lossRate ?? 0)) {
      this.stats.lost++;
      return;
    }
    const delay = (this.options.latencyMs ?? 1) + this.random() * (this.options.jitterMs ?? 0);
    this.events.push({
      at: this.now + delay,
      seq: this.seq++,
      kind: 'deliver',
      to: datagram.address,
      bytes: datagram.bytes,
    });
  }

  private node(name: string): SimNode {
    const node = this.nodes.get(name);
    if (!node) throw new RangeError(`no node ${name} in the simulated cluster`);
    return node;
  }
}

/** A small seeded PRNG (mulberry32), so a simulation replays exactly. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
