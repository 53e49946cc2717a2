import { formatIP } from '../api/address.js';
import { isConflict, isNotFound } from '../k8s/errors.js';
import type { EventRecorder } from '../k8s/event-recorder.js';
import type { Informer } from '../k8s/informer.js';
import type { ResourceClient } from '../k8s/resource-client.js';
import { keyOf, objectKey } from '../k8s/store.js';
import { formatTime } from '../k8s/time.js';
import type { Namespace, Service } from '../k8s/types.js';
import type { ReconcileResult } from '../k8s/workqueue.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Allocator, AssignResult } from './allocator/allocator.js';
import type { ControllerMetrics } from './metrics.js';
import { type ClassPolicy, serviceIntent } from './service-request.js';
import {
  clearedStatus,
  type DesiredServiceStatus,
  desiredOutcome,
  desiredStatus,
  outcomeOf,
  type ServiceStatus,
  statusAddresses,
} from './service-status.js';

export interface ServiceReconcilerOptions {
  services: Informer<Service>;
  namespaces: Informer<Namespace>;
  client: ResourceClient<Service>;
  allocator: Allocator;
  classes: ClassPolicy;
  events: EventRecorder;
  metrics: ControllerMetrics;
  clock: Clock;
  logger: Logger;
  fieldManager: string;
  /** Checked right before every write: only the leader writes. */
  isLeader(): boolean;
  signal: AbortSignal;
  /** Asks for these Services to be reconciled again (pending ones, after addresses were freed). */
  enqueue(keys: Iterable<string>): void;
  /** Pools whose usage changed, for their status. */
  poolsChanged(pools: Iterable<string>): void;
}

/**
 * Brings one Service's addresses and condition in line with the pools: the allocator decides, this
 * writes the status (only when it changes) and an Event per change of outcome.
 */
export class ServiceReconciler {
  /** Services waiting for an address; retried whenever addresses are freed. */
  private readonly pending = new Set<string>();
  /** Per Service, the resourceVersion our last status write produced: its watch echo needs no reconcile. */
  private readonly ownWrites = new Map<string, string>();

  constructor(private readonly o: ServiceReconcilerOptions) {}

