/**
 * One container of a Pod on a lab node: its process, its restarts (restartPolicy and
 * CrashLoopBackOff, restart.ts), its readiness probe (probe.ts, run by prober.ts) and what the
 * Pod status says about it (an ObservedContainer for pod-status.ts).
 */
import type { Logger } from '../../../src/util/logger.js';
import type { LabState } from '../state.js';
import { type ExitStatus, type RunningProcess, startContainerProcess } from './container-process.js';
import type { ObservedContainer, Termination } from './pod-status.js';
import type { Container, Pod } from './pod-types.js';
import {
  initialProbeState,
  nextProbeAt,
  type ProbeState,
  probeSettings,
  probeTarget,
  recordProbeResult,
} from './probe.js';
import { runProbe } from './prober.js';
import { type BackoffOptions, crashLoopMessage, planRestart } from './restart.js';

/** Kubernetes timestamps have whole seconds: anything finer would not read back equal. */
export const rfc3339 = (ms: number = Date.now()): string =>
  new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

export interface ContainerOptions {
  pod: Pod;
  container: Container;
  argv: string[];
  env: Record<string, string>;
  cwd?: string;
  netns: string;
  nodeNetns: string;
  podIP: string;
  logPath: string;
  state: LabState;
  backoff: BackoffOptions;
  logger: Logger;
  /** Restarts so far: a kubelet that starts again counts the runs of the containers it found. */
  restartCount?: number;
  /** Called whenever what the status says about this container may have changed. */
  onChange: () => void;
}

type Phase =
  | { kind: 'running'; proc: RunningProcess; startedAt: number }
  | { kind: 'backoff'; message: string; timer: NodeJS.Timeout }
  | { kind: 'terminated'; termination: Termination; exitCode: number }
  | { kind: 'idle' };

export class ContainerRunner {
  private phase: Phase = { kind: 'idle' };
  private restartCount = 0;
  private backoffCount = 0;
  private lastTermination: Termination | undefined;
  private probe: ProbeState = initialProbeState();
  private probeTimer: NodeJS.Timeout | undefined;
  /** Bumped on every start and stop, so that late callbacks of an earlier run do nothing. */
  private run = 0;
  private stopping = false;
  private readonly log: Logger;

  constructor(private readonly o: ContainerOptions) {
    this.log = o.logger.child({ container: o.container.name });
    this.restartCount = o.restartCount ?? 0;
  }

  get name(): string {
    return this.o.container.name;
  }

  start(): void {
    if (this.stopping) return;
    const run = ++this.run;
    const { pod, container } = this.o;
    const proc = startContainerProcess({
      name: `${pod.metadata.namespace}/${pod.metadata.name}/${container.name}`,
      netns: this.o.netns,
      argv: this.o.argv,
      env: this.o.env,
      cwd: this.o.cwd,
      logPath: this.o.logPath,
      state: this.o.state,
    });
    const startedAt = Date.now();
    this.phase = { kind: 'running', proc, startedAt };
    this.probe = initialProbeState();
    this.log.info({ pid: proc.pid, restartCount: this.restartCount }, 'container started');
    void proc.exited.then((status) => this.exited(run, startedAt, status));
    this.scheduleProbe(run, startedAt);
    this.o.onChange();
  }

  /** SIGTERM, SIGKILL after `graceMs`; no restart afterwards. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.probeTimer);
    const phase = this.phase;
    if (phase.kind === 'backoff') {
      clearTimeout(phase.timer);
      this.phase = { kind: 'idle' };
    }
    if (phase.kind !== 'running') return;
    phase.proc.kill('SIGTERM');
    const killer = setTimeout(() => {
      this.log.warn({ graceMs }, 'container did not stop within its grace period; killing it');
      phase.proc.kill('SIGKILL');
    }, graceMs);
    await phase.proc.exited;
    clearTimeout(killer);
  }

  observed(): ObservedContainer {
    const base = { restartCount: this.restartCount, lastTermination: this.lastTermination };
    const p = this.phase;
    switch (p.kind) {
      case 'running':
        return { ...base, state: 'running', startedAt: rfc3339(p.startedAt), ready: this.ready() };
      case 'backoff':
        return { ...base, state: 'waiting', reason: 'CrashLoopBackOff', message: p.message, ready: false };
      case 'terminated':
        return { ...base, state: 'terminated', ...p.termination, ready: false };
      case 'idle':
        return { ...base, state: 'waiting', ready: false };
    }
  }

  /** Ready as the status reports it: running, and the readiness probe (if any) passed. */
  ready(): boolean {
    return this.phase.kind === 'running' && (!this.o.container.readinessProbe || this.probe.ready);
  }

  /** Running, or going to run again. */
  get active(): boolean {
    return this.phase.kind === 'running' || this.phase.kind === 'backoff';
  }

  get pid(): number | undefined {
    return this.phase.kind === 'running' ? this.phase.proc.pid : undefined;
  }

  private exited(run: number, startedAt: number, status: ExitStatus): void {
    if (run !== this.run) return;
    clearTimeout(this.probeTimer);
    const finishedAt = Date.now();
    const termination: Termination = {
      exitCode: status.exitCode,
      startedAt: rfc3339(startedAt),
      finishedAt: rfc3339(finishedAt),
    };
    this.log.info({ exitCode: status.exitCode, signal: status.signal }, 'container exited');
    const plan = this.stopping
      ? ({ restart: false } as const)
      : planRestart(
          this.o.pod.spec.restartPolicy,
          { exitCode: status.exitCode, startedAt, finishedAt, backoffCount: this.backoffCount },
          this.o.backoff,
        );
    if (!plan.restart) {
      this.phase = { kind: 'terminated', termination, exitCode: status.exitCode };
      this.o.onChange();
      return;
    }
    this.lastTermination = termination;
    this.backoffCount = plan.backoffCount;
    const restart = () => {
      if (run !== this.run || this.stopping) return;
      this.restartCount++;
      this.start();
    };
    if (plan.delayMs === 0) {
      restart();
      return;
    }
    const { name, namespace, uid } = this.o.pod.metadata;
    const message = crashLoopMessage(plan.delayMs, this.name, {
      name: name ?? '',
      namespace: namespace ?? '',
      uid: uid ?? '',
    });
    this.phase = { kind: 'backoff', message, timer: setTimeout(restart, plan.delayMs) };
    this.o.onChange();
  }

  private scheduleProbe(run: number, startedAt: number): void {
    const probe = this.o.container.readinessProbe;
    if (!probe) return;
    const wait = Math.max(0, nextProbeAt(this.probe, probe, startedAt) - Date.now());
    this.probeTimer = setTimeout(() => void this.runProbe(run, startedAt), wait);
  }

  private async runProbe(run: number, startedAt: number): Promise<void> {
    const probe = this.o.container.readinessProbe;
    if (!probe || run !== this.run || this.phase.kind !== 'running') return;
    const target = probeTarget(probe, this.o.podIP, this.o.container);
    const where = { nodeNetns: this.o.nodeNetns, podNetns: this.o.netns };
    const result = await runProbe(target, where, probeSettings(probe).timeoutMs).catch((err: Error) => ({
      ok: false,
      detail: err.message,
    }));
    if (run !== this.run || this.phase.kind !== 'running') return;
    const before = this.probe.ready;
    this.probe = recordProbeResult(this.probe, probe, result.ok, Date.now());
    if (this.probe.ready !== before) {
      this.log.info({ ready: this.probe.ready, detail: result.detail }, 'readiness changed');
      this.o.onChange();
    }
    this.scheduleProbe(run, startedAt);
  }
}
