import { Backoff, type BackoffOptions } from '../util/backoff.js';
import { type Clock, realClock, type Timer } from '../util/clock.js';
import { type Logger, silentLogger } from '../util/logger.js';
import { ApiError, isGone, oneLine } from './errors.js';
import type { InformerMetrics } from './informer-metrics.js';
import type { ResourceClient } from './resource-client.js';
import { objectKey, Store, type StoreQuery } from './store.js';
import type { KubeObject } from './types.js';

export interface InformerHandler<T> {
  onAdd?(obj: T): void;
  onUpdate?(old: T, current: T): void;
  /** `obj` is the last state the informer saw; after a relist it may predate the real deletion. */
  onDelete?(obj: T): void;
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  clock?: Clock;
  logger?: Logger;
  metrics?: InformerMetrics;
  /** Restart delay after errors; default 800 ms doubling to 30 s, jittered. */
  backoff?: BackoffOptions;
  /** Server-side watch timeout; default random in 5–10 minutes so clients spread out (as client-go). */
  watchTimeoutSeconds?: number;
  /** Restart a watch that has delivered nothing, not even a bookmark, for this long. Default 3 minutes. */
  stallTimeoutMs?: number;
  pageSize?: number;
  /**
   * Keep the managedFields entries of this field manager (and drop the rest): the server's record
   * of which fields a controller wrote, for a controller that must tell its own writes from others'.
   */
  keepManagedFieldsOf?: string;
}

export interface InformerStats {
  lists: number;
  /** Relists forced by 410 Gone (an expired resourceVersion). */
  relistsAfterGone: number;
  watches: number;
  errors: number;
  stalls: number;
  lastError?: string;
}

/**
 * List-then-watch cache of one kind of object, robust to what real API servers do:
 * it watches from the list's resourceVersion with bookmarks, relists on 410 Gone, restarts
 * with jittered backoff on any other error (never stops by itself), restarts silent watches via a
 * watchdog, and turns a relist into the add/update/delete events that were missed, so handlers
 * see every final state.
 *
 * Cached objects carry no `metadata.managedFields` (as controller-runtime's
 * TransformStripManagedFields), except a chosen field manager's own entries: nothing else reads them
 * from a cache, they are often the larger part of a small object, and a cached object written back
 * without them keeps the server's.
 */
export class Informer<T extends KubeObject> {
  readonly store = new Store<T>();
  readonly stats: InformerStats = { lists: 0, relistsAfterGone: 0, watches: 0, errors: 0, stalls: 0 };
  private readonly handlers = new Set<InformerHandler<T>>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private resourceVersion: string | undefined;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private running: Promise<void> | undefined;
  private stopController = new AbortController();
  private watchController: AbortController | undefined;

  constructor(
    private readonly resource: ResourceClient<T>,
    private readonly options: InformerOptions = {},
  ) {
    this.clock = options.clock ?? realClock;
    this.log = (options.logger ?? silentLogger).child({ informer: resource.ref.plural });
    this.backoff = new Backoff(options.backoff ?? { initialMs: 800, maxMs: 30_000 });
  }

  /** Registers a handler; if the cache is already synced, it first sees every cached object as an add. */
  addHandler(handler: InformerHandler<T>): () => void {
    this.handlers.add(handler);
    if (this.synced) for (const obj of this.store.list()) this.call(handler, 'onAdd', obj);
    return () => this.handlers.delete(handler);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.store.get(name, namespace);
  }

  list(query?: StoreQuery): T[] {
    return this.store.list(query);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** The resourceVersion the next watch would start from (undefined: the next step is a list). */
  get lastResourceVersion(): string | undefined {
    return this.resourceVersion;
  }

  start(): this {
    if (!this.running) {
      this.stopController = new AbortController();
      this.running = this.run(this.stopController.signal);
    }
    return this;
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    this.watchController?.abort();
    await this.running;
    this.running = undefined;
  }

  private async run(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      try {
        if (this.resourceVersion === undefined) await this.relist(stop);
        await this.watchOnce(stop);
      } catch (err) {
        if (stop.aborted) break;
        if (isGone(err)) {
          this.noteGone(err);
          continue;
        }
        this.stats.errors++;
        this.stats.lastError = oneLine(err);
        this.options.metrics?.errors.inc({ resource: this.resource.ref.plural });
        const delay = this.backoff.next();
        this.log.warn(
          { err: this.stats.lastError, retryInMs: Math.round(delay) },
          'list/watch failed; retrying',
        );
        await this.clock.sleep(delay, stop);
      }
    }
  }

  private noteGone(err: unknown): void {
    this.stats.relistsAfterGone++;
    this.options.metrics?.relists.inc({ resource: this.resource.ref.plural });
    this.log.info(
      { resourceVersion: this.resourceVersion, err: oneLine(err) },
      'resourceVersion expired; relisting',
    );
    this.resourceVersion = undefined;
  }

