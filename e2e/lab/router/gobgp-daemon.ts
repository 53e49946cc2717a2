/**
 * Starts gobgpd in a namespace, and FRR's zebra beside it when that gobgpd can install routes
 * through zebra.
 *
 * Debian bookworm's gobgpd 3.10 cannot: FRR 8.3+ sends 16-byte interface names in ZAPI messages,
 * 3.10 reads 20 bytes, misparses every interface and panics ("slice bounds out of range") a
 * moment after connecting, whatever `software-name` says. Releases since fixed this; 3.37.0 (built
 * from the Go module proxy) was verified here to install ECMP routes through FRR 8.4's zebra. So
 * zebra is used only with a gobgpd at least that new, and the router reports `kernelRoutes: false`
 * otherwise.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec, inNetns } from '../exec.js';
import type { LabPlan } from '../plan.js';
import { type Daemon, spawnDaemon, waitUntilReady } from './daemon.js';
import { renderZebraOnlyConfig } from './frr-config.js';
import { startFrr, vtysh } from './frr-daemons.js';
import { gobgpBinary } from './gobgp-binaries.js';
import { type GobgpConfigOptions, renderGobgpConfig } from './gobgp-config.js';
import type { RouterTuningOptions } from './router-options.js';
import { zebraSocket } from './runtime-paths.js';

export const GOBGPD_ZEBRA_MIN = [3, 37, 0] as const;

/** "gobgpd version 3.10.0" → [3, 10, 0]; undefined if the binary is missing or says something else. */
export async function gobgpdVersion(binary = gobgpBinary('gobgpd')): Promise<number[] | undefined> {
  const result = await exec(binary, ['--version']).catch(() => undefined);
  const match = /version (\d+)\.(\d+)\.(\d+)/.exec(result?.stdout ?? '');
  return match ? match.slice(1).map(Number) : undefined;
}

export function zebraCapable(version: readonly number[]): boolean {
  for (const [i, min] of GOBGPD_ZEBRA_MIN.entries()) {
    const v = version[i] ?? 0;
    if (v !== min) return v > min;
  }
  return true;
}

/** `ip netns exec <netns> gobgp <args…>` (the CLI talks gRPC to 127.0.0.1:50051 in the namespace). */
export function gobgp(netns: string, args: readonly string[]): Promise<string> {
  return inNetns(netns, gobgpBinary('gobgp'), args, { timeoutMs: 10_000 });
}

export interface GobgpStartOptions extends RouterTuningOptions {
  stateDir: string;
  /** The gobgpd binary. Default: gobgpBinary('gobgpd'). */
  binary?: string;
  onSpawn: (daemon: Daemon) => void;
  timeoutMs?: number;
}

export interface StartedGobgp {
  daemons: Daemon[];
  /** zebra runs and gobgpd is its client: best paths reach the kernel. */
  zebra: boolean;
}

export async function startGobgp(plan: LabPlan, options: GobgpStartOptions): Promise<StartedGobgp> {
  const { stateDir, binary = gobgpBinary('gobgpd'), timeoutMs = 15_000 } = options;
  const netns = plan.router.netns;
  const version = await gobgpdVersion(binary);
  if (!version) throw new Error(`${binary} is missing or not gobgpd: apt-get install gobgpd`);
  const zebra = zebraCapable(version);
  const daemons: Daemon[] = [];
  const onSpawn = (d: Daemon) => {
    daemons.push(d);
    options.onSpawn(d);
  };
  if (zebra) {
    const config = renderZebraOnlyConfig(plan);
    await startFrr(netns, { stateDir, config, daemons: ['zebra'], onSpawn, timeoutMs });
  }
  const configOptions: GobgpConfigOptions = {
    ...options,
    ...(zebra ? { zebra: { socket: zebraSocket(netns) } } : {}),
  };
  const configPath = join(stateDir, 'gobgpd.toml');
  writeFileSync(configPath, renderGobgpConfig(plan, configOptions));
  const check = await exec(binary, ['--dry-run', '-f', configPath]);
  if (check.code !== 0)
    throw new Error(`gobgpd rejects ${configPath}: ${(check.stderr || check.stdout).trim()}`);
  onSpawn(
    await spawnDaemon({
      name: 'gobgpd',
      netns,
      argv: [binary, '-f', configPath, '-p', '--pprof-disable', '--api-hosts', '127.0.0.1:50051'],
      logPath: join(stateDir, 'gobgpd.log'),
      command: configPath,
    }),
  );
  await waitUntilReady(
    `gobgpd in ${netns} (gobgp global)`,
    async () => (await gobgp(netns, ['global'])).includes(`AS:        ${plan.router.asn}`),
    daemons,
    timeoutMs,
  );
  if (zebra) {
    await waitUntilReady(
      `gobgpd to register with zebra in ${netns}`,
      async () => /\bbgp\b/.test(await vtysh(netns, 'show zebra client summary')),
      daemons,
      timeoutMs,
    );
  }
  return { daemons, zebra };
}
