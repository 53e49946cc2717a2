/** The measured phases of the controller-allocation benchmark, in the order they run. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ControllerProcess } from '../../e2e/controller/harness.js';
import { ingressIPs } from '../../e2e/controller/harness.js';
import type { KubeClient } from '../../src/k8s/client.js';
import { Resources } from '../../src/k8s/resources.js';
import type { Service } from '../../src/k8s/types.js';
import { AddressWatch } from '../lib/address-watch.js';
import { forEachLimited, timed } from '../lib/concurrency.js';
import { allocationTimes, firstLine, parseLog } from '../lib/controller-log.js';
import { memoryOf } from '../lib/machine.js';
import { delta } from '../lib/prometheus.js';
import { ReferenceController } from '../lib/reference-controller.js';
import {
  benchIP,
  createBenchService,
  createServices,
  deleteServices,
  ensureNamespace,
  patchIngress,
  serviceNames,
} from '../lib/services.js';
import { ms, round, summarize } from '../lib/stats.js';
import {
  apiserverDelta,
  apiserverRequests,
  type Context,
  controllerDelta,
  controllerHistograms,
  cpuMeter,
  PATCH_NS,
  perfOf,
  perSecond,
  progress,
  REFERENCE_NS,
  RUN_NS,
  startController,
  step,
  WARM_UP_NS,
  WARM_UP_SERVICES,
} from './context.js';

/** In-flight status writes reported for information beside the controller's own --workers. */
export const WIDE_IN_FLIGHT = 64;

/**
 * A fresh API server (and etcd) is slower for its first few hundred requests; without this the first
 * phase measured, the baseline, would carry that and flatter the ratio.
 */
export async function warmUp(ctx: Context): Promise<void> {
  const { o, admin, writerClient } = ctx;
  const names = serviceNames('warm', Math.min(o.services, WARM_UP_SERVICES));
  await ensureNamespace(admin, WARM_UP_NS);
  progress(`warming up the API server with ${names.length} Services`);
  await createServices(admin, WARM_UP_NS, names, o.createConcurrency);
  await forEachLimited(names, o.workers, (name, i) =>
    patchIngress(writerClient, WARM_UP_NS, name, benchIP(i)),
  );
  await deleteServices(admin, WARM_UP_NS, names, o.createConcurrency);
}

/**
 * 1. What this API server accepts: N creates, then N status patches at the controller's concurrency.
 * Run once before the controller and once after it (in another namespace, with the controller stopped
 * and its Services deleted): creates get dearer over a run's history, so the two bracket the run.
 */
export async function baseline(ctx: Context, namespace: string) {
  const { o, admin, writerClient } = ctx;
  await ensureNamespace(admin, namespace);
  const names = serviceNames('base', o.services);
  progress(`baseline in ${namespace}: creating ${o.services} Services (${o.createConcurrency} in flight)`);
  const create = await step(ctx, o.services, () =>
    createServices(admin, namespace, names, o.createConcurrency),
  );
  progress(`baseline in ${namespace}: ${o.services} status patches, ${o.workers} in flight`);
  const patch = await timedPatches(ctx, namespace, names);
  progress(`baseline in ${namespace}: ${o.services} status patches, ${WIDE_IN_FLIGHT} in flight`);
  const patchWide = await step(ctx, o.services, () =>
    forEachLimited(names, WIDE_IN_FLIGHT, (name, i) =>
      patchIngress(writerClient, namespace, name, benchIP(o.services + i)),
    ),
  );
  progress(`baseline in ${namespace}: deleting the ${o.services} Services`);
  const deleteMs = await timed(() => deleteServices(admin, namespace, names, o.createConcurrency));
  return {
    create,
    patch,
    patchWide,
    createPlusPatchMs: round(create.ms + patch.ms),
    deleteMs: round(deleteMs),
  };
}

/**
 * (d): N bare status patches at the controller's concurrency, timed with the instrument that times
 * the controller: until a watch on the namespace has seen every address (`responsesMs`: until the
 * last patch was answered).
 */
async function timedPatches(ctx: Context, namespace: string, names: readonly string[]) {
  const { o, admin, writerClient } = ctx;
  const watch = new AddressWatch(admin, namespace);
  await watch.start();
  let responsesMs = 0;
  const patch = await step(ctx, names.length, async () => {
    responsesMs = await timed(() =>
      forEachLimited(names, o.workers, (name, i) => patchIngress(writerClient, namespace, name, benchIP(i))),
    );
    await watch.wait(names, 60_000 + names.length * 20);
  });
  await watch.stop();
  return { ...patch, responsesMs: round(responsesMs) };
}

