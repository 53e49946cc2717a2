import { Counter, type Registry } from 'prom-client';
import { type Clock, realClock, type Timer } from '../util/clock.js';
import { type Logger, silentLogger } from '../util/logger.js';
import { KubeClient } from './client.js';
import { isNotFound, oneLine } from './errors.js';
import { clip, eventName } from './event-fields.js';
import { type EventSeries, type EventSink, kubeEventSink, logSink } from './event-sink.js';
import { formatMicroTime } from './time.js';
import type { KubeEvent, KubeObject, ObjectReference } from './types.js';

export type { EventSeries, EventSink } from './event-sink.js';
export { kubeEventSink } from './event-sink.js';
export type EventType = KubeEvent['type'];
/** An object with its type meta (list items from the API server lack it), or a reference to one. */
export type Regarding = (KubeObject & { apiVersion: string; kind: string }) | ObjectReference;

export interface EventRecorderOptions {
  /** Without one, Events are only logged (at debug level). */
  client?: KubeClient | EventSink;
  /** A qualified name, e.g. `portico.dev/controller`. */
  reportingController: string;
  /** This replica, e.g. the pod or node name. */
  reportingInstance: string;
  clock?: Clock;
  logger?: Logger;
  registry?: Registry;
  /** Repeats less than this long after the previous occurrence join its series. Default 6 min. */
  seriesWindowMs?: number;
  /** Pending series counts are written at most this often. Default 30 s. */
  flushIntervalMs?: number;
  /** Distinct events (and objects, for the spam filter) remembered. Default 4096. */
  maxKeys?: number;
  /** New Events allowed per regarding object per `spamWindowMs`. Default 25 per 5 min. */
  spamBurst?: number;
  spamWindowMs?: number;
  /**
   * Event writes in flight at once; the rest wait their turn (client-go writes one at a time). Keeps
   * a burst of Events, say 5,000 Services served at once, from taking the API server's capacity
   * away from the writes that matter. Default 2.
   */
  maxInFlight?: number;
  /**
   * Awaited before each write: lets a controller hold its Events back while it has more urgent
   * writes to make (its status writes during a burst). Should resolve within a few seconds.
   */
  waitTurn?: () => Promise<void>;
}

interface Entry {
  body: Omit<KubeEvent, 'metadata' | 'series'>;
  namespace: string;
  /** Set once the Event exists on the server. */
  name: string | undefined;
  count: number;
  /** The count the server has. */
  sent: number;
  lastSeen: number;
  lastObservedTime: string;
  /** Writes for one Event run one after another. */
  tail: Promise<void>;
}

const FAILURE_LOG_INTERVAL_MS = 30_000;
// events.k8s.io/v1 validation limits, in bytes.
const NOTE_MAX_BYTES = 1024;
const FIELD_MAX_BYTES = 128;

/**
 * Records Kubernetes Events without ever blocking or failing the caller, aggregating repeats the way
 * client-go's events broadcaster does: an identical event seen again within the series window is
 * counted in memory, and the count is written to the existing Event's `series` now and then.
 * Call `close()` on shutdown: it writes pending counts and stops the timer.
 */
export class EventRecorder {
  private readonly sink: EventSink;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly metrics: ReturnType<typeof recorderMetrics> | undefined;
  private readonly settings: Required<
    Omit<EventRecorderOptions, 'client' | 'clock' | 'logger' | 'registry' | 'waitTurn'>
  >;
  private readonly waitTurn: (() => Promise<void>) | undefined;
  /** In least recently seen order. */
  private readonly entries = new Map<string, Entry>();
  /** Per regarding object, when its recent new Events were created. */
  private readonly created = new Map<string, number[]>();
  private readonly dirty = new Set<Entry>();
  private readonly inflight = new Set<Promise<void>>();
  private timer: Timer | undefined;
  private closed = false;
  private lastFailureLog = Number.NEGATIVE_INFINITY;
  private suppressedFailures = 0;

