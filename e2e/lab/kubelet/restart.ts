/**
 * Restarts as the kubelet does them: the Pod's restartPolicy decides whether an exited container
 * runs again, and CrashLoopBackOff spaces the restarts. As in the kubelet, the first restart after
 * a clean run is immediate; each further one waits twice as long as the one before (base 10 s,
 * capped at 5 min), and a container that ran for 2 × max (10 min by default) starts over.
 */
import type { RestartPolicy } from './pod-types.js';

export interface BackoffOptions {
  /** The first back-off (kubelet: 10 s; the lab may pass less). */
  baseMs?: number;
  /** The cap (kubelet: 5 min). */
  maxMs?: number;
  /** A container that ran this long resets the back-off (kubelet: 2 × maxMs). */
  resetAfterMs?: number;
}

/** Whether a container that exited with `exitCode` runs again (restartPolicy defaults to Always). */
export function shouldRestart(restartPolicy: RestartPolicy | undefined, exitCode: number): boolean {
  if (restartPolicy === 'Never') return false;
  if (restartPolicy === 'OnFailure') return exitCode !== 0;
  return true;
}

/**
 * The wait before the next restart, given the restarts since the back-off last reset: 0 for the
 * first, then baseMs, 2 × baseMs, … up to maxMs.
 */
export function restartDelayMs(restartCount: number, options: BackoffOptions = {}): number {
  const { baseMs = 10_000, maxMs = 300_000 } = options;
  if (restartCount <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(restartCount - 1, 52));
}

/** Restarts counted towards the back-off, after a run from startedAt to finishedAt. */
export function backoffCount(
  previous: number,
  startedAt: number,
  finishedAt: number,
  options: BackoffOptions = {},
) {
  const resetAfterMs = options.resetAfterMs ?? 2 * (options.maxMs ?? 300_000);
  return finishedAt - startedAt >= resetAfterMs ? 0 : previous;
}

export interface ExitedContainer {
  exitCode: number;
  startedAt: number;
  finishedAt: number;
  /** Restarts since the back-off last reset (0 for a container that never restarted). */
  backoffCount: number;
}

export type RestartPlan =
  | { restart: false }
  | { restart: true; at: number; delayMs: number; backoffCount: number };

/** Whether and when an exited container restarts, and the back-off count once it has. */
export function planRestart(
  restartPolicy: RestartPolicy | undefined,
  exited: ExitedContainer,
  options: BackoffOptions = {},
): RestartPlan {
  if (!shouldRestart(restartPolicy, exited.exitCode)) return { restart: false };
  const count = backoffCount(exited.backoffCount, exited.startedAt, exited.finishedAt, options);
  const delayMs = restartDelayMs(count, options);
  return { restart: true, at: exited.finishedAt + delayMs, delayMs, backoffCount: count + 1 };
}

/** A Go time.Duration string (10s, 2m40s, 500ms), as kubelet messages print them. */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  if (h > 0) return `${h}h${m}m${s}s`;
  return m > 0 ? `${m}m${s}s` : `${s}s`;
}

/** The kubelet's CrashLoopBackOff message. */
export function crashLoopMessage(
  delayMs: number,
  container: string,
  pod: { name: string; namespace: string; uid: string },
) {
  return `back-off ${goDuration(delayMs)} restarting failed container=${container} pod=${pod.name}_${pod.namespace}(${pod.uid})`;
}