/**
 * 1b (with --reference). N Services created while the least possible controller serves them: the
 * same status patch and Event per Service as Portico's, from a bare watch. Its time is what the
 * API traffic alone costs here, so (a) over it is what Portico's own work adds.
 */
export async function reference(ctx: Context) {
  const { o, admin, writerClient } = ctx;
  await ensureNamespace(admin, REFERENCE_NS);
  const names = serviceNames('ref', o.services);
  const controller = new ReferenceController(writerClient, REFERENCE_NS, o.workers, 0);
  await controller.start();
  progress(`reference: creating ${o.services} Services, served by the reference controller`);
  let createMs = 0;
  try {
    const run = await step(ctx, o.services, async () => {
      createMs = await timed(() => createServices(admin, REFERENCE_NS, names, o.createConcurrency));
      await controller.waitServed(o.services, 120_000 + o.services * 50);
    });
    return { ...run, createMs: round(createMs) };
  } finally {
    controller.stop();
    progress(`reference: deleting the ${o.services} Services`);
    await deleteServices(admin, REFERENCE_NS, names, o.createConcurrency);
  }
}

/** Stops every controller and deletes the run's Services, so the second baseline starts where the first did. */
export async function clearRun(ctx: Context): Promise<void> {
  for (const c of ctx.controllers) await c.stop();
  const services = ctx.admin.resource<Service>(Resources.services);
  const names = (await services.listAll({ namespace: RUN_NS })).items.map((s) => s.metadata.name!);
  progress(`deleting the run's ${names.length} Services`);
  await deleteServices(ctx.admin, RUN_NS, names, ctx.o.createConcurrency);
}

/** Counts of creates returned and addresses seen per time slice of the run, for the printed timeline. */
function timeline(t0: number, created: number[], addressed: number[], slices = 12) {
  const end = Math.max(...created, ...addressed) - t0;
  const width = Math.max(100, Math.ceil(end / slices / 100) * 100);
  const rows: { fromMs: number; created: number; addressed: number }[] = [];
  for (let from = 0; from < end; from += width) rows.push({ fromMs: from, created: 0, addressed: 0 });
  const slot = (t: number) => rows[Math.min(rows.length - 1, Math.floor((t - t0) / width))]!;
  for (const t of created) slot(t).created++;
  for (const t of addressed) slot(t).addressed++;
  return { sliceMs: width, rows };
}

/** 2. N Services at once with the controller running; 3. one at a time on the full cluster. */
export async function allocation(ctx: Context, watch: AddressWatch, controller: ControllerProcess) {
  const { o, admin } = ctx;
  const names = serviceNames('svc', o.services);
  const sent: number[] = [];
  const returned: number[] = [];
  const creationTimestamps: string[] = [];
  const apiBefore = await apiserverRequests(ctx.plane);
  const ctlBefore = await controllerHistograms(controller);
  const cpu = cpuMeter(ctx);
  progress(
    `allocation: creating ${o.services} Services (${o.createConcurrency} in flight), controller running`,
  );
  const t0 = performance.now();
  await forEachLimited(names, o.createConcurrency, async (name, i) => {
    sent[i] = performance.now();
    const svc = await createBenchService(admin, RUN_NS, name);
    returned[i] = performance.now();
    creationTimestamps[i] = svc.metadata.creationTimestamp ?? '';
  });
  const createsDone = performance.now();
  progress(`allocation: creates done in ${ms(createsDone - t0)}; waiting for every address`);
  await watch.wait(names, 120_000 + o.services * 50);
  const at = names.map((n) => watch.addressed(n)!.at);
  const allAddressed = Math.max(...at);
  const cpuUse = cpu.read();
  const memory = memoryOf(controller.pid!);
  const apiAfter = await apiserverRequests(ctx.plane);
  const ctlAfter = await controllerHistograms(controller);

  const ips = names.map((n) => watch.addressed(n)!.ips.join(','));
  const logged = allocationTimes(parseLog(controller.log()), RUN_NS);
  const toWrite: number[] = [];
  const writeToSeen: number[] = [];
  names.forEach((name, i) => {
    const wall = logged.get(name);
    if (wall === undefined) return;
    toWrite.push(perfOf(wall) - returned[i]!);
    writeToSeen.push(at[i]! - perfOf(wall));
  });
  const result = {
    allAddressedMs: round(allAddressed - t0),
    createPhaseMs: round(createsDone - t0),
    createsPerSecond: perSecond(o.services, createsDone - t0),
    addressedWhenCreatesDone: at.filter((t) => t <= createsDone).length,
    tailAfterCreatesMs: round(allAddressed - createsDone),
    latencyMs: summarize(at.map((t, i) => t - returned[i]!)),
    latencyFromSendMs: summarize(at.map((t, i) => t - sent[i]!)),
    /** Create returned -> controller logged the allocation (watch delivery, queue, reconcile, write). */
    createToControllerWriteMs: summarize(toWrite),
    /** Controller logged -> our watch saw it (ms resolution of the log; may be slightly negative). */
    controllerWriteToSeenMs: summarize(writeToSeen),
    distinctAddresses: new Set(ips).size,
    creationTimestamps: { first: creationTimestamps[0], last: creationTimestamps.at(-1) },
    controllerMemory: memory,
    cpu: cpuUse,
    apiserver: apiserverDelta(apiBefore, apiAfter),
    controller: controllerDelta(ctlBefore, ctlAfter),
    timeline: timeline(t0, returned, at),
  };
  return result;
}

