/**
 * Process-wide registry of running control planes, so that none outlives the test process:
 * on `exit` their children are SIGKILLed synchronously; on SIGINT/SIGTERM every plane is stopped
 * cleanly and the process exits with 130/143 (a second signal skips the clean stop).
 */
import { killAllNow } from './process.js';

export interface Registered {
  /** Graceful stop (SIGTERM, wait, clean up). */
  stop(): Promise<void>;
  /** Synchronous SIGKILL of every child, plus best-effort cleanup. */
  killNow(): void;
}

const planes = new Set<Registered>();
let stopping = false;

function onExit(): void {
  for (const plane of planes) plane.killNow();
  killAllNow();
}

function onSignal(signal: NodeJS.Signals): void {
  const code = signal === 'SIGINT' ? 130 : 143;
  if (stopping) {
    onExit();
    process.exit(code);
  }
  stopping = true;
  process.stderr.write(`\nportico e2e: ${signal}, stopping the test control plane(s)...\n`);
  void Promise.allSettled([...planes].map((plane) => plane.stop())).finally(() => process.exit(code));
}

function install(): void {
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function uninstall(): void {
  process.off('exit', onExit);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

export function register(plane: Registered): void {
  if (planes.size === 0) install();
  planes.add(plane);
}

export function unregister(plane: Registered): void {
  if (!planes.delete(plane)) return;
  if (planes.size === 0 && !stopping) uninstall();
}
