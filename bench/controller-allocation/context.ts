/** What every phase of the controller-allocation benchmark shares: options, clients, and what it scrapes. */
import { join } from 'node:path';
import type { ControlPlane } from '../../e2e/cluster/control-plane.js';
import { ControllerProcess } from '../../e2e/controller/harness.js';
import type { KubeClient } from '../../src/k8s/client.js';
import { packageRoot } from '../../src/util/package-root.js';
import { timed } from '../lib/concurrency.js';
import { CpuMeter } from '../lib/machine.js';
import { delta, histogramTotals } from '../lib/prometheus.js';
import { round } from '../lib/stats.js';

/** The baseline's namespaces, before and after the controller run. */
export const BASELINE_NAMESPACES = ['portico-bench-baseline', 'portico-bench-baseline-after'] as const;
export const RUN_NS = 'portico-bench-allocation';
/** The patch-only baselines between two backlog repetitions: `${PATCH_NS}-<k>`. */
export const PATCH_NS = 'portico-bench-patch';
export const REFERENCE_NS = 'portico-bench-reference';
export const WARM_UP_NS = 'portico-bench-warm-up';
export const WARM_UP_SERVICES = 300;
export const RESULTS_DIR = join(packageRoot(), 'bench', 'results');
/** Controller logs and (with --cpu-prof) profiles of the last run. */
export const RUN_DIR = join(RESULTS_DIR, 'controller-allocation');

export interface Options {
  services: number;
  workers: number;
  createConcurrency: number;
  singles: number;
  /** How many times (a*) is measured, each between two patch-only baselines. */
  backlogReps: number;
  /** Sample the controllers' CPU (slows them down: for finding where time goes, not for the figures). */
  cpuProf: boolean;
  /** The controllers' PORTICO_LOG_LEVEL; default unset (info), as in the Deployment. */
  logLevel: string | undefined;
  /** Also time the reference controller (lib/reference-controller.ts) on the same N. */
  reference: boolean;
}

export const progress = (msg: string) =>
  process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
export const perSecond = (count: number, elapsedMs: number) => round((count * 1000) / elapsedMs, 0);
/** performance.now() of a wall-clock time (a log line's). */
export const perfOf = (wallMs: number) => wallMs - (Date.now() - performance.now());

export interface Context {
  o: Options;
  plane: ControlPlane;
  admin: KubeClient;
  /** The benchmark's own ServiceAccount (lib/writer-account.ts): the same authz path and API priority as the controller's. */
  writerClient: KubeClient;
  /** Every controller started, stopped ones too. */
  controllers: Set<ControllerProcess>;
}

/** The API server's own account of its work: requests, API-priority queueing, admission plugins, etcd. */
export async function apiserverRequests(plane: ControlPlane) {
  const text = (await plane.adminRequest('GET', '/metrics', undefined, { timeoutMs: 30_000 })).text;
  const totals = (metric: string, groupBy: string[], where?: Record<string, string>) =>
    histogramTotals(text, metric, groupBy, where);
  return {
    requests: totals('apiserver_request_duration_seconds', ['verb', 'group', 'resource', 'subresource']),
    apfWait: totals('apiserver_flowcontrol_request_wait_duration_seconds', ['priority_level'], {
      execute: 'true',
    }),
    admission: totals('apiserver_admission_controller_admission_duration_seconds', ['operation', 'name']),
    etcd: totals('etcd_request_duration_seconds', ['operation', 'type']),
  };
}
export type ApiserverScrape = Awaited<ReturnType<typeof apiserverRequests>>;

export function apiserverDelta(before: ApiserverScrape, after: ApiserverScrape) {
  return {
    requests: delta(before.requests, after.requests).slice(0, 12),
    apfWait: delta(before.apfWait, after.apfWait),
    admission: delta(before.admission, after.admission).slice(0, 12),
    etcd: delta(before.etcd, after.etcd).slice(0, 12),
  };
}

export async function controllerHistograms(controller: ControllerProcess) {
  const text = await controller.metrics();
  return {
    queueWait: histogramTotals(text, 'portico_workqueue_queue_duration_seconds', ['name']),
    work: histogramTotals(text, 'portico_workqueue_work_duration_seconds', ['name']),
    reconcile: histogramTotals(text, 'portico_controller_reconcile_duration_seconds', ['result']),
  };
}
export type ControllerScrape = Awaited<ReturnType<typeof controllerHistograms>>;

export function controllerDelta(before: ControllerScrape, after: ControllerScrape) {
  return {
    queueWait: delta(before.queueWait, after.queueWait),
    work: delta(before.work, after.work),
    reconcile: delta(before.reconcile, after.reconcile),
  };
}

export function cpuMeter(ctx: Context): CpuMeter {
  return new CpuMeter(() => {
    const pids: Record<string, number> = { ...ctx.plane.pids(), bench: process.pid };
    for (const c of ctx.controllers) if (c.running && c.pid) pids[`controller ${c.identity}`] = c.pid;
    return pids;
  });
}

/** One timed step: its duration, rate, CPU and what the API server served meanwhile. */
export async function step(ctx: Context, count: number, body: () => Promise<void>) {
  const api = await apiserverRequests(ctx.plane);
  const cpu = cpuMeter(ctx);
  const elapsed = await timed(body);
  const cpuUse = cpu.read();
  return {
    ms: round(elapsed),
    perSecond: perSecond(count, elapsed),
    cpu: cpuUse,
    apiserver: apiserverDelta(api, await apiserverRequests(ctx.plane)),
  };
}

export async function startController(ctx: Context, identity: string): Promise<ControllerProcess> {
  // As the Deployment runs it: info logs (unless asked), the default leader-election timings.
  const c = await ControllerProcess.start(ctx.plane, {
    identity,
    args: ['--workers', String(ctx.o.workers)],
    leaderElection: 'default',
    logLevel: ctx.o.logLevel ?? 'info',
    logPath: join(RUN_DIR, `controller-${identity}.log`),
  });
  ctx.controllers.add(c);
  return c;
}
