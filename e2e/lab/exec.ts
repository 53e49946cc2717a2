/**
 * Running the lab's commands (iproute2, nft, sysctl, …) without a shell. Failures carry the
 * command line and its stderr, so a broken step says exactly what the kernel refused.
 */
import { spawn } from 'node:child_process';

export interface ExecOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Killed with SIGKILL after this long. Default 30 s. */
  timeoutMs?: number;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly command: string,
    readonly result: ExecResult,
    detail = '',
  ) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with ${result.code}`;
    const stderr = result.stderr.trim().replaceAll('\n', ' | ');
    super(`\`${command}\` ${how}${stderr ? `: ${stderr}` : ''}${detail}`);
  }
}

export function formatCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`)).join(' ');
}

/** Runs a command and resolves with its outcome, whatever the exit code. Rejects only if it cannot start. */
export function exec(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 30_000,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // the command may exit before reading its input
    child.once('error', (e) => reject(new Error(`cannot run ${cmd}: ${e.message}`)));
    child.once('close', (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs a command and resolves with its stdout; rejects with a CommandError unless it exits 0. */
export async function run(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const result = await exec(cmd, args, opts);
  if (result.code !== 0) throw new CommandError(formatCommand(cmd, args), result);
  return result.stdout;
}

function netnsArgs(netns: string | undefined): string[] {
  return netns ? ['-n', netns] : [];
}

/** `ip [-n netns] args…` */
export function ip(netns: string | undefined, ...args: string[]): Promise<string> {
  return run('ip', [...netnsArgs(netns), ...args]);
}

/** `ip -j [-n netns] args…`, parsed. Empty output (some `ip` versions print nothing) is `[]`. */
export async function ipJson<T = unknown>(netns: string | undefined, ...args: string[]): Promise<T> {
  const out = await run('ip', ['-j', ...netnsArgs(netns), ...args]);
  return JSON.parse(out.trim() || '[]') as T;
}

/**
 * Many `ip` commands in one process (`ip -batch -`): one fork instead of dozens. Stops at the
 * first failing line, and the error names that line.
 */
export async function ipBatch(netns: string | undefined, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  const args = [...netnsArgs(netns), '-batch', '-'];
  const result = await exec('ip', args, { input: `${lines.join('\n')}\n` });
  if (result.code === 0) return;
  const lineNo = /Command failed -:(\d+)/.exec(result.stderr)?.[1];
  const failed = lineNo ? lines[Number(lineNo) - 1] : undefined;
  throw new CommandError(formatCommand('ip', args), result, failed ? ` (batch line: ${failed})` : '');
}

/** `ip netns exec netns cmd args…` */
export function inNetns(
  netns: string,
  cmd: string,
  args: readonly string[],
  opts?: ExecOptions,
): Promise<string> {
  return run('ip', ['netns', 'exec', netns, cmd, ...args], opts);
}

/** Like inNetns, but resolves with the outcome whatever the exit code. */
export function tryInNetns(
  netns: string,
  cmd: string,
  args: readonly string[],
  opts?: ExecOptions,
): Promise<ExecResult> {
  return exec('ip', ['netns', 'exec', netns, cmd, ...args], opts);
}

/** Sets sysctls inside a namespace with one `sysctl` process. */
export async function sysctls(
  netns: string,
  values: Readonly<Record<string, string | number>>,
): Promise<void> {
  const assignments = Object.entries(values).map(([k, v]) => `${k}=${v}`);
  if (assignments.length > 0) await inNetns(netns, 'sysctl', ['-q', '-w', ...assignments]);
}
