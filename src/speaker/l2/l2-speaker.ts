/**
 * The L2 speaker of one node: watches Services, EndpointSlices, Nodes, IPAddressPools and
 * L2Advertisements, keeps the heartbeat membership (in its worker) told of the peers and of what this
 * node answers for, and after any change recomputes the plan (l2-plan.ts) and applies it to the
 * announcer and the ServiceL2Status objects. Liveness never comes from the API server: with the API
 * server gone the caches stay as they were and failover still follows the heartbeats.
 */
import { type IPAddressPool, IPAddressPoolResource } from '../../api/ip-address-pool.js';
import { type L2Advertisement, L2AdvertisementResource } from '../../api/l2-advertisement.js';
import { type L2Ad, parseL2Advertisement } from '../../api/l2-policy.js';
import { parsePool } from '../../api/pool.js';
import type { ClassPolicy } from '../../controller/service-request.js';
import { serviceIntent } from '../../controller/service-request.js';
import type { KubeClient } from '../../k8s/client.js';
import type { EventRecorder } from '../../k8s/event-recorder.js';
import { Informer } from '../../k8s/informer.js';
import { Resources } from '../../k8s/resources.js';
import type { EndpointSlice, KubeObject, Node, Service } from '../../k8s/types.js';
import type { NetworkIo } from '../../native/types.js';
import type { Clock, Timer } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { PeerClaims } from '../election/answers.js';
import type { PlacementMode } from '../election/placement.js';
import { endpointNodes, nodeFacts } from '../eligibility.js';
import { advanceHandover, beginHandover, claimedByLivePeers } from '../membership/handover.js';
import { HeartbeatMembership } from '../membership/heartbeat-membership.js';
import { weakMembers } from '../membership/members.js';
import type { MembershipOptions } from '../membership/options.js';
import type { MemberChange, MembershipView } from '../membership/types.js';
import {
  classifyInterfaces,
  type InterfaceFacts,
  readCarrier,
  type UsableInterface,
} from './interface-scan.js';
import { L2Announcer } from './l2-announcer.js';
import type { L2Metrics } from './l2-metrics.js';
import { type L2Plan, type PoolFacts, planL2, type ServiceFacts } from './l2-plan.js';
import type { DesiredL2Status } from './l2-status-diff.js';
import { L2StatusWriter } from './l2-status-writer.js';
import { type Departure, failoverSeconds, takeoverCause } from './takeover-cause.js';

export interface L2SpeakerOptions {
  client: KubeClient;
  /** Where the pools and advertisements live. */
  namespace: string;
  nodeName: string;
  io: NetworkIo;
  clock: Clock;
  logger: Logger;
  metrics: L2Metrics;
  classes: ClassPolicy;
  mode: PlacementMode;
  ignoreExcludeLabel: boolean;
  membership: {
    port: number;
    bindAddress: string;
    secrets: (string | Uint8Array)[];
    options?: Partial<MembershipOptions>;
  };
  readInterfaces: () => Promise<InterfaceFacts[]>;
  interfaceScanMs?: number;
  /** Carrier of one interface (interface-scan.ts readCarrier); polled fast, so a cable pull is seen at once. */
  readCarrier?: (name: string) => Promise<boolean | undefined>;
  carrierPollMs?: number;
  /** Events on Services when this node starts announcing them; without one, none are written. */
  events?: EventRecorder;
  /** The membership worker failed: the speaker can no longer tell who is alive. */
  onFatal?: (err: Error) => void;
}

const STATUS_RETRY_MS = 2000;
/** Statuses are listed and compared again this often even when nothing changed (someone may have deleted one). */
const STATUS_RESYNC_MS = 60_000;
/**
 * After its links come back, a node that was cut off answers nothing until it hears a peer or this
 * long has passed: the kernel may take a second to resolve its peers' addresses again, and answering
 * as if alone meanwhile would make two responders for every address.
 */
