/**
 * Starting, awaiting and stopping the lab supervisor (`portico lab serve`, see supervisor.ts) from
 * `lab up` and `lab down`: it runs detached, with its output in `<state>/logs/supervisor.log`.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { tailFile } from '../cluster/process.js';
import { isRunning, processCommand, signal, waitForExit } from './proc.js';
import { clusterPaths } from './record.js';
import type { LabState } from './state.js';
import { SUPERVISOR_COMMAND, SUPERVISOR_NAME } from './supervisor.js';

const READY_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 30_000;

/** bin/portico.js of this checkout, found upwards from this file (source under tsx, or dist/). */
function porticoBin(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const bin = join(dir, 'bin', 'portico.js');
    if (existsSync(bin)) return bin;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find bin/portico.js above the lab code');
    dir = parent;
  }
}

/** Spawns `portico lab serve` detached, records it, and waits for its `ready` file. */
export async function startSupervisor(state: LabState, log: (line: string) => void): Promise<void> {
  const paths = clusterPaths(state);
  mkdirSync(paths.logDir, { recursive: true });
  rmSync(paths.ready, { force: true });
  const fd = openSync(paths.supervisorLog, 'w');
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(process.execPath, [porticoBin(), 'lab', 'serve'], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the lab supervisor');
  state.recordProcess({ name: SUPERVISOR_NAME, pid, command: SUPERVISOR_COMMAND });
  let exit: string | undefined;
  child.once('exit', (code, sig) => {
    exit = sig ?? `code ${code}`;
  });
  log(
    `starting the cluster (control plane on the host, kube-proxy on every node); log: ${paths.supervisorLog}`,
  );
  const deadline = performance.now() + READY_TIMEOUT_MS;
  while (!existsSync(paths.ready)) {
    if (exit !== undefined) {
      throw new Error(
        `the lab supervisor exited (${exit}) before the cluster was ready; last lines of ${paths.supervisorLog}:\n${tailFile(paths.supervisorLog, 30)}`,
      );
    }
    if (performance.now() > deadline) {
      throw new Error(
        `the cluster was not ready after ${READY_TIMEOUT_MS / 1000} s; last lines of ${paths.supervisorLog}:\n${tailFile(paths.supervisorLog, 30)}`,
      );
    }
    await sleep(100);
  }
}

/** The recorded supervisor, if it still runs. */
export function runningSupervisor(state: LabState): number | undefined {
  const data = state.exists() ? state.read() : undefined;
  const recorded = data?.processes.filter((p) => p.name === SUPERVISOR_NAME) ?? [];
  return recorded.find(
    (p) => isRunning(p.pid, p.startTime) && (processCommand(p.pid) ?? '').includes(p.command),
  )?.pid;
}

/** SIGTERM to the supervisor, which stops its children in order; SIGKILL if it takes too long. */
export async function stopSupervisor(state: LabState): Promise<void> {
  const pid = runningSupervisor(state);
  if (pid === undefined) return;
  signal(pid, 'SIGTERM');
  const stubborn = await waitForExit([{ pid }], STOP_GRACE_MS);
  for (const p of stubborn) signal(p, 'SIGKILL');
}