  private async relist(stop: AbortSignal): Promise<void> {
    const { namespace, labelSelector, fieldSelector, pageSize } = this.options;
    const list = await this.resource.listAll(
      { namespace, labelSelector, fieldSelector, limit: pageSize ?? 500 },
      stop,
    );
    this.stats.lists++;
    this.options.metrics?.lists.inc({ resource: this.resource.ref.plural });
    const delta = this.store.replace(list.items.map((o) => this.prune(o)));
    this.resourceVersion = list.metadata.resourceVersion;
    this.backoff.reset();
    for (const obj of delta.added) this.emit('onAdd', obj);
    for (const [old, obj] of delta.updated) this.emit('onUpdate', old, obj);
    for (const obj of delta.deleted) this.emit('onDelete', obj);
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  private async watchOnce(stop: AbortSignal): Promise<void> {
    const controller = new AbortController();
    this.watchController = controller;
    const onStop = () => controller.abort();
    stop.addEventListener('abort', onStop, { once: true });
    if (stop.aborted) controller.abort(); // stopped while listing: the listener above will never fire
    const stallMs = this.options.stallTimeoutMs ?? 180_000;
    let stalled = false;
    let delivered = 0;
    const openedAt = this.clock.now();
    let watchdog: Timer | undefined;
    const arm = () => {
      watchdog?.cancel();
      watchdog = this.clock.setTimer(stallMs, () => {
        stalled = true;
        controller.abort();
      });
    };
    try {
      const { namespace, labelSelector, fieldSelector } = this.options;
      const timeoutSeconds = this.options.watchTimeoutSeconds ?? Math.floor(300 + Math.random() * 300);
      arm();
      this.stats.watches++;
      const events = this.resource.watch(
        {
          namespace,
          labelSelector,
          fieldSelector,
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
        },
        controller.signal,
      );
      try {
        for await (const event of events) {
          arm();
          delivered++;
          this.backoff.reset();
          if (event.type === 'ERROR') {
            const s = event.object;
            throw new ApiError(s.code ?? 500, s.reason ?? 'Unknown', s.message ?? 'watch error');
          }
          this.resourceVersion = event.object.metadata.resourceVersion ?? this.resourceVersion;
          if (event.type === 'BOOKMARK') continue;
          if (event.type === 'DELETED') {
            const old = this.store.remove(event.object);
            this.emit('onDelete', old ?? this.prune(event.object));
            continue;
          }
          const previous = this.store.getByKey(objectKey(event.object));
          if (previous?.metadata.resourceVersion === event.object.metadata.resourceVersion) continue;
          this.store.upsert(this.prune(event.object));
          const current = this.store.getByKey(objectKey(event.object))!;
          if (previous) this.emit('onUpdate', previous, current);
          else this.emit('onAdd', current);
        }
      } catch (err) {
        // The watchdog may abort before the response starts, which rejects rather than ending the
        // stream: that is a stall too, not an error of its own.
        if (!stalled) throw err;
      }
      if (stalled) {
        this.stats.stalls++;
        this.options.metrics?.stalls.inc({ resource: this.resource.ref.plural });
        throw new Error(`watch delivered nothing for ${stallMs} ms; restarting it`);
      }
      if (delivered === 0 && this.clock.now() - openedAt < 1000 && !stop.aborted) {
        throw new Error('watch closed at once without an event');
      }
    } finally {
      watchdog?.cancel();
      stop.removeEventListener('abort', onStop);
      this.watchController = undefined;
    }
  }

  /** Drops the managedFields not kept from a freshly decoded object (ours alone, so changed in place). */
  private prune(obj: T): T {
    const entries = obj.metadata.managedFields;
    if (!entries) return obj;
    const keep = this.options.keepManagedFieldsOf;
    const kept = keep === undefined ? [] : entries.filter((e) => e.manager === keep);
    if (kept.length > 0) obj.metadata.managedFields = kept;
    else delete obj.metadata.managedFields;
    return obj;
  }

  private emit(method: 'onAdd' | 'onDelete', obj: T): void;
  private emit(method: 'onUpdate', old: T, obj: T): void;
  private emit(method: keyof InformerHandler<T>, a: T, b?: T): void {
    for (const handler of this.handlers) this.call(handler, method, a, b);
  }

  private call(handler: InformerHandler<T>, method: keyof InformerHandler<T>, a: T, b?: T): void {
    try {
      if (method === 'onUpdate') handler.onUpdate?.(a, b!);
      else handler[method]?.(a);
    } catch (err) {
      this.log.error({ err: oneLine(err), method }, 'informer handler threw');
    }
  }
}