const CARRIER_SETTLE_MS = 1500;
/** How long a departed member's addresses are remembered for the failover metric and Events. */
const DEPARTURE_MEMORY_MS = 60_000;

export class L2Speaker {
  private readonly services: Informer<Service>;
  private readonly slices: Informer<EndpointSlice>;
  private readonly nodes: Informer<Node>;
  private readonly pools: Informer<IPAddressPool>;
  private readonly ads: Informer<L2Advertisement>;
  private readonly announcer: L2Announcer;
  private readonly statuses: L2StatusWriter;
  private heartbeat: HeartbeatMembership | undefined;
  private view: MembershipView | undefined;
  private answering = new Set<string>();
  /** What the heartbeats claim: `answering` plus IPs yielded to a peer that cannot hear us. */
  private claiming = new Set<string>();
  private scheduled = false;
  private scanTimer: Timer | undefined;
  private statusWrite: Promise<void> = Promise.resolve();
  private stopped = false;
  private synced = false;
  /** Addresses answered by members that went down or left, with how they went. */
  private readonly departures = new Map<string, Departure>();
  /**
   * Who was live when this node took each address over: the Event, written later with the status,
   * explains the takeover as it happened (a killed speaker may be back by then).
   */
  private readonly takeoverLive = new Map<string, ReadonlySet<string>>();
  /** Interfaces from the last scan (a change rewrites the ServiceL2Statuses). */
  private usable: UsableInterface[] = [];
  /** Interfaces whose carrier is polled: the usable ones and those skipped for lack of carrier. */
  private carrierWatch = new Map<string, boolean>();
  private carrierTimer: Timer | undefined;
  /** When this node's links came back after it had none: it stays out of the election for a moment. */
  private linksReturnedAt: number | undefined;
  private statusRetry: Timer | undefined;
  private resyncTimer: Timer | undefined;
  /** Services this node owns but cannot announce (no usable interface), with the Event's message. */
  private readonly unannounceable = new Map<string, string>();
  /** What the last successful status pass wrote, and when: an identical pass is skipped until the resync. */
  private statusWritten: { key: string; at: number } | undefined;
  lastPlan: L2Plan | undefined;

  constructor(private readonly o: L2SpeakerOptions) {
    const informer = <T extends KubeObject>(
      ref: Parameters<KubeClient['resource']>[0],
      namespace?: string,
    ) => {
      const i = new Informer<T>(o.client.resource<T>(ref), {
        logger: o.logger,
        ...(namespace && { namespace }),
      });
      i.addHandler({
        onAdd: () => this.schedule(),
        onUpdate: () => this.schedule(),
        onDelete: () => this.schedule(),
      });
      return i;
    };
    this.services = informer<Service>(Resources.services);
    this.slices = informer<EndpointSlice>(Resources.endpointSlices);
    this.nodes = informer<Node>(Resources.nodes);
    this.pools = informer<IPAddressPool>(IPAddressPoolResource, o.namespace);
    this.ads = informer<L2Advertisement>(L2AdvertisementResource, o.namespace);
    this.announcer = new L2Announcer({ io: o.io, clock: o.clock, logger: o.logger, metrics: o.metrics });
    this.statuses = new L2StatusWriter(o.client, o.nodeName, o.logger);
  }

  async start(): Promise<void> {
    const all = [this.services, this.slices, this.nodes, this.pools, this.ads];
    for (const i of all) i.start();
    await Promise.all(all.map((i) => i.waitForSync()));
    this.synced = true;
    await this.scanInterfaces();
    this.pollCarrier();
    this.heartbeat = new HeartbeatMembership({
      self: this.o.nodeName,
      incarnation: Math.floor(this.o.clock.wallNow()),
      secrets: this.o.membership.secrets,
      options: this.o.membership.options ?? {},
      bindAddress: this.o.membership.bindAddress,
      port: this.o.membership.port,
      onView: (view, changes) => this.onView(view, changes),
      onFatal: (err) => {
        this.o.logger.error({ err: err.message }, 'membership failed');
        this.o.onFatal?.(err);
      },
    });
    await this.heartbeat.listening;
    this.schedule();
    const resync = () => {
      this.resyncTimer = this.o.clock.setTimer(STATUS_RESYNC_MS, () => {
        this.schedule();
        if (!this.stopped) resync();
      });
    };
    resync();
  }

