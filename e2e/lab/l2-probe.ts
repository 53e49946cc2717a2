/**
 * Asking the lab's LAN who answers for an address, as a client on the switch would: `arping` for
 * IPv4 and `ndisc6` for IPv6 from the lan-client, answers mapped back to the nodes by MAC. Shared by
 * the L2 suite and the failover benchmark.
 */
import { spawnSync } from 'node:child_process';
import { exec, ipJson } from './exec.js';
import type { LabPlan } from './plan.js';

export interface L2Answer {
  /** Node names (or MACs of unknown hosts), one per reply. */
  from: string[];
  received: number;
  /** Replies beyond one per request: a second responder. */
  extra: number;
  out: string;
}

export class L2Probe {
  private macs: Map<string, string> | undefined;

  constructor(
    private readonly plan: LabPlan,
    private readonly netns = plan.lanClient?.netns ?? '',
    private readonly iface = 'eth0',
  ) {}

  /** MAC (lower case) → node name, for the nodes' interfaces on the client's segment. */
  async nodeMacs(): Promise<Map<string, string>> {
    if (!this.macs) {
      const macs = new Map<string, string>();
      for (const n of this.plan.nodes) {
        for (const link of await ipJson<{ ifname: string; address: string }[]>(n.netns, 'link', 'show')) {
          if (/^eth\d$/.test(link.ifname)) macs.set(link.address.toLowerCase(), n.name);
        }
      }
      this.macs = macs;
    }
    return this.macs;
  }

  async node(mac: string): Promise<string> {
    return (await this.nodeMacs()).get(mac.toLowerCase()) ?? mac.toLowerCase();
  }

  /** `count` ARP requests (IPv4) or neighbour solicitations (IPv6), one a second. */
  async ask(address: string, count = 1, iface = this.iface): Promise<L2Answer> {
    if (address.includes(':')) {
      const from: string[] = [];
      let out = '';
      for (let i = 0; i < count; i++) {
        const r = await this.run('ndisc6', '-m', '-r', '1', '-w', '1000', address, iface);
        out += r.stdout;
        const macs = [...r.stdout.matchAll(/Target link-layer address: ([0-9A-Fa-f:]{17})/g)];
        for (const m of macs) from.push(await this.node(m[1]!));
      }
      return { from, received: Math.min(from.length, count), extra: Math.max(0, from.length - count), out };
    }
    const r = await this.run('arping', '-c', String(count), '-w', String(count + 1), '-I', iface, address);
    const from: string[] = [];
    for (const m of r.stdout.matchAll(/bytes from ([0-9a-f:]{17}) \(/g)) from.push(await this.node(m[1]!));
    const summary = /(\d+) packets received.*\((\d+) extra\)/.exec(r.stdout);
    return { from, received: Number(summary?.[1] ?? 0), extra: Number(summary?.[2] ?? 0), out: r.stdout };
  }

  /** The one node that answers a single request, or undefined (none, or more than one). */
  async owner(address: string, iface = this.iface): Promise<string | undefined> {
    const a = await this.ask(address, 1, iface);
    return a.received === 1 && a.extra === 0 ? a.from[0] : undefined;
  }

  private run(cmd: string, ...args: string[]) {
    return exec('ip', ['netns', 'exec', this.netns, cmd, ...args], { timeoutMs: 20_000 });
  }
}

/** The pid of the speaker process running in a node's namespace. */
export function speakerPid(plan: LabPlan, node: string): number {
  const netns = plan.nodes.find((n) => n.name === node)?.netns;
  const r = spawnSync('pgrep', ['-f', 'bin/portico.js speaker'], { encoding: 'utf8' });
  for (const pid of r.stdout.split('\n').filter(Boolean).map(Number)) {
    const id = spawnSync('ip', ['netns', 'identify', String(pid)], { encoding: 'utf8' }).stdout.trim();
    if (id === netns) return pid;
  }
  throw new Error(`no speaker process in ${netns}`);
}
