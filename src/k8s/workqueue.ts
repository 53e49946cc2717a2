import { Counter, exponentialBuckets, Gauge, Histogram, type Registry } from 'prom-client';
import { type Clock, realClock, type Timer } from '../util/clock.js';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.js';

export interface ReconcileResult {
  /** If > 0, process the key again after this many milliseconds (the failure count is reset). */
  requeueAfterMs?: number;
}

// biome-ignore lint/suspicious/noConfusingVoidType: handlers are often async functions that return nothing.
export type Reconciler<K extends string> = (key: K) => Promise<ReconcileResult | void>;

/** Thrown by a handler for failures that retrying cannot fix: logged and counted, never retried. */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

/** The subset of a pino logger the queue uses. */
export interface WorkQueueLogger {
  error(obj: object, msg: string): void;
}

export interface WorkQueueOptions {
  /** Identifies the queue in logs and in the `name` metric label. */
  name: string;
  /** Maximum number of handlers running at once. */
  concurrency: number;
  clock?: Clock;
  /** Delays for retries after failures. Default: `defaultControllerRateLimiter(clock)`. */
  rateLimiter?: RateLimiter;
  /** Metrics are registered here (shared safely between queues); none are kept without one. */
  registry?: Registry;
  logger?: WorkQueueLogger;
}

const consoleLogger: WorkQueueLogger = { error: (obj, msg) => console.error(msg, obj) };

/**
 * A controller-runtime style work queue. A key is held at most once while waiting, is never handed
 * to two workers at once, and a key added while it is being processed runs again once that run ends,
 * so the handler always observes the latest state. Failures are retried with the rate limiter's delay.
 */
export class WorkQueue<K extends string = string> {
  readonly name: string;
  private readonly concurrency: number;
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;
  private readonly logger: WorkQueueLogger;
  private readonly metrics: Metrics | undefined;
  // Key -> clock time it entered the state. Maps keep insertion order: `waiting` is a de-duplicated FIFO.
  private readonly waiting = new Map<K, number>();
  private readonly processing = new Map<K, number>();
  /** Keys added while being processed. */
  private readonly dirty = new Map<K, number>();
  private readonly delayed = new Map<K, { at: number; timer: Timer }>();
  private drainWaiters: (() => void)[] = [];
  private started = false;
  private stopping: Promise<void> | undefined;
  private stopped: (() => void) | undefined;