  /**
   * Graceful stop (SIGTERM): tells the peers this node leaves, keeps answering each address until a
   * live peer claims it (or the grace runs out), then goes silent.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.scanTimer?.cancel();
    this.carrierTimer?.cancel();
    this.statusRetry?.cancel();
    this.resyncTimer?.cancel();
    if (this.heartbeat && this.answering.size > 0) {
      this.heartbeat.leave();
      let handover = beginHandover(this.answering, this.o.clock.now());
      for (;;) {
        const step = advanceHandover(
          handover,
          this.view ? claimedByLivePeers(this.view) : new Set(),
          this.o.clock.now(),
        );
        handover = step.handover;
        if (step.release.length > 0) {
          for (const ip of step.release) this.answering.delete(ip);
          this.announcer.setOwned(
            new Map(
              [...this.answering].map((ip) => [ip, this.lastPlan?.answer.get(ip) ?? { interfaces: 'all' }]),
            ),
          );
        }
        if (step.done) break;
        await this.o.clock.sleep(20);
      }
    }
    this.announcer.close();
    await this.heartbeat?.stop();
    await Promise.all([this.services, this.slices, this.nodes, this.pools, this.ads].map((i) => i.stop()));
    await this.statusWrite;
  }

  /** Caches synced and the membership running: this node takes part in elections. */
  ready(): boolean {
    return this.synced && this.view !== undefined && !this.stopped;
  }