  constructor(options: EventRecorderOptions) {
    this.clock = options.clock ?? realClock;
    this.logger = options.logger ?? silentLogger;
    const client = options.client;
    this.sink = client instanceof KubeClient ? kubeEventSink(client) : (client ?? logSink(this.logger));
    this.metrics = options.registry && recorderMetrics(options.registry);
    this.settings = {
      reportingController: options.reportingController,
      reportingInstance: clip(options.reportingInstance, FIELD_MAX_BYTES),
      seriesWindowMs: options.seriesWindowMs ?? 6 * 60_000,
      flushIntervalMs: options.flushIntervalMs ?? 30_000,
      maxKeys: options.maxKeys ?? 4096,
      spamBurst: options.spamBurst ?? 25,
      spamWindowMs: options.spamWindowMs ?? 5 * 60_000,
      maxInFlight: options.maxInFlight ?? 2,
    };
    this.waitTurn = options.waitTurn;
  }

  /** Records one occurrence. Fire-and-forget: failures are logged, never thrown. */
  event(
    regarding: Regarding,
    type: EventType,
    reason: string,
    action: string,
    note: string,
    related?: Regarding,
  ): void {
    try {
      if (this.closed) return;
      const ref = toReference(regarding);
      if (!ref.name) throw new Error(`the ${ref.kind ?? 'object'} an event is about has no name`);
      this.record({
        eventTime: '',
        reportingController: this.settings.reportingController,
        reportingInstance: this.settings.reportingInstance,
        action: clip(action, FIELD_MAX_BYTES),
        reason: clip(reason, FIELD_MAX_BYTES),
        regarding: ref,
        ...(related && { related: toReference(related) }),
        note: clip(note, NOTE_MAX_BYTES),
        type,
      });
    } catch (err) {
      this.failed(err, 'could not record event');
    }
  }

  /** Writes pending series counts now and waits for every write in flight. */
  async flush(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    for (const entry of this.dirty) this.enqueue(entry, () => this.sync(entry));
    this.dirty.clear();
    await Promise.all([...this.inflight]);
  }

  /** Flushes and stops; later events are ignored. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private record(body: Entry['body']): void {
    const { regarding, type, reason } = body;
    const key = eventKey(body);
    const now = this.clock.now();
    const observed = formatMicroTime(this.clock.wallNow());
    const labels = { type, reason };
    const entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      if (now - entry.lastSeen <= this.settings.seriesWindowMs) {
        entry.count++;
        entry.lastSeen = now;
        entry.lastObservedTime = observed;
        this.entries.set(key, entry);
        this.metrics?.emitted.inc(labels);
        this.dirty.add(entry);
        this.arm();
        return;
      }
      this.retire(entry);
    }
    if (!this.allowNew(JSON.stringify(identity(regarding)), now)) {
      this.metrics?.dropped.inc();
      this.logger.debug({ regarding, reason }, 'event dropped: over the per-object limit');
      return;
    }
    const fresh: Entry = {
      body: { ...body, eventTime: observed },
      namespace: regarding.namespace || 'default',
      name: undefined,
      count: 1,
      sent: 0,
      lastSeen: now,
      lastObservedTime: observed,
      tail: Promise.resolve(),
    };
    this.entries.set(key, fresh);
    if (this.entries.size > this.settings.maxKeys) {
      const [oldestKey, oldest] = this.entries.entries().next().value!;
      this.entries.delete(oldestKey);
      this.retire(oldest);
    }
    this.metrics?.emitted.inc(labels);
    this.enqueue(fresh, () =>
      this.create(fresh).catch((err) => {
        this.metrics?.dropped.inc();
        throw err;
      }),
    );
  }

  /** Per-object sliding window over the creation times of new Events. */
  private allowNew(objectKey: string, now: number): boolean {
    const times = (this.created.get(objectKey) ?? []).filter((t) => now - t < this.settings.spamWindowMs);
    this.created.delete(objectKey);
    const allowed = times.length < this.settings.spamBurst;
    if (allowed) times.push(now);
    this.created.set(objectKey, times);
    if (this.created.size > this.settings.maxKeys) this.created.delete(this.created.keys().next().value!);
    return allowed;
  }

