/**
 * Benchmark: how fast the controller gives addresses to many LoadBalancer Services, as a ratio to what
 * the same API server accepts from a client doing nothing but those writes, measured in the same run.
 * See bench/README.md for what each figure means.
 *
 *   node --import tsx bench/controller-allocation.ts [--services 5000] [--workers 16] [--singles 50] [--backlog-reps 3]
 *
 * Needs `npm run build` first: the controller runs as `node bin/portico.js controller` (dist/).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startControlPlane } from '../e2e/cluster/control-plane.js';
import type { ControllerProcess } from '../e2e/controller/harness.js';
import { createPool, installManifests } from '../e2e/controller/harness.js';
import { clientFor } from '../e2e/support/kube.js';
import type { KubeClient } from '../src/k8s/client.js';
import { packageRoot } from '../src/util/package-root.js';
import {
  BASELINE_NAMESPACES,
  type Context,
  type Options,
  progress,
  RESULTS_DIR,
  RUN_DIR,
  RUN_NS,
  startController,
} from './controller-allocation/context.js';
import {
  allocation,
  backlog,
  baseline,
  clearRun,
  patchBaseline,
  reference,
  restart,
  singles,
  warmUp,
} from './controller-allocation/phases.js';
import { printSummary, type Report } from './controller-allocation/report.js';
import { AddressWatch } from './lib/address-watch.js';
import { problems } from './lib/controller-log.js';
import { type ProfileSummary, summarizeProfile } from './lib/cpu-profile.js';
import { backgroundBusyPercent, machineFacts } from './lib/machine.js';
import { ensureNamespace } from './lib/services.js';
import { round } from './lib/stats.js';
import { writerKubeconfig } from './lib/writer-account.js';

function options(): Options {
  const { values } = parseArgs({
    options: {
      services: { type: 'string', default: '5000' },
      workers: { type: 'string', default: '16' },
      'create-concurrency': { type: 'string', default: '16' },
      singles: { type: 'string', default: '50' },
      'backlog-reps': { type: 'string', default: '3' },
      'cpu-prof': { type: 'boolean', default: false },
      'log-level': { type: 'string', default: '' },
      reference: { type: 'boolean', default: false },
    },
  });
  const int = (name: string, raw: string | undefined, min: number, max: number) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new Error(`--${name} must be a whole number from ${min} to ${max}, not "${raw}"`);
    }
    return n;
  };
  return {
    services: int('services', values.services, 1, 60_000),
    workers: int('workers', values.workers, 1, 256),
    createConcurrency: int('create-concurrency', values['create-concurrency'], 1, 256),
    singles: int('singles', values.singles, 1, 1000),
    backlogReps: int('backlog-reps', values['backlog-reps'], 1, 20),
    cpuProf: values['cpu-prof'] ?? false,
    logLevel: values['log-level'] || undefined,
    reference: values.reference ?? false,
  };
}

/** Makes the controllers started from now on write a CPU profile into RUN_DIR when they exit. */
function profileControllers(): void {
  const preload = pathToFileURL(join(packageRoot(), 'bench', 'lib', 'profile-preload.mjs')).href;
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${preload}`.trim();
  process.env.PORTICO_BENCH_PROFILE_DIR = RUN_DIR;
}

async function run(report: Report, ctx: Context): Promise<void> {
  const { plane, admin } = ctx;
  report.apiserverVersion = (await admin.version()).gitVersion;
  progress('installing the manifests (webhook pointed at a dead loopback port)');
  await installManifests(plane);
  await warmUp(ctx);
  report.baseline = await baseline(ctx, BASELINE_NAMESPACES[0]);

  await ensureNamespace(admin, RUN_NS);
  await createPool(admin, 'bench', { addresses: ['198.18.0.0/16'] });
  const watch = new AddressWatch(admin, RUN_NS);
  await watch.start();
  try {
    progress('starting the controller');
    const controller = await startController(ctx, 'first');
    await controller.waitForLog('initial reconcile done', 60_000);
    report.allocation = await allocation(ctx, watch, controller);
    report.single = await singles(ctx, watch, controller);
    report.restart = await restart(ctx, watch, controller);
    // (a*) R times, each bracketed by patch-only baselines: (d) before it and after it.
    report.backlogs = [];
    report.patchBaselines = [];
    for (let rep = 1; rep <= ctx.o.backlogReps; rep++) {
      if (rep > 1) report.patchBaselines.push(await patchBaseline(ctx, rep - 1));
      const running = [...ctx.controllers].find((c) => c.running);
      report.backlogs.push(await backlog(ctx, watch, running, rep));
    }
  } finally {
    await watch.stop();
  }
  await clearRun(ctx);
  report.baselineAfter = await baseline(ctx, BASELINE_NAMESPACES[1]);
  // Last, so that the two baselines sit at the same distance before and after the controller run.
  if (ctx.o.reference) report.reference = await reference(ctx);
}

/** The profiles the controllers of this run wrote (named by pid), summarized. */
function readProfiles(
  controllers: Iterable<ControllerProcess>,
): Record<string, ProfileSummary & { file: string }> {
  const out: Record<string, ProfileSummary & { file: string }> = {};
  for (const c of controllers) {
    const file = join(RUN_DIR, `controller-${c.pid}.cpuprofile`);
    if (existsSync(file)) out[c.identity] = { file, ...summarizeProfile(file) };
  }
  return out;
}

async function main(): Promise<number> {
  const o = options();
  rmSync(RUN_DIR, { recursive: true, force: true });
  mkdirSync(RUN_DIR, { recursive: true });
  const report: Report = {
    benchmark: 'controller-allocation',
    startedAt: new Date().toISOString(),
    machine: machineFacts(),
    options: o,
    controllerLogs: {},
    controllerProblems: {},
  };
  report.backgroundBusyPercent = await backgroundBusyPercent(2000);
  progress(`starting a control plane (etcd + kube-apiserver) for N=${o.services}`);
  const started = performance.now();
  if (o.cpuProf) profileControllers();
  const plane = await startControlPlane({ controllerManager: false });
  report.controlPlaneStartMs = round(performance.now() - started, 0);
  const controllers = new Set<ControllerProcess>();
  // The control plane kills its own processes on exit and Ctrl-C; the controllers are ours to kill.
  const killControllers = () => {
    for (const c of controllers) c.killNow();
  };
  process.on('exit', killControllers);
  const admin = clientFor(plane.kubeconfigPath);
  let writerClient: KubeClient | undefined;
  let failed = false;
  try {
    writerClient = clientFor(await writerKubeconfig(plane, admin));
    await run(report, { o, plane, admin, writerClient, controllers });
  } catch (err) {
    failed = true;
    report.error = err instanceof Error ? err.message : String(err);
    process.stderr.write(`\nbenchmark failed: ${report.error}\n`);
    for (const c of controllers)
      process.stderr.write(`--- controller ${c.identity} (${c.logPath})\n${c.tail(20)}\n`);
  } finally {
    for (const c of controllers) {
      await c.stop();
      report.controllerLogs[c.identity] = c.logPath;
      report.controllerProblems[c.identity] = problems(c.log());
    }
    if (o.cpuProf) report.controllerProfiles = readProfiles(controllers);
    writerClient?.close();
    admin.close();
    progress('stopping the control plane');
    await plane.stop();
  }
  const targets = printSummary(report);
  report.targets = targets;
  const path = join(RESULTS_DIR, 'controller-allocation.json');
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`results: ${path}\n`);
  if (failed) return 1;
  return targets.some((t) => t.pass === false) ? 3 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