  private onView(view: MembershipView, changes: readonly MemberChange[]): void {
    const now = this.o.clock.now();
    for (const c of changes) {
      if (c.kind !== 'state') continue;
      const gone = c.to === 'down' || c.to === 'left';
      // A restart of a live member counts too: the old process's claims went with it, unnoticed.
      const restarted = c.cause === 'restart' && (c.from === 'alive' || c.from === 'joining');
      if (!gone && !restarted) continue;
      // The change was made in the worker just now; its own timestamps give how long the member was silent.
      const silentFor = c.cause === 'timeout' && c.lastHeardAt !== undefined ? c.at - c.lastHeardAt : 0;
      const departure = { member: c.member, cause: c.cause, silentSince: now - silentFor };
      const claims = this.view?.peers.find((p) => p.name === c.member)?.claims ?? [];
      for (const ip of claims) this.departures.set(ip, departure);
      this.o.logger.info(
        { member: c.member, cause: c.cause, silentMs: Math.round(silentFor) },
        restarted ? 'speaker restarted' : 'speaker left',
      );
    }
    for (const [ip, d] of this.departures) {
      if (now - d.silentSince > DEPARTURE_MEMORY_MS) this.departures.delete(ip);
    }
    this.view = view;
    const counts = new Map<string, number>([[view.status, 1]]);
    for (const p of view.peers) counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
    this.o.metrics.members.reset();
    for (const [state, n] of counts) this.o.metrics.members.set({ state }, n);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.stopped) this.recompute();
    });
  }

  private async scanInterfaces(): Promise<void> {
    try {
      const facts = await this.o.readInterfaces();
      const scan = classifyInterfaces(facts);
      this.announcer.setInterfaces(scan.usable);
      this.carrierWatch = new Map(
        facts
          .filter(
            (f) =>
              f.carrier !== undefined &&
              (scan.usable.some((u) => u.name === f.name) ||
                scan.skipped.some((x) => x.name === f.name && x.reason === 'no-carrier')),
          )
          .map((f) => [f.name, f.carrier === true]),
      );
      const key = (list: UsableInterface[]) => list.map((u) => `${u.name}:${u.arp}:${u.ndp}`).join(',');
      if (key(scan.usable) !== key(this.usable)) {
        if (this.usable.length === 0 && scan.usable.length > 0 && this.view) {
          this.linksReturnedAt = this.o.clock.now();
          this.o.clock.setTimer(CARRIER_SETTLE_MS + 10, () => this.schedule());
        }
        if (scan.usable.length === 0)
          this.o.logger.warn('no usable interface (no carrier?): announcing nothing');
        this.usable = scan.usable;
        this.schedule();
      }
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'interface scan failed');
    }
    if (!this.stopped) {
      this.scanTimer = this.o.clock.setTimer(
        this.o.interfaceScanMs ?? 5000,
        () => void this.scanInterfaces(),
      );
    }
  }

  /** Reads the carrier of the watched interfaces often; a change triggers a full scan at once. */
  private pollCarrier(): void {
    if (this.stopped) return;
    const read = this.o.readCarrier ?? ((name: string) => readCarrier(name));
    this.carrierTimer = this.o.clock.setTimer(this.o.carrierPollMs ?? 100, async () => {
      const names = [...this.carrierWatch.keys()];
      const now = await Promise.all(names.map((n) => read(n)));
      if (names.some((n, i) => now[i] !== this.carrierWatch.get(n))) {
        this.scanTimer?.cancel();
        await this.scanInterfaces();
      }
      this.pollCarrier();
    });
  }

  /**
   * Whether this node takes part in its own placement: it has an interface to announce on, and it is
   * not just back from losing them all (see CARRIER_SETTLE_MS) without having heard a peer yet.
   */
  private selfCanAnnounce(view: MembershipView): boolean {
    if (this.usable.length === 0) return false;
    if (this.linksReturnedAt === undefined) return true;
    const heardPeer = view.live.some((n) => n !== this.o.nodeName);
    const settled = this.o.clock.now() - this.linksReturnedAt >= CARRIER_SETTLE_MS;
    if (heardPeer || settled || view.peers.length === 0) this.linksReturnedAt = undefined;
    return this.linksReturnedAt === undefined;
  }

  private recompute(): void {
    const view = this.view;
    if (!view || !this.heartbeat) return;
    const services = this.serviceFacts();
    const plan = planL2({
      self: this.o.nodeName,
      services,
      pools: this.poolFacts(),
      ads: this.adFacts(),
      nodes: this.nodes.store
        .list()
        .map((n) => nodeFacts(n, { ignoreExcludeLabel: this.o.ignoreExcludeLabel })),
      live: this.selfCanAnnounce(view) ? view.live : view.live.filter((n) => n !== this.o.nodeName),
      peers: view.peers
        .filter((p) => p.state === 'alive')
        .map((p): PeerClaims => ({ node: p.name, claims: p.claims, hearsUs: p.hearsUs })),
      mode: this.o.mode,
      weak: weakMembers(view),
      answering: this.answering,
      claiming: this.claiming,
    });
    this.lastPlan = plan;
    const now = this.o.clock.now();
    for (const ip of plan.stop) this.takeoverLive.delete(ip);
    for (const ip of plan.start) {
      this.takeoverLive.set(ip, new Set(view.live));
      const seconds = failoverSeconds(this.departures.get(ip), now);
      if (seconds !== undefined) this.o.metrics.failover.observe(seconds);
      this.o.logger.info(
        {
          address: ip,
          why: plan.owners.get(ip)?.reason,
          ...(seconds !== undefined && { failoverMs: Math.round(seconds * 1000) }),
        },
        'announcing',
      );
    }
    for (const ip of plan.stop) {
      const held = plan.held.find((h) => h.ip === ip);
      const owner = plan.owners.get(ip);
      this.o.logger.info(
        {
          address: ip,
          ...(held ? { why: held.reason, holder: held.holder } : { owner: owner?.owner, why: owner?.reason }),
        },
        'stopped announcing',
      );
    }
    if ((plan.start.length > 0 || plan.stop.length > 0) && this.o.logger.isLevelEnabled('debug')) {
      this.o.logger.debug(
        {
          live: view.live,
          minority: view.minority,
          peers: view.peers.map(
            (p) =>
              `${p.name}:${p.state}${p.hearsUs ? '' : ':deaf'}${p.minority ? ':minority' : ''}:[${[...p.claims].join(' ')}]`,
          ),
        },
        'membership at the change',
      );
    }
    this.answering = new Set(plan.answer.keys());
    this.announcer.setOwned(plan.answer);
    this.claiming = plan.claims;
    this.heartbeat.setClaims(this.claiming);
    this.heartbeat.setPeers(this.peers());
    this.writeStatuses(plan, services, view.live);
  }

  private peers() {
    const out: { name: string; address: string }[] = [];
    for (const node of this.nodes.store.list()) {
      const name = node.metadata.name;
      const address = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
      if (name && address && name !== this.o.nodeName) out.push({ name, address });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  private serviceFacts(): ServiceFacts[] {
    const endpoints = new Map<string, EndpointSlice[]>();
    for (const slice of this.slices.store.list()) {
      const svc = slice.metadata.labels?.['kubernetes.io/service-name'];
      if (!svc) continue;
      const key = `${slice.metadata.namespace}/${svc}`;
      endpoints.set(key, [...(endpoints.get(key) ?? []), slice]);
    }
    const out: ServiceFacts[] = [];
    for (const service of this.services.store.list()) {
      const intent = serviceIntent(service, this.o.classes);
      if (intent.kind !== 'allocate') continue;
      const addresses = (service.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
      if (addresses.length === 0) continue;
      const key = `${service.metadata.namespace}/${service.metadata.name}`;
      out.push({
        key,
        service,
        addresses,
        sharesAddress: intent.request.sharing !== undefined,
        endpoints: endpointNodes(endpoints.get(key) ?? []),
      });
    }
    return out;
  }

  private poolFacts(): PoolFacts[] {
    const out: PoolFacts[] = [];
    for (const obj of this.pools.store.list()) {
      const parsed = parsePool(obj);
      if (parsed.ok)
        out.push({ name: parsed.pool.name, labels: obj.metadata.labels, ranges: parsed.pool.declared });
    }
    return out;
  }

  private adFacts(): L2Ad[] {
    const out: L2Ad[] = [];
    for (const obj of this.ads.store.list()) {
      const parsed = parseL2Advertisement(obj);
      if (parsed.ok) out.push(parsed.ad);
      else this.o.logger.debug({ advertisement: obj.metadata.name }, 'invalid L2Advertisement ignored');
    }
    return out;
  }

  /** One Event when the Service's announcing node becomes this one, with why (MetalLB's reason, nodeAssigned). */
  private announcedEvent(
    plan: L2Plan,
    services: readonly ServiceFacts[],
    live: readonly string[],
    d: DesiredL2Status & { previousNode?: string },
  ): void {
    const facts = services.find(
      (s) => s.service.metadata.namespace === d.serviceNamespace && s.service.metadata.name === d.serviceName,
    );
    if (!facts || !this.o.events) return;
    const addresses = (plan.services.get(facts.key) ?? []).flatMap((st) =>
      st.announced && st.node === this.o.nodeName ? [st.address] : [],
    );
    // The previous node's ServiceL2Status may already be gone (the cleaner removes a dead node's);
    // the membership remembers who announced the address when it left.
    const departure = addresses
      .map((ip) => this.departures.get(ip))
      .find((x) => x !== undefined && (d.previousNode === undefined || x.member === d.previousNode));
    const cause = takeoverCause({
      self: this.o.nodeName,
      previous: d.previousNode ?? departure?.member,
      live: (addresses[0] !== undefined && this.takeoverLive.get(addresses[0])) || new Set(live),
      eligible: addresses[0] === undefined ? undefined : plan.eligible.get(addresses[0]),
      departure,
      now: this.o.clock.now(),
    });
    const on = d.interfaces.length > 0 ? ` on ${d.interfaces.join(', ')}` : '';
    this.o.events.event(
      { apiVersion: 'v1', kind: 'Service', ...facts.service },
      'Normal',
      'nodeAssigned',
      'Announce',
      `announcing ${addresses.join(', ')} from node ${this.o.nodeName} over L2${on}: ${cause}`,
    );
  }

  /** A Warning Event (MetalLB's reason, announceFailed) once per change when an owned address has nowhere to go. */
  private reportUnannounceable(s: ServiceFacts, message: string): void {
    if (this.unannounceable.get(s.key) === message) return;
    this.unannounceable.set(s.key, message);
    this.o.logger.warn({ service: s.key }, message);
    this.o.events?.event(
      { apiVersion: 'v1', kind: 'Service', ...s.service },
      'Warning',
      'announceFailed',
      'Announce',
      message,
    );
  }

  /**
   * Status writes run one at a time, each with the latest plan; a failure is retried after a pause.
   * A pass lists every ServiceL2Status, so it runs only when what this node announces (or who is
   * live) changed, or once a minute: not on every EndpointSlice change in the cluster.
   */
  private writeStatuses(plan: L2Plan, services: readonly ServiceFacts[], live: readonly string[]): void {
    const desired: DesiredL2Status[] = [];
    const failing = new Set<string>();
    for (const s of services) {
      const states = plan.services.get(s.key) ?? [];
      const mine = states.flatMap((st) => (st.announced && st.node === this.o.nodeName ? [st] : []));
      if (mine.length === 0) continue;
      // The interfaces it is announced on: the advertisements' list, or every usable one of its family.
      const interfaces = new Set<string>();
      const failed: string[] = [];
      for (const st of mine) {
        const v6 = st.address.includes(':');
        const usable = this.usable.filter((u) => (v6 ? u.ndp : u.arp)).map((u) => u.name);
        const on = st.interfaces === 'all' ? usable : st.interfaces.filter((n) => usable.includes(n));
        for (const name of on) interfaces.add(name);
        if (on.length === 0) {
          const wanted = st.interfaces === 'all' ? 'any interface' : `interfaces ${st.interfaces.join(', ')}`;
          failed.push(
            `cannot announce ${st.address} from node ${this.o.nodeName}: it has no usable ${wanted} for ${v6 ? 'NDP' : 'ARP'} (missing, down, NOARP or excluded)`,
          );
        }
      }
      if (failed.length > 0) {
        failing.add(s.key);
        this.reportUnannounceable(s, failed.join('; '));
      }
      desired.push({
        serviceNamespace: s.service.metadata.namespace ?? '',
        serviceName: s.service.metadata.name ?? '',
        serviceUid: s.service.metadata.uid ?? '',
        interfaces: [...interfaces].sort(),
      });
    }
    for (const key of this.unannounceable.keys()) if (!failing.has(key)) this.unannounceable.delete(key);
    const key = JSON.stringify([desired, live]);
    const now = this.o.clock.now();
    const last = this.statusWritten;
    if (last && last.key === key && now - last.at < STATUS_RESYNC_MS) return;
    this.statusWritten = { key, at: now };
    this.statusWrite = this.statusWrite
      .then(async () => {
        const created = await this.statuses.sync(desired, live);
        for (const d of created) this.announcedEvent(plan, services, live, d);
      })
      .catch((err: Error) => {
        this.statusWritten = undefined;
        this.o.logger.warn({ err: err.message }, 'could not write ServiceL2Status; retrying');
        this.statusRetry?.cancel();
        this.statusRetry = this.o.clock.setTimer(STATUS_RETRY_MS, () => this.schedule());
      });
  }
}
