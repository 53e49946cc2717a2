import { Counter, Gauge, type Registry } from 'prom-client';
import { type Clock, realClock, type Timer } from '../util/clock.js';
import { type Logger, silentLogger } from '../util/logger.js';
import type { KubeClient } from './client.js';
import { isAlreadyExists, isConflict, isNotFound, oneLine } from './errors.js';
import {
  decide,
  JITTER_FACTOR,
  type LeaderElectionTimings,
  leaderElectionTimings,
  type Observation,
  observe,
  releaseSpec,
} from './leader-election-core.js';
import type { ResourceClient } from './resource-client.js';
import { Resources } from './resources.js';
import type { Lease } from './types.js';

export interface LeaderElectorOptions extends Partial<LeaderElectionTimings> {
  client: KubeClient;
  namespace: string;
  /** Name of the Lease object. */
  name: string;
  /** Unique per candidate, e.g. the pod name. */
  identity: string;
  clock?: Clock;
  logger?: Logger;
  registry?: Registry;
  /** Called on acquiring the lease; `signal` aborts the instant leadership is lost. Stop all work then. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called synchronously when leadership is lost or given up, right after `signal` aborts. */
  onStoppedLeading(): void;
  /** Called with each new holder this candidate observes, itself included. */
  onNewLeader?(identity: string): void;
  /** On stop(), give the lease up so a successor takes over at once. Default true. */
  releaseOnStop?: boolean;
  /**
   * After losing leadership, compete again instead of returning from run(). Default false: like
   * client-go's controllers, the caller should exit, so no state from the lost term survives.
   */
  reacquireOnLoss?: boolean;
  random?: () => number;
}

type Attempt =
  | { kind: 'conflict' | 'error' }
  | { kind: 'ok'; sentAt: number }
  | { kind: 'held'; expiresAt: number };

const LAPSED = 'no successful renewal within the renew deadline';

/**
 * Lease-based leader election with client-go's semantics: a follower takes the lease over once it
 * has seen it unchanged for its lease duration (by its own clock), and the leader stops acting as
 * soon as it has gone `renewDeadlineMs` without a successful renewal, which is shorter, so two
 * candidates never act at once (given clocks that tick at the same rate; a process frozen between
 * checking and acting can still act late, as with any lease). Every write is a PUT with the read
 * resourceVersion, so concurrent candidates cannot both win.
 *
 * run() resolves when stop() is called or, unless `reacquireOnLoss`, when leadership is lost.
 */
export class LeaderElector {
  private readonly timings: LeaderElectionTimings;
  private readonly leases: ResourceClient<Lease>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly stopController = new AbortController();
  private readonly metrics: ReturnType<typeof electionMetrics> | undefined;
  private readonly label: string;
  private running: Promise<void> | undefined;
  private observed: Observation | undefined;
  /** The lease as we last wrote it. */
  private written: Lease | undefined;
  /** Local time at which the last successful write was sent; the renew deadline runs from here. */
  private renewedAt = 0;
  private deadline: Timer | undefined;
  private reportedLeader = '';
  /** Set while leading; aborted when leadership ends. */
  private term: AbortController | undefined;

  constructor(private readonly options: LeaderElectorOptions) {
    const { namespace, name, identity } = options;
    if (!namespace || !name || !identity) {
      throw new Error('leader election needs a namespace, a lease name and a non-empty identity');
    }
    this.timings = leaderElectionTimings(options);
    this.leases = options.client.resource<Lease>(Resources.leases);
    this.clock = options.clock ?? realClock;
    this.label = `${namespace}/${name}`;
    this.log = (options.logger ?? silentLogger).child({ lease: this.label, identity });
    this.metrics = options.registry && electionMetrics(options.registry);
    this.metrics?.leading.set({ lease: this.label }, 0);
  }

  /**
   * Whether we lead now. It checks the renew deadline against the clock (ending the term if it has
   * passed), so it is right even when timers run late, as after a pause: call it right before acting.
   */
  isLeader(): boolean {
    if (this.term && this.clock.now() >= this.renewedAt + this.timings.renewDeadlineMs) this.lose(LAPSED);
    return this.term !== undefined;
  }