export async function singles(ctx: Context, watch: AddressWatch, controller: ControllerProcess) {
  const { o, admin } = ctx;
  // Let the burst's Event writes and pool status settle: this phase is about a quiet, full cluster.
  await sleep(2000);
  const ctlBefore = await controllerHistograms(controller);
  const fromReturn: number[] = [];
  const fromSend: number[] = [];
  progress(`single: ${o.singles} Services one at a time on a cluster with ${o.services} allocated`);
  for (const name of serviceNames('single', o.singles)) {
    const sent = performance.now();
    await createBenchService(admin, RUN_NS, name);
    const returned = performance.now();
    await watch.wait([name], 30_000);
    const at = watch.addressed(name)!.at;
    fromReturn.push(at - returned);
    fromSend.push(at - sent);
  }
  const ctlAfter = await controllerHistograms(controller);
  return {
    latencyMs: summarize(fromReturn),
    latencyFromSendMs: summarize(fromSend),
    controller: controllerDelta(ctlBefore, ctlAfter),
    controllerMemory: memoryOf(controller.pid!),
  };
}

async function addressesNow(client: KubeClient): Promise<Map<string, string>> {
  const list = await client.resource<Service>(Resources.services).listAll({ namespace: RUN_NS });
  return new Map(list.items.map((s) => [s.metadata.name!, ingressIPs(s).join(',')]));
}

async function readyzAnswers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** 4. SIGTERM the controller, start a new one, time its way back, and check no address moved. */
export async function restart(ctx: Context, watch: AddressWatch, old: ControllerProcess) {
  const before = await addressesNow(ctx.admin);
  const unaddressed = [...before.values()].filter((ips) => !ips).length;
  progress(`restart: SIGTERM to the controller with ${before.size} Services`);
  const stopStarted = performance.now();
  const exitCode = await old.stop('SIGTERM');
  const shutdownMs = performance.now() - stopStarted;
  const changesBefore = watch.changes;
  const apiBefore = await apiserverRequests(ctx.plane);

  const next = await startController(ctx, 'second');
  // start() resolves right after spawn(): this is the process's start.
  const spawned = performance.now();
  let readyAt: number | undefined;
  let doneAt: number | undefined;
  const deadline = spawned + 120_000;
  while ((readyAt === undefined || doneAt === undefined) && performance.now() < deadline && next.running) {
    if (readyAt === undefined && (await readyzAnswers(next.metricsPort))) readyAt = performance.now();
    if (doneAt === undefined && next.log().includes('initial reconcile done')) doneAt = performance.now();
    await sleep(10);
  }
  if (readyAt === undefined || doneAt === undefined) {
    throw new Error(
      `the restarted controller did not become ready and reconcile within 120 s:\n${next.tail(30)}`,
    );
  }
  const lines = parseLog(next.log());
  const fromSpawn = (msg: string) => {
    const line = firstLine(lines, msg);
    return line ? round(perfOf(line.at) - spawned, 0) : undefined;
  };
  const done = firstLine(lines, 'initial reconcile done');
  // Give a wrong decision time to reach the API server and our watch before comparing.
  await sleep(1000);
  const after = await addressesNow(ctx.admin);
  const apiAfter = await apiserverRequests(ctx.plane);
  const changed = [...before].filter(([name, ips]) => after.get(name) !== ips).map(([name]) => name);
  const statusWrites = delta(apiBefore.requests, apiAfter.requests).find(
    (r) => r.key === 'PATCH services status' || r.key === 'PUT services status',
  );
  return {
    services: before.size,
    unaddressedBefore: unaddressed,
    oldExitCode: exitCode,
    shutdownMs: round(shutdownMs),
    readyzMs: round(readyAt - spawned),
    reconciledSeenMs: round(doneAt - spawned),
    log: {
      controllerStartingMs: fromSpawn('controller starting'),
      startedLeadingMs: fromSpawn('started leading'),
      rebuiltAllocationsMs: fromSpawn('rebuilt allocations from Service status'),
      initialReconcileDoneMs: fromSpawn('initial reconcile done'),
      /** The controller's own figure: from leading (caches synced) to the queue drained. */
      initialReconcileOwnMs: done?.fields.ms,
    },
    changedAddresses: changed.length,
    changedExamples: changed.slice(0, 5),
    addressChangesSeenByWatch: watch.changes - changesBefore,
    statusWritesDuringRestart: statusWrites?.count ?? 0,
    controllerMemory: memoryOf(next.pid!),
  };
}

