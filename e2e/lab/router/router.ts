/**
 * The lab's BGP router: FRR (default), BIRD 2 or GoBGP in the router namespace, passive, accepting
 * every node on the LAN as a peer, ECMP into the kernel, BFD where the daemon has it.
 *
 * Every process is reported through `record` the moment it has a pid (for the lab's state file)
 * and kept in `<stateDir>/router-processes.json`, so stopRouter works after a crash too.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LabPlan, RouterKind } from '../plan.js';
import type { RecordedProcess } from '../state.js';
import { renderBirdRouterConfig } from './bird-config.js';
import { removeBirdRunDir, startBird } from './bird-daemon.js';
import { type Daemon, loadRecords, removeRecords, saveRecords, stopRecorded } from './daemon.js';
import { renderFrrConfig } from './frr-config.js';
import { removeFrrRunDir, startFrr } from './frr-daemons.js';
import { startGobgp } from './gobgp-daemon.js';
import {
  type RouterCapabilities,
  type RouterTuningOptions,
  routerCapabilities,
  routerTuning,
} from './router-options.js';
import { birdRunDir, frrRunDir } from './runtime-paths.js';

export interface StartRouterOptions extends RouterTuningOptions {
  /** Configs, logs and the process records go here. */
  stateDir: string;
  /** Called with each process as soon as it has a pid. */
  record?: (process: RecordedProcess) => void;
  /** The gobgpd binary for the GoBGP router. Default: gobgpBinary('gobgpd'). */
  gobgpd?: string;
  /** Per readiness wait. Default 15 s. */
  timeoutMs?: number;
}

export interface RunningRouter {
  kind: RouterKind;
  netns: string;
  capabilities: RouterCapabilities;
  processes: RecordedProcess[];
}

const RECORDS = 'router-processes.json';

/** Directories outside the state dir that a router of this plan creates (for the lab's state file). */
export function routerRuntimeDirs(plan: LabPlan): string[] {
  return plan.router.kind === 'bird' ? [birdRunDir(plan.router.netns)] : [frrRunDir(plan.router.netns)];
}

export async function startRouter(plan: LabPlan, options: StartRouterOptions): Promise<RunningRouter> {
  const { kind, netns } = plan.router;
  const { stateDir, timeoutMs } = options;
  const tuning = routerTuning(plan, options);
  if (!existsSync(`/run/netns/${netns}`)) {
    throw new Error(`network namespace ${netns} does not exist: build the lab topology first`);
  }
  mkdirSync(stateDir, { recursive: true });
  const processes: RecordedProcess[] = [];
  const onSpawn = (daemon: Daemon) => {
    processes.push(daemon.process);
    saveRecords(join(stateDir, RECORDS), processes);
    options.record?.(daemon.process);
  };
  let zebra = false;
  try {
    if (kind === 'frr') {
      const config = renderFrrConfig(plan, tuning);
      const daemons = tuning.bfd ? (['zebra', 'bgpd', 'bfdd'] as const) : (['zebra', 'bgpd'] as const);
      await startFrr(netns, { stateDir, config, daemons, onSpawn, timeoutMs });
    } else if (kind === 'bird') {
      await startBird({
        name: 'bird',
        netns,
        config: renderBirdRouterConfig(plan, { ...tuning, stateDir }),
        configPath: join(stateDir, 'bird.conf'),
        logPath: join(stateDir, 'bird.stderr.log'),
        onSpawn,
        timeoutMs,
      });
    } else {
      ({ zebra } = await startGobgp(plan, {
        ...tuning,
        stateDir,
        binary: options.gobgpd,
        onSpawn,
        timeoutMs,
      }));
    }
  } catch (err) {
    // Only what this call started: the error may be that another router already runs here.
    if (processes.length > 0) await stopRouter(plan, { stateDir }).catch(() => {});
    throw err;
  }
  const capabilities = routerCapabilities(kind, zebra);
  return {
    kind,
    netns,
    capabilities: { ...capabilities, bfd: capabilities.bfd && tuning.bfd !== false },
    processes,
  };
}

/** The processes startRouter recorded in this state dir (for health checks). */
export function routerProcesses(stateDir: string): RecordedProcess[] {
  return loadRecords(join(stateDir, RECORDS));
}

/** Stops what startRouter recorded in the state dir (SIGTERM, then SIGKILL) and removes its sockets. */
export async function stopRouter(
  plan: LabPlan,
  options: { stateDir: string; graceMs?: number },
): Promise<void> {
  await stopRecorded(routerProcesses(options.stateDir), options.graceMs);
  if (plan.router.kind === 'bird') removeBirdRunDir(plan.router.netns);
  else removeFrrRunDir(plan.router.netns);
  removeRecords(join(options.stateDir, RECORDS));
}
