/**
 * Starts a container's process inside a network namespace with `ip netns exec`, which execs the
 * program in place: the pid we get is the container's own, so signals reach it directly. Output is
 * appended to the container's log file; the pid goes to the lab state before anything else happens.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import type { LabState } from '../state.js';

/** Absolute, so that the lookup does not depend on the container's PATH. */
const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? 'ip';

export interface ContainerProcessOptions {
  /** For the state file and logs: `<namespace>/<pod>/<container>`. */
  name: string;
  netns: string;
  argv: string[];
  env: Record<string, string>;
  cwd?: string;
  logPath: string;
  state: LabState;
  ipPath?: string;
}

export interface ExitStatus {
  /** The exit code, or 128 + the signal number for a process killed by a signal (as runtimes report it). */
  exitCode: number;
  signal: NodeJS.Signals | null;
}

export interface RunningProcess {
  pid: number;
  exited: Promise<ExitStatus>;
  kill(signal: NodeJS.Signals): void;
}

export function startContainerProcess(opts: ContainerProcessOptions): RunningProcess {
  const ip = opts.ipPath ?? IP;
  const log = openSync(opts.logPath, 'a');
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(ip, ['netns', 'exec', opts.netns, ...opts.argv], {
      env: opts.env,
      cwd: opts.cwd,
      stdio: ['ignore', log, log],
      // its own process group: a Ctrl-C meant for the lab reaches pods through the kubelet only
      detached: true,
    });
  } finally {
    closeSync(log);
  }
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('error', () => resolve({ exitCode: 128, signal: null }));
    child.once('exit', (code, signal) =>
      resolve({ exitCode: code ?? 128 + (signal ? constants.signals[signal] : 0), signal }),
    );
  });
  const pid = child.pid;
  if (pid === undefined) return { pid: -1, exited, kill: () => {} };
  opts.state.recordProcess({ name: opts.name, pid, command: opts.argv.join(' '), netns: opts.netns });
  void exited.then(() => opts.state.forgetProcess(pid));
  return {
    pid,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