  constructor(
    options: WorkQueueOptions,
    private readonly handler: Reconciler<K>,
  ) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
    }
    this.name = options.name;
    this.concurrency = options.concurrency;
    this.clock = options.clock ?? realClock;
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter(this.clock);
    this.logger = options.logger ?? consoleLogger;
    this.metrics = options.registry && createMetrics(options.registry, this.name, () => this.running());
  }

  /** Keys waiting for a worker (not counting keys re-added while in flight). */
  get len(): number {
    return this.waiting.size;
  }

  /** Handlers currently running. */
  get inFlight(): number {
    return this.processing.size;
  }

  get shuttingDown(): boolean {
    return this.stopping !== undefined;
  }

  /** Failures counted for `key` by the rate limiter since its last success. */
  numRequeues(key: K): number {
    return this.rateLimiter.retries(key);
  }

  /** Begins handing keys to workers. Keys may be added before; they wait until then. */
  start(): void {
    if (this.started || this.shuttingDown) return;
    this.started = true;
    this.pump();
  }

  add(key: K): void {
    if (this.shuttingDown || this.waiting.has(key) || this.dirty.has(key)) return;
    this.metrics?.adds.inc();
    // A key being processed is only marked; finish() moves it back to `waiting`.
    (this.processing.has(key) ? this.dirty : this.waiting).set(key, this.clock.now());
    this.pump();
  }

  /** Adds `key` after `delayMs`; if it is already scheduled, the earlier of the two deadlines wins. */
  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.clock.setTimer(delayMs, () => {
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { at, timer });
  }

  /** Adds `key` after the rate limiter's delay for it, counting a retry. */
  addRateLimited(key: K): void {
    if (this.shuttingDown) return;
    this.metrics?.retries.inc();
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Clears the rate limiter's failure history for `key`. */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  /**
   * For tests: resolves once nothing is waiting or in flight, or once a shut-down queue has finished.
   * Delayed adds whose timer has not fired yet are not waited for (with a fake clock, advance it
   * first), and keys added before `start()` keep it pending until the queue is started.
   */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
      this.checkDrained();
    });
  }

  /** Stops taking work, drops waiting and delayed keys, and resolves when in-flight handlers finish. */
  shutdown(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = new Promise((resolve) => {
      this.stopped = resolve;
    });
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    this.waiting.clear();
    this.dirty.clear();
    this.metrics?.depth.set(0);
    this.checkDrained();
    return this.stopping;
  }

  private pump(): void {
    while (this.started && !this.shuttingDown && this.processing.size < this.concurrency) {
      const next = this.waiting.entries().next();
      if (next.done) break;
      const [key, addedAt] = next.value;
      this.waiting.delete(key);
      const now = this.clock.now();
      this.metrics?.latency.observe((now - addedAt) / 1000);
      this.processing.set(key, now);
      void this.process(key);
    }
    this.metrics?.depth.set(this.waiting.size);
  }

  private async process(key: K): Promise<void> {
    try {
      // Calling the handler from a promise callback turns synchronous throws into rejections and
      // keeps it from running inside add() or pump().
      const result = await Promise.resolve(key).then(this.handler);
      this.rateLimiter.forget(key);
      // As in controller-runtime, a zero delay means "no requeue"; it would otherwise spin.
      const after = result?.requeueAfterMs ?? 0;
      if (after > 0 && Number.isFinite(after)) this.addAfter(key, after);
    } catch (err) {
      if (err instanceof TerminalError) {
        this.rateLimiter.forget(key);
        this.metrics?.terminal.inc();
        this.logger.error({ queue: this.name, key, err }, 'reconcile failed permanently, not retrying');
      } else {
        this.addRateLimited(key);
        this.logger.error(
          { queue: this.name, key, err, failures: this.numRequeues(key) },
          'reconcile failed',
        );
      }
    } finally {
      this.finish(key);
    }
  }

  private finish(key: K): void {
    const startedAt = this.processing.get(key) ?? this.clock.now();
    this.processing.delete(key);
    this.metrics?.work.observe((this.clock.now() - startedAt) / 1000);
    const addedAt = this.dirty.get(key);
    if (addedAt !== undefined) {
      this.dirty.delete(key);
      this.waiting.set(key, addedAt);
    }
    this.pump();
    this.checkDrained();
  }

  private checkDrained(): void {
    if (this.processing.size > 0) return;
    if (this.shuttingDown) {
      this.metrics?.detach();
      this.stopped?.();
    } else if (this.waiting.size > 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** How long each running handler has been running so far, in seconds. */
  private running(): number[] {
    const now = this.clock.now();
    return [...this.processing.values()].map((startedAt) => (now - startedAt) / 1000);
  }
}

type Metrics = ReturnType<typeof createMetrics>;

/** Scrape-time probes per registry, so queues sharing a registry all report their running time. */
const probes = new WeakMap<Registry, Set<() => void>>();

function createMetrics(registry: Registry, name: string, running: () => number[]) {
  const p = 'portico_workqueue_';
  const labelNames = ['name'] as const;
  const registers = [registry];
  function shared<M>(metric: string, make: (name: string) => M): M {
    return (registry.getSingleMetric(p + metric) as M | undefined) ?? make(p + metric);
  }
  const collect = () => {
    for (const probe of probes.get(registry) ?? []) probe();
  };
  const gauge = (metric: string, help: string) =>
    shared(metric, (n) => new Gauge({ name: n, help, labelNames, registers, collect })).labels({ name });
  const counter = (metric: string, help: string) => {
    const c = shared(metric, (n) => new Counter({ name: n, help, labelNames, registers })).labels({ name });
    c.inc(0); // export the series from the start, so rate() sees the first increment
    return c;
  };
  const buckets = exponentialBuckets(0.001, 4, 10); // 1 ms .. 262 s
  const histogram = (metric: string, help: string) =>
    shared(metric, (n) => new Histogram({ name: n, help, labelNames, registers, buckets })).labels({ name });

  const unfinished = gauge('unfinished_work_seconds', 'Seconds spent so far by running handlers.');
  const longest = gauge('longest_running_processor_seconds', 'Seconds the longest running handler has run.');
  const probe = () => {
    const seconds = running();
    unfinished.set(seconds.reduce((a, b) => a + b, 0));
    longest.set(Math.max(0, ...seconds));
  };
  if (!probes.has(registry)) probes.set(registry, new Set());
  probes.get(registry)!.add(probe);
  return {
    depth: gauge('depth', 'Keys waiting for a worker.'),
    adds: counter('adds_total', 'Keys added to the queue.'),
    retries: counter('retries_total', 'Keys re-added after a failed run.'),
    terminal: counter('terminal_errors_total', 'Runs that failed with a TerminalError and were dropped.'),
    latency: histogram('queue_duration_seconds', 'Seconds a key waits before a worker takes it.'),
    work: histogram('work_duration_seconds', 'Seconds a handler takes to process a key.'),
    detach() {
      probes.get(registry)?.delete(probe);
      unfinished.set(0);
      longest.set(0);
    },
  };
}