  /** True (once) for the update that only brings back our own status write. */
  isOwnWrite(svc: Service): boolean {
    const key = objectKey(svc);
    const rv = this.ownWrites.get(key);
    if (rv === undefined) return false;
    this.ownWrites.delete(key);
    return rv === svc.metadata.resourceVersion;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  async reconcile(key: string): Promise<ReconcileResult | undefined> {
    const started = this.o.clock.now();
    let result = 'ok';
    try {
      return await this.sync(key);
    } catch (err) {
      result = 'error';
      throw err;
    } finally {
      this.o.metrics.reconcile.observe({ result }, (this.o.clock.now() - started) / 1000);
    }
  }

  private async sync(key: string): Promise<ReconcileResult | undefined> {
    const { allocator } = this.o;
    const svc = this.o.services.store.getByKey(key);
    const before = allocator.allocation(key);
    if (!svc || svc.metadata.deletionTimestamp) {
      this.forget(key, before?.pool);
      return undefined;
    }
    const intent = serviceIntent(svc, this.o.classes);
    if (intent.kind === 'ignore') {
      this.forget(key, before?.pool);
      this.o.logger.debug({ service: key, rv: svc.metadata.resourceVersion, why: intent.why }, 'not ours');
      await this.write(svc, clearedStatus(svc, this.o.fieldManager));
      return undefined;
    }
    let outcome: AssignResult;
    if (intent.kind === 'invalid') {
      allocator.release(key);
      outcome = { ok: false, reason: intent.reason, message: intent.message };
    } else {
      const nsLabels = (ns: string) => this.o.namespaces.store.get(ns)?.metadata.labels;
      outcome = allocator.assign(key, intent.request, statusAddresses(svc), nsLabels);
    }
    const after = allocator.allocation(key);
    const touched = new Set([before?.pool, after?.pool].filter((p): p is string => p !== undefined));
    if (touched.size > 0) this.o.poolsChanged(touched);
    if (
      before &&
      (!after || before.addresses.some((a) => !after.addresses.some((b) => b.value === a.value)))
    ) {
      this.retryPending(key);
    }

    const desired: DesiredServiceStatus = outcome.ok
      ? {
          addresses: outcome.allocation.addresses,
          served: true,
          reason: 'IPAllocated',
          message: `Assigned ${outcome.allocation.addresses.map(formatIP).join(', ')} from pool ${outcome.allocation.pool}${outcome.partial ? ` (${outcome.partial})` : ''}`,
          explain: outcome.partial !== undefined,
        }
      : { addresses: [], served: false, reason: outcome.reason, message: outcome.message, explain: true };
    if (outcome.ok) this.pending.delete(key);
    else this.pending.add(key);
    this.updateGauges();

    if (this.o.logger.isLevelEnabled('debug')) {
      this.o.logger.debug(
        {
          service: key,
          rv: svc.metadata.resourceVersion,
          status: statusAddresses(svc).map(formatIP),
          desired: desired.addresses.map(formatIP),
          reason: desired.reason,
        },
        'reconciled',
      );
    }
    const written = await this.write(svc, desiredStatus(svc, desired, formatTime(this.o.clock.wallNow())));
    if (!written || outcomeOf(svc) === desiredOutcome(desired)) return undefined;
    const ref = { ...svc, apiVersion: 'v1', kind: 'Service' };
    if (!outcome.ok) {
      this.o.metrics.failures.inc({ reason: outcome.reason });
      this.o.events.event(ref, 'Warning', outcome.reason, 'Allocate', outcome.message);
    } else {
      if (
        !before ||
        before.pool !== outcome.allocation.pool ||
        before.addresses.length !== outcome.allocation.addresses.length
      ) {
        this.o.metrics.allocations.inc({ pool: outcome.allocation.pool });
      }
      this.o.events.event(ref, 'Normal', 'IPAllocated', 'Allocate', desired.message);
    }
    if (outcome.replaced) this.o.events.event(ref, 'Normal', 'ClearAssignment', 'Allocate', outcome.replaced);
    if (intent.kind === 'allocate' && intent.request.deprecatedAnnotations.length > 0) {
      const names = intent.request.deprecatedAnnotations.join(', ');
      this.o.events.event(
        ref,
        'Warning',
        'DeprecatedAnnotation',
        'Allocate',
        `${names}: use the portico.dev/ (or metallb.io/) prefix`,
      );
    }
    this.o.logger.info(
      {
        service: key,
        served: desired.served,
        reason: desired.reason,
        addresses: desired.addresses.map(formatIP),
      },
      desired.message,
    );
    return undefined;
  }

  /** Drops what the Service held; its freed addresses may serve a pending Service. */
  private forget(key: string, pool: string | undefined): void {
    this.pending.delete(key);
    this.ownWrites.delete(key);
    if (!pool) return;
    this.o.allocator.release(key);
    this.o.poolsChanged([pool]);
    this.retryPending(key);
    this.updateGauges();
  }

  private retryPending(except: string): void {
    const keys = [...this.pending].filter((k) => k !== except);
    if (keys.length > 0) this.o.enqueue(keys);
  }

  private updateGauges(): void {
    this.o.metrics.services.set({ state: 'pending' }, this.pending.size);
    this.o.metrics.services.set({ state: 'served' }, this.o.allocator.serviceCount);
  }

  /**
   * Writes `status` if there is one and we still lead; true if it was written. A status update (PUT)
   * of the cached object: its resourceVersion makes a stale cache a 409, and the API server applies
   * it without the merge a patch costs it.
   */
  private async write(svc: Service, status: ServiceStatus | undefined): Promise<boolean> {
    if (!status) return false;
    if (!this.o.isLeader()) throw new Error('not the leader any more; not writing');
    try {
      const written = await this.o.client.updateMetadata(
        // Without managedFields the server keeps its own (the cache holds only ours).
        { ...svc, metadata: { ...svc.metadata, managedFields: undefined }, status },
        { subresource: 'status', fieldManager: this.o.fieldManager, signal: this.o.signal },
      );
      if (written.metadata.resourceVersion)
        this.ownWrites.set(objectKey(svc), written.metadata.resourceVersion);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      // Our cache is behind the object: the informer's update event brings this key back.
      if (isConflict(err)) {
        this.o.logger.debug(
          { service: objectKey(svc), rv: svc.metadata.resourceVersion },
          'status write conflicted; waiting for the newer object',
        );
        return false;
      }
      throw err;
    }
  }
}

export const serviceKey = (svc: Service): string => keyOf(svc.metadata.name ?? '', svc.metadata.namespace);
