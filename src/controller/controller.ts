import { Registry } from 'prom-client';
import type { FieldError } from '../api/field-errors.js';
import { type IPAddressPool, IPAddressPoolResource } from '../api/ip-address-pool.js';
import type { KubeClient } from '../k8s/client.js';
import { EventRecorder } from '../k8s/event-recorder.js';
import { Informer } from '../k8s/informer.js';
import { informerMetrics } from '../k8s/informer-metrics.js';
import { Resources } from '../k8s/resources.js';
import { objectKey } from '../k8s/store.js';
import type { Namespace, Service } from '../k8s/types.js';
import { WorkQueue } from '../k8s/workqueue.js';
import { type Clock, realClock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { Allocator, type Claim } from './allocator/allocator.js';
import { type ControllerMetrics, controllerMetrics } from './metrics.js';
import { compilePools, PoolStatusWriter } from './pool-status-writer.js';
import { ServiceReconciler } from './service-reconciler.js';
import { type ClassPolicy, serviceIntent } from './service-request.js';
import { statusAddresses } from './service-status.js';

export const FIELD_MANAGER = 'portico-controller';
export const REPORTING_CONTROLLER = 'portico.dev/controller';
/** The longest Events wait for a burst of status writes to end. */
const EVENTS_MAX_DELAY_MS = 5_000;

export interface ControllerOptions {
  client: KubeClient;
  /** Where IPAddressPools live (the install namespace). */
  namespace: string;
  /** This replica, for Events. */
  identity: string;
  classes: ClassPolicy;
  /** Status writes in flight at once. */
  workers: number;
  logger: Logger;
  registry?: Registry;
  clock?: Clock;
}

/**
 * The IP address management loop. Caches (Services, pools, namespaces) run on every replica so a new
 * leader starts warm; `lead()` does the work and returns when `signal` aborts (leadership lost or
 * shutdown). Nothing is written outside `lead()`.
 */
export class Controller {
  readonly registry: Registry;
  readonly services: Informer<Service>;
  readonly pools: Informer<IPAddressPool>;
  readonly namespaces: Informer<Namespace>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private invalid: ReadonlyMap<string, FieldError[]> = new Map();
  private leading:
    | {
        metrics: ControllerMetrics;
        queue: WorkQueue;
        allocator: Allocator;
        poolWriter: PoolStatusWriter;
      }
    | undefined;

  constructor(private readonly o: ControllerOptions) {
    this.registry = o.registry ?? new Registry();
    this.clock = o.clock ?? realClock;
    this.log = o.logger;
    const metrics = informerMetrics(this.registry);
    const common = { logger: o.logger, clock: this.clock, metrics };
    // Our field manager's entries tell the ingress we wrote from someone else's.
    this.services = new Informer(o.client.resource<Service>(Resources.services), {
      ...common,
      keepManagedFieldsOf: FIELD_MANAGER,
    });
    this.pools = new Informer(o.client.resource<IPAddressPool>(IPAddressPoolResource), {
      ...common,
      namespace: o.namespace,
    });
    this.namespaces = new Informer(o.client.resource<Namespace>(Resources.namespaces), common);
  }

  /** Starts the caches (every replica). */
  start(): void {
    this.services.start();
    this.pools.start();
    this.namespaces.start();
  }

  hasSynced(): boolean {
    return this.services.hasSynced() && this.pools.hasSynced() && this.namespaces.hasSynced();
  }

  async stop(): Promise<void> {
    await Promise.all([this.services.stop(), this.pools.stop(), this.namespaces.stop()]);
  }

  /** Does the work while `isLeader()` holds; resolves once `signal` aborts and in-flight writes end. */
  async lead(signal: AbortSignal, isLeader: () => boolean): Promise<void> {
    await Promise.all([this.services.waitForSync(), this.pools.waitForSync(), this.namespaces.waitForSync()]);
    if (signal.aborted) return;
    const started = this.clock.now();
    const allocator = new Allocator(() => this.clock.now());
    let queue: WorkQueue | undefined;
    // Events wait while Services are being served: the addresses matter first, the Events follow.
    let quiet: Promise<void> | undefined;
    const afterBurst = () => {
      quiet ??= Promise.race([
        queue?.drained() ?? Promise.resolve(),
        this.clock.sleep(EVENTS_MAX_DELAY_MS, signal),
      ]).finally(() => {
        quiet = undefined;
      });
      return quiet;
    };
    const events = new EventRecorder({
      client: this.o.client,
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.o.identity,
      clock: this.clock,
      logger: this.log,
      registry: this.registry,
      waitTurn: afterBurst,
    });
    const metrics = leaderMetrics(this.registry, allocator);
    const poolWriter = new PoolStatusWriter({
      pools: () => this.pools.list(),
      invalid: () => this.invalid,
      allocator,
      client: this.o.client.resource<IPAddressPool>(IPAddressPoolResource),
      events,
      clock: this.clock,
      logger: this.log,
      fieldManager: FIELD_MANAGER,
      isLeader,
    });
    const reconciler = new ServiceReconciler({
      services: this.services,
      namespaces: this.namespaces,
      client: this.o.client.resource<Service>(Resources.services),
      allocator,
      classes: this.o.classes,
      events,
      metrics,
      clock: this.clock,
      logger: this.log,
      fieldManager: FIELD_MANAGER,
      isLeader,
      signal,
      enqueue: (keys) => {
        for (const k of keys) queue?.add(k);
      },
      poolsChanged: (pools) => poolWriter.markDirty(pools),
    });
    queue = new WorkQueue(
      {
        name: 'services',
        concurrency: this.o.workers,
        clock: this.clock,
        registry: this.registry,
        logger: this.log,
      },
      async (key) => (await reconciler.reconcile(key)) ?? undefined,
    );
    this.leading = { queue, allocator, poolWriter, metrics };

    // Pools first, then every address Services already hold, oldest first, before anything new.
    this.applyPools(false);
    const claims: Claim[] = [];
    for (const svc of this.services.list()) {
      const intent = serviceIntent(svc, this.o.classes);
      const addresses = statusAddresses(svc);
      if (intent.kind !== 'allocate' || addresses.length === 0) continue;
      claims.push({
        key: objectKey(svc),
        createdAt: svc.metadata.creationTimestamp ?? '',
        request: intent.request,
        addresses,
      });
    }
    const nsLabels = (ns: string) => this.namespaces.get(ns)?.metadata.labels;
    const refused = allocator.restore(claims, nsLabels);
    for (const [key, why] of refused) {
      this.log.info(
        { service: key, why: why.ok ? '' : why.message },
        'not keeping the address in the status of this Service',
      );
    }
    this.log.info(
      { restored: claims.length - refused.size, refused: refused.size, pools: this.pools.list().length },
      'rebuilt allocations from Service status',
    );
    const claimed = new Set(claims.map((c) => c.key));
    const keys = this.services.list().map(objectKey);
    for (const k of keys.filter((k) => claimed.has(k))) queue.add(k);
    for (const k of keys.filter((k) => !claimed.has(k))) queue.add(k);
    poolWriter.markAllDirty();

    // addHandler first replays the cache as adds: all of it was just handled above.
    let replaying = true;
    const unsubscribe = [
      this.services.addHandler({
        onAdd: (s) => replaying || queue.add(objectKey(s)),
        onUpdate: (_, s) => reconciler.isOwnWrite(s) || queue.add(objectKey(s)),
        onDelete: (s) => queue.add(objectKey(s)),
      }),
      this.pools.addHandler({
        onAdd: () => replaying || this.schedulePools(),
        onUpdate: (a, b) => {
          if (a.metadata.generation !== b.metadata.generation || a.metadata.uid !== b.metadata.uid)
            this.schedulePools();
        },
        onDelete: () => this.schedulePools(),
      }),
      this.namespaces.addHandler({
        onUpdate: (a, b) => {
          if (JSON.stringify(a.metadata.labels ?? {}) === JSON.stringify(b.metadata.labels ?? {})) return;
          for (const svc of this.services.list({ namespace: b.metadata.name })) queue.add(objectKey(svc));
        },
      }),
    ];
    replaying = false;
    queue.start();
    await queue.drained();
    this.log.info(
      { ms: Math.round(this.clock.now() - started), services: keys.length },
      'initial reconcile done',
    );

    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    for (const off of unsubscribe) off();
    this.leading = undefined;
    await queue.shutdown();
    await poolWriter.close();
    await events.close();
  }

  private poolsScheduled = false;

  /** Pool changes come in bursts (kubectl apply of several): handle them once per tick. */
  private schedulePools(): void {
    if (this.poolsScheduled) return;
    this.poolsScheduled = true;
    setImmediate(() => {
      this.poolsScheduled = false;
      this.applyPools(true);
    });
  }

  private applyPools(requeue: boolean): void {
    const leading = this.leading;
    if (!leading) return;
    const { pools, invalid } = compilePools(this.pools.list());
    this.invalid = invalid;
    leading.allocator.setPools(pools);
    leading.metrics.invalidPools.set(
      invalid.size + pools.filter((p) => leading.allocator.overlapOf(p.name)).length,
    );
    for (const [name, errors] of invalid) {
      this.log.warn(
        { pool: name, errors: errors.map((e) => `${e.field}: ${e.message}`) },
        'invalid IPAddressPool: not used',
      );
    }
    leading.poolWriter.markAllDirty();
    // Any pool change may serve a pending Service or invalidate a served one: look at all of them.
    if (requeue) for (const svc of this.services.list()) leading.queue.add(objectKey(svc));
  }
}

function leaderMetrics(registry: Registry, allocator: Allocator) {
  for (const name of [
    'portico_pool_addresses_total',
    'portico_pool_addresses_in_use',
    'portico_pool_addresses_free',
    'portico_controller_allocations_total',
    'portico_controller_allocation_failures_total',
    'portico_controller_reconcile_duration_seconds',
    'portico_controller_services',
    'portico_controller_pools_invalid',
  ]) {
    registry.removeSingleMetric(name);
  }
  return controllerMetrics(registry, {
    *usages() {
      for (const name of allocator.poolNames()) {
        const usage = allocator.usage(name);
        if (usage) yield [name, usage];
      }
    },
  });
}
