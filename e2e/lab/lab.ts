/**
 * `portico lab`: the lab as a command. `up` plans, checks, builds and records; everything else reads
 * the record (lab.json beside the state file) to know the topology.
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { clusterHealth, kubectlOverview } from './cluster-status.js';
import { createControlPlaneLink } from './control-plane-link.js';
import { setLink } from './faults.js';
import { hostRouteHealth } from './host-routes.js';
import { installPortico } from './install.js';
import { type LabPlan, type LabSpec, namespaceFor, planLab, planNamespaces } from './plan.js';
import { assertPreflight } from './preflight.js';
import { clusterPaths, readRecord, recordPath, writeRecord } from './record.js';
import { routerHealth, startLabRouter } from './router-control.js';
import { LabState } from './state.js';
import { labSummary } from './summary.js';
import { startSupervisor, stopSupervisor } from './supervisor-control.js';
import {
  describeTeardown,
  isLabTopologyNamespace,
  listNamespaces,
  type TeardownReport,
  teardown,
} from './teardown.js';
import { buildTopology } from './topology.js';

export interface LabUpOptions extends LabSpec {
  log?: (line: string) => void;
}

/** A mistake the user can fix; the CLI prints its message as one line. */
export class LabError extends Error {
  override readonly name = 'LabError';
}

/** The plan of the lab that is up, or a LabError saying there is none. */
function currentPlan(state = new LabState()): LabPlan {
  const record = readRecord(state);
  if (!record) throw new LabError('no lab is up (run `portico lab up`)');
  return planLab(record.spec);
}

export async function labUp(options: LabUpOptions = {}): Promise<string> {
  const { log = () => {}, ...spec } = options;
  const plan = planLab(spec);
  await assertPreflight({ router: plan.router.kind, ipv6: plan.spec.ipv6 });
  const state = new LabState();
  const existing = readRecord(state);
  const present = new Set(await listNamespaces());
  if (existing || planNamespaces(plan).some((ns) => present.has(ns))) {
    const since = existing ? ` since ${existing.createdAt}` : '';
    throw new LabError(`a lab is already up${since}: run \`portico lab down\` first, or use it as it is`);
  }
  // Ctrl-C: remove what was built, then exit 130. The build may fail meanwhile (its namespaces vanish);
  // that failure then waits for this cleanup instead of racing it to the exit code.
  let interruption: Promise<unknown> | undefined;
  const interrupted = () => {
    if (interruption) return;
    log('interrupted: removing what was built');
    // A second sweep catches what the interrupted step was starting while the first one ran.
    interruption = removeLab(state)
      .then(() => sleep(300))
      .then(() => removeLab(state))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    writeRecord(state, { spec: plan.spec, createdAt: new Date().toISOString(), phase: 'building' });
    const started = performance.now();
    log(`building ${plan.spec.nodes} nodes, a ${plan.router.kind} router and clients`);
    await buildTopology(plan, { state, log });
    log(`starting the ${plan.router.kind} router`);
    await startLabRouter(plan, state);
    log('joining the host to the switch as the control-plane node');
    await createControlPlaneLink(plan, state);
    await startSupervisor(state, log);
    await installPortico(clusterPaths(state).kubeconfig, log);
    writeRecord(state, { spec: plan.spec, createdAt: new Date().toISOString(), phase: 'up' });
    log(`lab up in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return labSummary(plan, {
      overview: await kubectlOverview(state),
      kubeconfig: clusterPaths(state).kubeconfig,
    });
  } catch (err) {
    if (interruption) await interruption;
    log('lab up failed: removing what was built');
    await removeLab(state);
    throw err;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

/** Removes everything the lab may have made (its recorded processes and `portico-` namespaces), with or without a state file. */
export async function labDown(options: { log?: (line: string) => void } = {}): Promise<string> {
  return describeTeardown(await removeLab(new LabState(), options.log));
}

/** The supervisor first (it stops its children in order, and would restart a killed kube-proxy), then the rest. */
async function removeLab(state: LabState, log?: (line: string) => void): Promise<TeardownReport> {
  await stopSupervisor(state);
  const report = await teardown({ state, matchNamespace: isLabTopologyNamespace, log });
  const paths = clusterPaths(state);
  for (const path of [recordPath(state), paths.kubeconfig, paths.ready]) rmSync(path, { force: true });
  return report;
}

export interface LabStatusReport {
  healthy: boolean;
  text: string;
}

export async function labStatus(): Promise<LabStatusReport> {
  const state = new LabState();
  const record = readRecord(state);
  if (!record) {
    const stray = (await listNamespaces()).filter(isLabTopologyNamespace);
    const text = stray.length
      ? `no lab is recorded, but these namespaces exist: ${stray.join(', ')} (run \`portico lab down\`)\n`
      : 'no lab is up\n';
    return { healthy: false, text };
  }
  const plan = planLab(record.spec);
  const present = new Set(await listNamespaces());
  const lines = [`lab created ${record.createdAt} (${record.phase})`];
  let healthy = record.phase === 'up';
  for (const ns of planNamespaces(plan)) {
    const ok = present.has(ns);
    healthy &&= ok;
    lines.push(`  ${ok ? 'ok     ' : 'MISSING'} namespace ${ns}`);
  }
  const routes = await hostRouteHealth(plan);
  healthy &&= routes.healthy;
  lines.push(...routes.lines.map((l) => `  ${l}`));
  const router = await routerHealth(plan, state);
  healthy &&= router.healthy;
  lines.push(...router.lines.map((l) => `  ${l}`));
  const cluster = await clusterHealth(plan, state);
  healthy &&= cluster.healthy;
  lines.push(...cluster.lines.map((l) => `  ${l}`));
  return { healthy, text: `${lines.join('\n')}\n` };
}

/** Runs a command inside one lab namespace, with this terminal; resolves to its exit code. */
export async function labExec(name: string, command: string[]): Promise<number> {
  const plan = currentPlan();
  const netns = namespaceFor(plan, name);
  if (!netns) {
    const names = [
      'switch',
      'router',
      'client',
      ...(plan.lanClient ? ['lan-client'] : []),
      ...plan.nodes.map((n) => n.name),
    ];
    throw new LabError(`no lab namespace "${name}" (choose one of ${names.join(', ')})`);
  }
  if (!existsSync(`/run/netns/${netns}`))
    throw new LabError(`namespace ${netns} does not exist: is the lab up?`);
  const child = spawn('ip', ['netns', 'exec', netns, ...command], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export async function labLink(node: string, state: 'down' | 'up'): Promise<void> {
  const plan = currentPlan();
  if (!plan.nodes.some((n) => n.name === node)) {
    throw new LabError(`no node "${node}" (the lab has ${plan.nodes.map((n) => n.name).join(', ')})`);
  }
  await setLink(plan, node, state);
}

/** The lab cluster's kubeconfig, once the lab runs a cluster. */
export function labKubeconfig(): string | undefined {
  const path = clusterPaths(new LabState()).kubeconfig;
  return existsSync(path) ? path : undefined;
}