  run(): Promise<void> {
    if (this.running) throw new Error('LeaderElector.run() may only be called once');
    this.running = this.loop();
    return this.running;
  }

  /** Stops competing; if leading, ends the term and (releaseOnStop) gives the lease up, then resolves. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    const stop = this.stopController.signal;
    while (!stop.aborted) {
      if (!(await this.acquire())) break;
      await this.lead();
      if (!this.options.reacquireOnLoss) break;
    }
    if (stop.aborted && this.options.releaseOnStop !== false) await this.release();
  }

  private async acquire(): Promise<boolean> {
    const stop = this.stopController.signal;
    const { renewDeadlineMs, retryPeriodMs } = this.timings;
    let conflicts = 0;
    this.log.info('trying to acquire the lease');
    while (!stop.aborted) {
      const result = await this.withTimeout(renewDeadlineMs, stop, (s) => this.attempt(s, false));
      if (result.kind === 'ok' && !stop.aborted && this.clock.now() - result.sentAt < renewDeadlineMs) {
        this.renewed(result.sentAt);
        return true;
      }
      // A lost race (409): re-read at once, which shows the winner.
      if (result.kind === 'conflict' && conflicts++ === 0) continue;
      conflicts = 0;
      let delay = retryPeriodMs * (1 + JITTER_FACTOR * (this.options.random ?? Math.random)());
      // Unlike client-go, also wake when the holder's lease would expire, to take over without delay.
      if (result.kind === 'held') delay = Math.min(delay, Math.max(0, result.expiresAt - this.clock.now()));
      await this.clock.sleep(delay, stop);
    }
    return false;
  }

  private async lead(): Promise<void> {
    if (this.stopController.signal.aborted) return this.deadline?.cancel();
    const term = new AbortController();
    this.term = term;
    const active = AbortSignal.any([term.signal, this.stopController.signal]);
    this.log.info('started leading');
    this.metrics?.leading.set({ lease: this.label }, 1);
    this.metrics?.transitions.inc({ lease: this.label });
    this.guard('onStartedLeading', () => this.options.onStartedLeading(term.signal));
    try {
      let delay = this.timings.retryPeriodMs;
      while (!active.aborted) {
        await this.clock.sleep(delay, active);
        const result = await this.attempt(active, true);
        if (!this.isLeader() || active.aborted) break;
        if (result.kind === 'held') this.lose('another candidate holds the lease');
        if (result.kind === 'ok') this.renewed(result.sentAt);
        // A 409 (the lease changed under us): re-read at once, but only once in a row.
        delay = result.kind === 'conflict' && delay > 0 ? 0 : this.timings.retryPeriodMs;
      }
    } finally {
      this.lose('stopping');
    }
  }

  /** Restarts the renew deadline from `sentAt`, the local time our last successful write was sent. */
  private renewed(sentAt: number): void {
    this.renewedAt = sentAt;
    this.deadline?.cancel();
    const remaining = sentAt + this.timings.renewDeadlineMs - this.clock.now();
    this.deadline = this.clock.setTimer(remaining, () => this.lose(LAPSED));
  }

  /** Ends the term at once: aborts the leader's signal, then calls onStoppedLeading. Idempotent. */
  private lose(reason: string): void {
    const term = this.term;
    if (!term) return;
    this.term = undefined;
    this.deadline?.cancel();
    this.log.info({ reason }, 'stopped leading');
    this.metrics?.leading.set({ lease: this.label }, 0);
    this.metrics?.transitions.inc({ lease: this.label });
    term.abort(new Error(reason));
    this.guard('onStoppedLeading', () => this.options.onStoppedLeading());
  }

