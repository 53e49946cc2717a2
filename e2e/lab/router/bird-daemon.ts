/**
 * Starts BIRD 2 in a namespace (the router, or a test speaker in a node), in the foreground under
 * `ip netns exec`, with its control socket at birdSocket(netns) so readers find it from the
 * namespace name alone.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type ExecResult, exec, formatCommand } from '../exec.js';
import { type Daemon, spawnDaemon, waitUntilReady } from './daemon.js';
import { birdRunDir, birdSocket } from './runtime-paths.js';

export interface BirdStartOptions {
  /** "bird" for the router, "speaker node-1" for a speaker. */
  name: string;
  netns: string;
  config: string;
  configPath: string;
  /** BIRD's stderr (startup errors); its own log is set in the config. */
  logPath: string;
  onSpawn: (daemon: Daemon) => void;
  timeoutMs?: number;
}

/** `birdc -s <socket> <command…>`, whatever the exit code (1 for "Network not found"). */
export function birdc(netns: string, command: string): Promise<ExecResult> {
  return exec('birdc', ['-s', birdSocket(netns), ...command.split(' ')], { timeoutMs: 10_000 });
}

export async function startBird(options: BirdStartOptions): Promise<Daemon> {
  const { netns, configPath, timeoutMs = 15_000 } = options;
  const socket = birdSocket(netns);
  const status = await birdc(netns, 'show status');
  if (status.stdout.includes('Daemon is up')) {
    throw new Error(`BIRD already runs in ${netns} (socket ${socket}): stop it first`);
  }
  mkdirSync(dirname(configPath), { recursive: true });
  writeFileSync(configPath, options.config);
  const check = await exec('bird', ['-p', '-c', configPath]);
  if (check.code !== 0) {
    throw new Error(`BIRD rejects ${configPath}: ${(check.stderr || check.stdout).trim()}`);
  }
  mkdirSync(birdRunDir(netns), { recursive: true });
  rmSync(socket, { force: true });
  const daemon = await spawnDaemon({
    name: options.name,
    netns,
    argv: ['bird', '-f', '-c', configPath, '-s', socket, '-P', configPath.replace(/\.conf$/, '.pid')],
    logPath: options.logPath,
    command: configPath,
  });
  options.onSpawn(daemon);
  await waitUntilReady(
    `${options.name} in ${netns} (${formatCommand('birdc', ['-s', socket, 'show', 'status'])})`,
    async () => (await birdc(netns, 'show status')).stdout.includes('Daemon is up and running'),
    [daemon],
    timeoutMs,
  );
  return daemon;
}

export function removeBirdRunDir(netns: string): void {
  rmSync(birdRunDir(netns), { recursive: true, force: true });
}
