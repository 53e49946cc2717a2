/**
 * Starts FRR daemons in a namespace with their own pathspace (`-N <netns>`), so several FRR
 * instances (the lab's router, a test's router) coexist on one machine. Each daemon runs in the
 * foreground under `ip netns exec`, logging to `<stateDir>/<daemon>.log`.
 */
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../exec.js';
import { isRunning, processCommand } from '../proc.js';
import { type Daemon, spawnDaemon, waitUntilReady } from './daemon.js';
import { FRR_BIN_DIR, frrRunDir, frrUser, zebraSocket } from './runtime-paths.js';

export type FrrDaemon = 'zebra' | 'bgpd' | 'bfdd';

export interface FrrStartOptions {
  stateDir: string;
  /** The whole frr.conf; every daemon reads it and ignores the other daemons' lines. */
  config: string;
  /** zebra first: the others register with it. */
  daemons: readonly FrrDaemon[];
  /** Called as soon as each daemon has a pid, before readiness is known. */
  onSpawn: (daemon: Daemon) => void;
  timeoutMs?: number;
}

/** `vtysh -N <netns> -c <command>` (vtysh reaches the daemons over their unix sockets). */
export function vtysh(netns: string, command: string, daemon?: FrrDaemon): Promise<string> {
  return run('vtysh', ['-N', netns, ...(daemon ? ['-d', daemon] : []), '-c', command], { timeoutMs: 10_000 });
}

/** Pids from the pathspace's pid files whose processes still run: another FRR in this namespace. */
function runningFrrPids(netns: string): number[] {
  const runDir = frrRunDir(netns);
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir)
    .filter((f) => f.endsWith('.pid'))
    .map((f) => Number(readFileSync(join(runDir, f), 'utf8').trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 0 && isRunning(pid))
    .filter((pid) => processCommand(pid)?.includes(`-N ${netns}`));
}

function prepareRunDir(netns: string, config: string): string {
  const user = frrUser();
  if (!user || !existsSync(join(FRR_BIN_DIR, 'zebra'))) {
    throw new Error('FRR is not installed: apt-get install frr');
  }
  const runDir = frrRunDir(netns);
  const running = runningFrrPids(netns);
  if (running.length > 0) {
    throw new Error(
      `FRR already runs with pathspace ${netns} (pids ${running.join(', ')}): stop that router first`,
    );
  }
  rmSync(runDir, { recursive: true, force: true }); // sockets and pid files of a crashed run
  mkdirSync(runDir, { recursive: true, mode: 0o755 });
  chownSync(runDir, user.uid, user.gid);
  // FRR reads its config after dropping to the frr user, so the copy it reads lives here.
  const confPath = join(runDir, 'frr.conf');
  writeFileSync(confPath, config, { mode: 0o640 });
  chownSync(confPath, user.uid, user.gid);
  return confPath;
}

export async function startFrr(netns: string, options: FrrStartOptions): Promise<Daemon[]> {
  const { stateDir, daemons: names, timeoutMs = 15_000 } = options;
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, 'frr.conf'), options.config);
  const confPath = prepareRunDir(netns, options.config);
  const started: Daemon[] = [];
  for (const name of names) {
    const daemon = await spawnDaemon({
      name,
      netns,
      argv: [
        join(FRR_BIN_DIR, name),
        ...['-N', netns, '-F', 'traditional', '-u', 'frr', '-g', 'frr'],
        ...[
          '-f',
          confPath,
          '-i',
          join(frrRunDir(netns), `${name}.pid`),
          '--log',
          'stdout',
          '--log-level',
          'info',
        ],
      ],
      logPath: join(stateDir, `${name}.log`),
      command: confPath,
    });
    started.push(daemon);
    options.onSpawn(daemon);
    if (name === 'zebra') {
      await waitUntilReady('zebra', async () => existsSync(zebraSocket(netns)), started, timeoutMs);
    }
  }
  await waitUntilReady(
    `FRR (${names.join(', ')}) in ${netns}`,
    async () => {
      const shown = (await vtysh(netns, 'show daemons')).trim().split(/\s+/);
      if (!names.every((n) => shown.includes(n))) return false;
      if (!names.includes('bgpd')) return true;
      return (await vtysh(netns, 'show running-config', 'bgpd')).includes('router bgp ');
    },
    started,
    timeoutMs,
  );
  return started;
}

/** Removes the pathspace directory once its daemons are gone. */
export function removeFrrRunDir(netns: string): void {
  rmSync(frrRunDir(netns), { recursive: true, force: true });
}