/**
 * 5. N Services that all exist before the controller starts (created while it was stopped): the
 * literal "N at once". No creates compete with the controller here, so its time to address them all
 * compares directly with (d), the same number of bare status patches: (a*) / (d). Repetition `rep`
 * of R; each has Services of its own names, so the watch times each afresh.
 */
export async function backlog(
  ctx: Context,
  watch: AddressWatch,
  running: ControllerProcess | undefined,
  rep: number,
) {
  const { o, admin } = ctx;
  await running?.stop('SIGTERM');
  // Like (d): N Services in the cluster, all to be addressed. The earlier phases' are deleted first.
  await clearRun(ctx);
  const names = serviceNames(`backlog${rep}`, o.services);
  progress(`backlog ${rep}/${o.backlogReps}: creating ${o.services} Services with no controller running`);
  await createServices(admin, RUN_NS, names, o.createConcurrency);
  const apiBefore = await apiserverRequests(ctx.plane);
  const cpu = cpuMeter(ctx);
  progress(`backlog ${rep}/${o.backlogReps}: starting the controller`);
  const next = await startController(ctx, rep === 1 ? 'third' : `backlog-${rep}`);
  const spawned = performance.now();
  await watch.wait(names, 120_000 + o.services * 50);
  const lastAt = Math.max(...names.map((n) => watch.addressed(n)!.at));
  const cpuUse = cpu.read();
  const lines = parseLog(next.log());
  const leading = firstLine(lines, 'started leading');
  const leadingAt = leading ? perfOf(leading.at) : undefined;
  return {
    services: o.services,
    spawnToAllAddressedMs: round(lastAt - spawned),
    /** From taking the lease (caches synced): the allocation and status writes alone. */
    leadingToAllAddressedMs: leadingAt === undefined ? undefined : round(lastAt - leadingAt),
    cpu: cpuUse,
    apiserver: apiserverDelta(apiBefore, await apiserverRequests(ctx.plane)),
    controllerMemory: memoryOf(next.pid!),
  };
}

/**
 * (d) between two backlog repetitions: the controller stopped and the run's Services deleted, N
 * Services created in a fresh namespace, then N bare status patches timed as phase 1 times them.
 */
export async function patchBaseline(ctx: Context, k: number) {
  const { o, admin } = ctx;
  await clearRun(ctx);
  const namespace = `${PATCH_NS}-${k}`;
  await ensureNamespace(admin, namespace);
  const names = serviceNames('patch', o.services);
  progress(`patch-only baseline ${k}: creating ${o.services} Services`);
  await createServices(admin, namespace, names, o.createConcurrency);
  progress(`patch-only baseline ${k}: ${o.services} status patches, ${o.workers} in flight`);
  const patch = await timedPatches(ctx, namespace, names);
  await deleteServices(admin, namespace, names, o.createConcurrency);
  return patch;
}
