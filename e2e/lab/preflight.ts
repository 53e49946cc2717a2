/**
 * What the lab needs before it builds anything: root, the commands it runs (with the Debian
 * package that provides each), and the kernel features it uses, probed for real in a throwaway
 * `portico-preflight-*` namespace. Every problem is one line saying what is missing and how to get it.
 */
import { existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { isExecutable } from '../../src/util/files.js';
import { exec } from './exec.js';
import type { RouterKind } from './plan.js';

export interface PreflightOptions {
  router?: RouterKind;
  ipv6?: boolean;
  /** Where commands are looked up. Default: $PATH. */
  path?: string;
  /** Default: the effective uid is 0. */
  isRoot?: () => boolean;
}

export class PreflightError extends Error {
  override readonly name = 'PreflightError';
}

const BASE: Record<string, string[]> = {
  iproute2: ['ip', 'bridge'],
  nftables: ['nft'],
  procps: ['sysctl'],
  // The MLD-snooping switch proves itself with a multicast ping.
  'iputils-ping': ['ping'],
};

const ROUTERS: Record<RouterKind, Record<string, string[]>> = {
  frr: { frr: ['/usr/lib/frr/zebra', '/usr/lib/frr/bgpd', '/usr/lib/frr/bfdd', 'vtysh'] },
  bird: { bird2: ['bird', 'birdc'] },
  gobgp: { gobgpd: ['gobgpd', 'gobgp'] },
};

/** The absolute path of a command, like `command -v`, or undefined. */
export function findCommand(command: string, path = process.env.PATH ?? ''): string | undefined {
  if (isAbsolute(command)) return isExecutable(command) ? command : undefined;
  for (const dir of path.split(delimiter)) {
    if (dir && isExecutable(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

function missingPackages(router: RouterKind, path: string | undefined): string[] {
  const needed = { ...BASE, ...ROUTERS[router] };
  return Object.entries(needed).flatMap(([pkg, commands]) => {
    const missing = commands.filter((c) => !findCommand(c, path));
    if (missing.length === 0) return [];
    return [`missing ${missing.join(', ')} (Debian package ${pkg}): run \`apt-get install ${pkg}\``];
  });
}

/** Creates a namespace, a veth pair, a bridge and an nftables table in it, and an IPv6 address; then deletes it. */
async function kernelProblems(ipv6: boolean): Promise<string[]> {
  const ns = `portico-preflight-${process.pid}`;
  const add = await exec('ip', ['netns', 'add', ns]);
  if (add.code !== 0) {
    return [`cannot create a network namespace (${add.stderr.trim()}): the kernel needs CONFIG_NET_NS`];
  }
  const problems: string[] = [];
  try {
    const probe = async (args: string[], problem: string) => {
      const r = await exec('ip', ['netns', 'exec', ns, ...args]);
      if (r.code !== 0) problems.push(`${problem} (${r.stderr.trim().split('\n')[0]})`);
      return r.code === 0;
    };
    await probe(
      ['ip', 'link', 'add', 'pf0', 'type', 'veth', 'peer', 'name', 'pf1'],
      'cannot create veth pairs: load the module with `modprobe veth` (CONFIG_VETH)',
    );
    await probe(
      ['ip', 'link', 'add', 'pfbr', 'type', 'bridge'],
      'cannot create bridges: load the module with `modprobe bridge` (CONFIG_BRIDGE)',
    );
    if (findCommand('nft')) {
      await probe(
        ['nft', 'add', 'table', 'inet', 'portico_preflight'],
        'nftables does not work in the kernel: load it with `modprobe nf_tables` (CONFIG_NF_TABLES_INET)',
      );
    }
    if (ipv6) {
      const hint =
        'IPv6 is disabled: boot without ipv6.disable=1 and set net.ipv6.conf.default.disable_ipv6=0, or use --ipv4-only';
      if (!existsSync('/proc/sys/net/ipv6')) problems.push(hint);
      else await probe(['ip', '-6', 'addr', 'add', '2001:db8::1/128', 'dev', 'lo'], hint);
    }
  } finally {
    await exec('ip', ['netns', 'del', ns]);
  }
  return problems;
}

/** Everything that stops the lab from running here, one line each; empty when all is well. */
export async function preflightProblems(opts: PreflightOptions = {}): Promise<string[]> {
  const isRoot = opts.isRoot ?? (() => process.geteuid?.() === 0);
  const root = isRoot();
  const problems = root ? [] : ['the lab needs root (network namespaces): run it with sudo'];
  problems.push(...missingPackages(opts.router ?? 'frr', opts.path));
  // The kernel probes need root and iproute2; without them, the lines above already say what to do.
  if (root && findCommand('ip', opts.path)) problems.push(...(await kernelProblems(opts.ipv6 ?? true)));
  return problems;
}

/** Throws one PreflightError whose one-line message lists every problem. */
export async function assertPreflight(opts: PreflightOptions = {}): Promise<void> {
  const problems = await preflightProblems(opts);
  if (problems.length > 0) throw new PreflightError(`the lab cannot start: ${problems.join('; ')}`);
}
