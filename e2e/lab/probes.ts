/**
 * Reachability probes run inside lab namespaces (ping, a TCP connect, a TCP listener, a neighbor
 * solicitation): what the lab's tests use to observe the network from a host's point of view.
 */
import { spawn } from 'node:child_process';
import { tryInNetns } from './exec.js';
import { isRunning, processStartTime, signal, waitForExit } from './proc.js';

/** One echo request; true if a reply came back within `timeoutS` seconds. */
export async function canPing(netns: string, address: string, timeoutS = 1): Promise<boolean> {
  const r = await tryInNetns(netns, 'ping', ['-n', '-q', '-c', '1', '-W', String(timeoutS), address]);
  return r.code === 0;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** True if a TCP connection to host:port is established within `timeoutS` seconds. */
export async function canConnect(netns: string, host: string, port: number, timeoutS = 1): Promise<boolean> {
  const target = `TCP:${hostPort(host, port)},connect-timeout=${timeoutS}`;
  const r = await tryInNetns(netns, 'socat', ['-u', 'OPEN:/dev/null', target], {
    timeoutMs: timeoutS * 1000 + 2000,
  });
  return r.code === 0;
}

export interface Listener {
  pid: number;
  stop(): Promise<void>;
}

/** A TCP listener on every address (v4 and v6) of the namespace, accepting and closing connections. */
export function listenTcp(netns: string, port: number): Listener {
  const child = spawn(
    'ip',
    ['netns', 'exec', netns, 'socat', `TCP6-LISTEN:${port},fork,reuseaddr,ipv6only=0`, 'EXEC:/bin/true'],
    { stdio: 'ignore' },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start a TCP listener in ${netns}`);
  const startTime = processStartTime(pid);
  return {
    pid,
    async stop() {
      if (isRunning(pid, startTime)) signal(pid, 'SIGKILL');
      await waitForExit([{ pid, startTime }], 2_000);
    },
  };
}

/** Sends neighbor solicitations for `target` out of `iface` (ndisc6); true if it was answered. */
export async function solicit(netns: string, target: string, iface = 'eth0'): Promise<boolean> {
  const r = await tryInNetns(netns, 'ndisc6', ['-q', '-r', '1', '-w', '300', target, iface]);
  return r.code === 0;
}
