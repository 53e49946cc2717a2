/**
 * Child processes of a test control plane: each appends stdout and stderr to its own log file,
 * can be stopped gracefully (SIGTERM, then SIGKILL) and is SIGKILLed if this process exits, even
 * by a crash that runs no exit handler (a V8 abort, SIGKILL): the kernel's parent-death signal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const running = new Set<ManagedProcess>();

/** util-linux's setpriv (in every Debian) execs the binary with PR_SET_PDEATHSIG, keeping its pid. */
const SETPRIV = '/usr/bin/setpriv';

export function withParentDeathSignal(binary: string, args: readonly string[]): [string, string[]] {
  if (process.platform !== 'linux' || !existsSync(SETPRIV)) return [binary, [...args]];
  return [SETPRIV, ['--pdeathsig', 'KILL', '--', binary, ...args]];
}

export class ManagedProcess {
  private readonly child: ChildProcess;
  /** Settles when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;
  private spawnError: string | undefined;

  constructor(
    readonly name: string,
    binary: string,
    args: readonly string[],
    readonly logPath: string,
  ) {
    const fd = openSync(logPath, 'a');
    try {
      const [command, argv] = withParentDeathSignal(binary, args);
      this.child = spawn(command, argv, { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    running.add(this);
    this.exited = new Promise((resolve) => {
      const done = (exit: Exit) => {
        running.delete(this);
        this.exit ??= exit;
        resolve(this.exit);
      };
      this.child.once('exit', (code, signal) => done({ code, signal }));
      this.child.once('error', (err) => {
        if (this.child.pid !== undefined) return console.error(`${name}: ${err.message}`);
        this.spawnError = err.message;
        done({ code: -1, signal: null });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exit === undefined && this.child.pid !== undefined;
  }

  /** Sends `signal` and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    if (this.alive) this.child.kill(signal);
    return this.exited;
  }

  /** SIGTERM, then SIGKILL if it is still running after `graceMs`. */
  async stop(graceMs = 10_000): Promise<Exit> {
    if (!this.alive) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Synchronous last resort, for `process.on('exit')`. */
  killNow(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }

  tail(lines = 40): string {
    return tailFile(this.logPath, lines);
  }

  describeExit(): string {
    const exit = this.exit;
    if (!exit) return `${this.name} is running`;
    if (this.spawnError) return `${this.name} could not be started (${this.spawnError})`;
    return `${this.name} exited (${exit.signal ?? `code ${exit.code}`})`;
  }
}

export function tailFile(path: string, lines = 40): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return `(no log at ${path})`;
  }
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** SIGKILLs every child still running; safe to call from an `exit` handler. */
export function killAllNow(): void {
  for (const proc of running) proc.killNow();
}

export interface WaitOptions {
  /** What we are waiting for, for the error message. */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Processes that must stay up while waiting; an exit fails the wait with their log tail. */
  watch: readonly ManagedProcess[];
}

/**
 * Polls `check` until it returns true. Fails when a watched process exits or the deadline passes;
 * both errors carry the tails of the watched logs. Errors thrown by `check` count as "not yet".
 */
export async function waitUntil(check: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = performance.now() + options.timeoutMs;
  let lastError = '';
  for (;;) {
    const dead = options.watch.find((proc) => !proc.alive);
    if (dead) {
      throw new Error(
        `${dead.describeExit()} while waiting for ${options.what}; last lines of ${dead.logPath}:\n${dead.tail()}`,
      );
    }
    try {
      if (await check()) return;
      lastError = '';
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (performance.now() > deadline) {
      const tails = options.watch.map((proc) => `--- ${proc.logPath}\n${proc.tail(25)}`).join('\n');
      const last = lastError ? ` (last error: ${lastError})` : '';
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${last}\n${tails}`);
    }
    await sleep(options.intervalMs ?? 100);
  }
}