  /** One read-decide-write round (client-go's tryAcquireOrRenew). */
  private async attempt(signal: AbortSignal, leading: boolean): Promise<Attempt> {
    const { namespace, name, identity } = this.options;
    try {
      const current = await this.leases.get(name, namespace, signal).catch((err) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
      const decision = decide({
        lease: current,
        identity,
        now: this.clock.now(),
        wallNow: this.clock.wallNow(),
        leaseDurationMs: this.timings.leaseDurationMs,
        observed: this.observed,
      });
      this.observed = decision.observed;
      this.report(current?.spec?.holderIdentity ?? '');
      if (decision.action === 'wait') return { kind: 'held', expiresAt: decision.expiresAt };
      if (leading && decision.action !== 'renew') return { kind: 'held', expiresAt: 0 };
      const sentAt = this.clock.now();
      const body: Lease = {
        ...current,
        metadata: current?.metadata ?? { name, namespace },
        spec: decision.spec,
      };
      this.written = current
        ? await this.leases.update(body, { signal })
        : await this.leases.create(body, { signal });
      this.observed = observe(this.written, this.clock.now(), undefined);
      if (decision.action === 'acquire') {
        this.log.info({ previousHolder: decision.previousHolder || undefined }, 'acquired the lease');
      }
      this.report(identity);
      return signal.aborted ? { kind: 'error' } : { kind: 'ok', sentAt };
    } catch (err) {
      if (isConflict(err) || isAlreadyExists(err)) return { kind: 'conflict' };
      if (!signal.aborted) this.log.warn({ err: oneLine(err) }, 'could not read or write the lease');
      return { kind: 'error' };
    }
  }

  private report(holder: string): void {
    if (!holder || holder === this.reportedLeader) return;
    this.reportedLeader = holder;
    this.log.info({ leader: holder }, 'new leader');
    this.guard('onNewLeader', () => this.options.onNewLeader?.(holder));
  }

  /** Runs a callback; what it throws or rejects with is logged, never propagated into the election. */
  private guard(name: string, fn: () => unknown): void {
    const fail = (err: unknown) => this.log.error({ err: oneLine(err) }, `${name} failed`);
    try {
      Promise.resolve(fn()).catch(fail);
    } catch (err) {
      fail(err);
    }
  }

  /**
   * Gives the lease up if our claim has not lapsed. It reads first: a renewal cut short by stop()
   * may have been written all the same, leaving our last resourceVersion stale.
   */
  private async release(): Promise<void> {
    const { namespace, name, identity } = this.options;
    const remaining = this.renewedAt + this.timings.renewDeadlineMs - this.clock.now();
    if (this.written?.spec?.holderIdentity !== identity || remaining <= 0) return;
    try {
      await this.withTimeout(remaining, new AbortController().signal, async (signal) => {
        const current = await this.leases.get(name, namespace, signal);
        if (current.spec?.holderIdentity !== identity) return;
        const body: Lease = { ...current, spec: releaseSpec(current.spec, this.clock.wallNow()) };
        this.written = await this.leases.update(body, { signal });
        this.log.info('released the lease');
      });
    } catch (err) {
      this.log.warn({ err: oneLine(err) }, 'could not release the lease; it will expire instead');
    }
  }

  /** Runs `fn` with a signal that aborts with `parent` or after `ms` on our clock (fake clocks too). */
  private async withTimeout<T>(
    ms: number,
    parent: AbortSignal,
    fn: (s: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const own = new AbortController();
    const timer = this.clock.setTimer(ms, () => own.abort(new Error(`no answer within ${ms} ms`)));
    try {
      return await fn(AbortSignal.any([own.signal, parent]));
    } finally {
      timer.cancel();
    }
  }
}

/** Shared by every elector on the registry (one per lease), so a second elector reuses them. */
function electionMetrics(registry: Registry) {
  const common = { labelNames: ['lease'] as const, registers: [registry] };
  const [gauge, counter] = ['portico_leader_is_leader', 'portico_leader_transitions_total'];
  return {
    leading:
      (registry.getSingleMetric(gauge) as Gauge<'lease'> | undefined) ??
      new Gauge({ name: gauge, help: '1 while this process holds the leader lease, else 0.', ...common }),
    transitions:
      (registry.getSingleMetric(counter) as Counter<'lease'> | undefined) ??
      new Counter({ name: counter, help: 'Times this process started or stopped leading.', ...common }),
  };
}
