/**
 * Routing daemons as lab processes: started in the foreground inside a namespace, detached from
 * us (they outlive `portico lab up`), logging to a file, and described by a RecordedProcess, so
 * whoever holds the record (our own stop, or the lab's teardown after a crash) can stop exactly
 * that process and not a later one that reused its pid.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tailFile } from '../../cluster/process.js';
import { isRunning, processCommand, processStartTime, signal, waitForExit } from '../proc.js';
import type { RecordedProcess } from '../state.js';

export interface DaemonSpec {
  /** For messages and records: "bgpd", "bird", "speaker node-1". */
  name: string;
  netns: string;
  argv: readonly string[];
  logPath: string;
  /** A substring of the daemon's command line that only this daemon has (its config path). */
  command: string;
}

export interface Daemon {
  process: RecordedProcess;
  logPath: string;
  /** Why the daemon is gone ("bgpd exited with code 1"), or undefined while it runs. */
  exited(): string | undefined;
}

export async function spawnDaemon(spec: DaemonSpec): Promise<Daemon> {
  mkdirSync(dirname(spec.logPath), { recursive: true });
  const fd = openSync(spec.logPath, 'a');
  let exit: string | undefined;
  try {
    const child = spawn('ip', ['netns', 'exec', spec.netns, ...spec.argv], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.once('exit', (code, sig) => {
      exit = `${spec.name} exited with ${sig ?? `code ${code}`}`;
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new Error(`cannot start ${spec.name}: ${err.message}`)));
    });
    child.unref();
    const pid = child.pid!;
    const process: RecordedProcess = {
      name: spec.name,
      pid,
      startTime: processStartTime(pid) ?? '',
      command: spec.command,
      netns: spec.netns,
    };
    return { process, logPath: spec.logPath, exited: () => exit };
  } finally {
    closeSync(fd);
  }
}

/**
 * Polls `check` until it is true. Fails at once, with the log's last lines, when one of the
 * daemons exits; errors thrown by `check` count as "not yet".
 */
export async function waitUntilReady(
  what: string,
  check: () => Promise<boolean>,
  daemons: readonly Daemon[],
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const dead = daemons.find((d) => d.exited() !== undefined);
    if (dead)
      throw new Error(
        `${dead.exited()} while waiting for ${what}; ${dead.logPath}:\n${tailFile(dead.logPath, 15)}`,
      );
    try {
      if (await check()) return;
      last = '';
    } catch (err) {
      last = ` (last error: ${(err as Error).message})`;
    }
    if (Date.now() > deadline) {
      const logs = daemons.map((d) => `--- ${d.logPath}\n${tailFile(d.logPath, 15)}`).join('\n');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}\n${logs}`);
    }
    await sleep(100);
  }
}

/** True while the recorded process runs and is still the one recorded (same start, same command). */
export function isRecordedRunning(p: RecordedProcess): boolean {
  if (!isRunning(p.pid, p.startTime || undefined)) return false;
  const cmd = processCommand(p.pid);
  return cmd === '' || (cmd?.includes(p.command) ?? false);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when all are gone. Skips pids now used by others. */
export async function stopRecorded(processes: readonly RecordedProcess[], graceMs = 5_000): Promise<void> {
  const ours = processes.filter(isRecordedRunning);
  for (const p of ours) signal(p.pid, 'SIGTERM');
  const stubborn = await waitForExit(ours, graceMs);
  for (const pid of stubborn) signal(pid, 'SIGKILL');
  const left = await waitForExit(
    ours.filter((p) => stubborn.includes(p.pid)),
    2_000,
  );
  if (left.length > 0) throw new Error(`processes ${left.join(', ')} survived SIGKILL`);
}

/** The records of what a start function launched, kept in the state dir for its stop function. */
export function saveRecords(path: string, processes: readonly RecordedProcess[]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(processes, null, 2)}\n`);
}

export function loadRecords(path: string): RecordedProcess[] {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RecordedProcess[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
}

export function removeRecords(path: string): void {
  rmSync(path, { force: true });
}
