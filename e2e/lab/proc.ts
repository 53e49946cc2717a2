/**
 * What /proc says about a process: enough to tell "the process we started" from a later process
 * that reused its pid, and to wait for processes that are not our children to exit.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from './exec.js';

interface Stat {
  state: string;
  /** Field 22 of /proc/<pid>/stat: clock ticks since boot; with the pid, unique for the uptime. */
  startTime: string;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19];
  return state && startTime ? { state, startTime } : undefined;
}

/** The start time of a running process, or undefined if there is no such process. */
export function processStartTime(pid: number): string | undefined {
  return readStat(pid)?.startTime;
}

/** The command line, space separated; '' for zombies and kernel threads, undefined if gone. */
export function processCommand(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return undefined;
  }
}

/** True while the process exists and is not a zombie. */
export function isRunning(pid: number, startTime?: string): boolean {
  const stat = readStat(pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return false;
  return startTime === undefined || stat.startTime === startTime;
}

/** Waits until none of the processes runs; resolves with those still running at the deadline. */
export async function waitForExit(
  procs: readonly { pid: number; startTime?: string }[],
  timeoutMs: number,
): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = procs.filter((p) => isRunning(p.pid, p.startTime));
    if (left.length === 0 || Date.now() >= deadline) return left.map((p) => p.pid);
    await sleep(20);
  }
}

/** Pids of the processes inside a named network namespace (`ip netns pids`); [] if it does not exist. */
export async function netnsPids(netns: string): Promise<number[]> {
  try {
    const out = await run('ip', ['netns', 'pids', netns]);
    return out
      .split('\n')
      .filter((l) => /^\d+$/.test(l.trim()))
      .map(Number);
  } catch {
    return [];
  }
}

/** Sends a signal, ignoring processes that are already gone. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}
