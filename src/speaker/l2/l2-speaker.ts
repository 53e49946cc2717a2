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
import type { MembershipOptions } from '../membership/options.js';
import type { MembershipView } from '../membership/types.js';
import { classifyInterfaces, type InterfaceFacts } from './interface-scan.js';
import { L2Announcer } from './l2-announcer.js';
import type { L2Metrics } from './l2-metrics.js';
import { type L2Plan, type PoolFacts, planL2, type ServiceFacts } from './l2-plan.js';
import type { DesiredL2Status } from './l2-status-diff.js';
import { L2StatusWriter } from './l2-status-writer.js';

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
    secrets: string[];
    options?: Partial<MembershipOptions>;
  };
  readInterfaces: () => Promise<InterfaceFacts[]>;
  interfaceScanMs?: number;
}

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
  private scheduled = false;
  private scanTimer: Timer | undefined;
  private statusWrite: Promise<void> = Promise.resolve();
  private stopped = false;
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
    await this.scanInterfaces();
    this.heartbeat = new HeartbeatMembership({
      self: this.o.nodeName,
      incarnation: Math.floor(this.o.clock.wallNow()),
      secrets: this.o.membership.secrets,
      options: this.o.membership.options ?? {},
      bindAddress: this.o.membership.bindAddress,
      port: this.o.membership.port,
      onView: (view) => {
        this.view = view;
        this.schedule();
      },
      onFatal: (err) => this.o.logger.error({ err: err.message }, 'membership failed'),
    });
    await this.heartbeat.listening;
    this.schedule();
  }

  /**
   * Graceful stop (SIGTERM): tells the peers this node leaves, keeps answering each address until a
   * live peer claims it (or the grace runs out), then goes silent.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.scanTimer?.cancel();
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
      const scan = classifyInterfaces(await this.o.readInterfaces());
      this.announcer.setInterfaces(scan.usable);
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
      live: view.live,
      peers: view.peers
        .filter((p) => p.state === 'alive')
        .map((p): PeerClaims => ({ node: p.name, claims: p.claims, hearsUs: p.hearsUs })),
      mode: this.o.mode,
      answering: this.answering,
    });
    this.lastPlan = plan;
    for (const ip of plan.start) this.o.logger.info({ address: ip }, 'announcing');
    for (const ip of plan.stop) this.o.logger.info({ address: ip }, 'stopped announcing');
    this.answering = new Set(plan.answer.keys());
    this.announcer.setOwned(plan.answer);
    this.heartbeat.setClaims(this.answering);
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

  /** Status writes run one at a time, each with the latest plan; a failure is retried by the next change. */
  private writeStatuses(plan: L2Plan, services: readonly ServiceFacts[], live: readonly string[]): void {
    const desired: DesiredL2Status[] = [];
    for (const s of services) {
      const states = plan.services.get(s.key) ?? [];
      const mine = states.find((st) => st.announced && st.node === this.o.nodeName);
      if (!mine?.announced) continue;
      desired.push({
        serviceNamespace: s.service.metadata.namespace ?? '',
        serviceName: s.service.metadata.name ?? '',
        serviceUid: s.service.metadata.uid ?? '',
        interfaces: mine.interfaces === 'all' ? [] : mine.interfaces,
      });
    }
    this.statusWrite = this.statusWrite
      .then(() => this.statuses.sync(desired, live))
      .catch((err: Error) => this.o.logger.warn({ err: err.message }, 'could not write ServiceL2Status'));
  }
}