  /** Writes the final count of an entry that leaves the cache. */
  private retire(entry: Entry): void {
    if (this.dirty.delete(entry)) this.enqueue(entry, () => this.sync(entry));
  }

  private arm(): void {
    if (this.timer || this.closed) return;
    this.timer = this.clock.setTimer(this.settings.flushIntervalMs, () => {
      this.timer = undefined;
      void this.flush();
    });
  }

  private enqueue(entry: Entry, write: () => Promise<void>): void {
    const done = entry.tail
      .then(() => this.inTurn(write))
      .catch((err) => this.failed(err, 'could not write event', entry));
    entry.tail = done;
    this.inflight.add(done);
    void done.then(() => this.inflight.delete(done));
  }

  private writing = 0;
  private readonly turns: (() => void)[] = [];

  /** Runs a write once fewer than maxInFlight are running, in the order they were asked for. */
  private async inTurn(write: () => Promise<void>): Promise<void> {
    // A finishing write hands its slot straight to the next waiter, so the limit is never exceeded.
    if (this.writing >= this.settings.maxInFlight)
      await new Promise<void>((resolve) => this.turns.push(resolve));
    else this.writing++;
    try {
      if (this.waitTurn && !this.closed) await this.waitTurn();
      await write();
    } finally {
      const next = this.turns.shift();
      if (next) next();
      else this.writing--;
    }
  }

  private async create(entry: Entry, series?: EventSeries): Promise<void> {
    const name = eventName(entry.body.regarding.name ?? '');
    await this.sink.create({
      metadata: { name, namespace: entry.namespace },
      ...entry.body,
      ...(series && { series }),
    });
    entry.name = name;
    entry.sent = Math.max(entry.sent, series?.count ?? 1);
  }

  private async sync(entry: Entry): Promise<void> {
    const series = { count: entry.count, lastObservedTime: entry.lastObservedTime };
    if (series.count <= entry.sent) return;
    // No name: the first create failed, so this is another try, with the count so far.
    if (entry.name === undefined) return this.create(entry, series);
    try {
      await this.sink.patchSeries(entry.namespace, entry.name, series);
      entry.sent = series.count;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.create(entry, series);
    }
  }

  /** Logs at most one failure per interval, with the number suppressed since the last. */
  private failed(err: unknown, msg: string, entry?: Entry): void {
    const now = this.clock.now();
    if (now - this.lastFailureLog < FAILURE_LOG_INTERVAL_MS) {
      this.suppressedFailures++;
      return;
    }
    const { reason, regarding } = entry?.body ?? {};
    this.logger.warn({ err: oneLine(err), reason, regarding, suppressed: this.suppressedFailures }, msg);
    this.lastFailureLog = now;
    this.suppressedFailures = 0;
  }
}

function toReference(o: Regarding): ObjectReference {
  if (!('metadata' in o)) return { ...o };
  const { name, namespace, uid, resourceVersion } = o.metadata;
  return { apiVersion: o.apiVersion, kind: o.kind, name, namespace, uid, resourceVersion };
}

const identity = (ref: ObjectReference | undefined) =>
  ref ? [ref.uid ?? '', ref.kind ?? '', ref.namespace ?? '', ref.name ?? ''] : [];

const eventKey = (b: Entry['body']) =>
  JSON.stringify([identity(b.regarding), identity(b.related), b.type, b.reason, b.action, b.note]);

function recorderMetrics(registry: Registry) {
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    (registry.getSingleMetric(name) as Counter<L> | undefined) ??
    new Counter({ name, help, labelNames, registers: [registry] });
  return {
    emitted: counter('portico_events_emitted_total', 'Event occurrences, repeats included.', [
      'type',
      'reason',
    ]),
    dropped: counter(
      'portico_events_dropped_total',
      'New Events over the per-object limit or not written.',
      [],
    ),
  };
}
