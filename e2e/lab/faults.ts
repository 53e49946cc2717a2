/**
 * Failure injection: a node's cable pulled (its switch port down, so the node loses carrier too),
 * silent packet loss by port with nftables (the hold-timer and BFD path, without a link change),
 * and a process killed outright.
 */
import { exec, ip, run } from './exec.js';
import { rerouteServiceRange } from './host-routes.js';
import type { LabPlan } from './plan.js';
import { isRunning, processStartTime, signal, waitForExit } from './proc.js';

/**
 * Cuts ('down') or restores ('up') a node's link by setting its switch port, and routes the host's
 * Service range over the nodes that have one (see host-routes.ts).
 */
export async function setLink(plan: LabPlan, nodeName: string, state: 'down' | 'up'): Promise<void> {
  const node = plan.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no lab node named ${nodeName}`);
  await ip(plan.switch.netns, 'link', 'set', node.switchPort, state);
  await rerouteServiceRange(plan);
}

export interface PortDrop {
  proto: 'tcp' | 'udp';
  port: number;
  /** in: packets arriving in the namespace; out: packets leaving it. Either source or destination port matches. */
  direction: 'in' | 'out' | 'both';
}

export const FAULTS_TABLE = 'portico_faults';
const CHAINS = { in: 'input', out: 'output' } as const;

function chainsOf(drop: PortDrop): ('input' | 'output')[] {
  return drop.direction === 'both' ? ['input', 'output'] : [CHAINS[drop.direction]];
}

function tag(drop: PortDrop): string {
  return `portico-drop ${drop.proto} ${drop.port}`;
}

function nft(netns: string, script: string): Promise<string> {
  return run('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input: script });
}

/** Drops a port's packets inside a namespace, silently (no RST, no ICMP). */
export async function dropPort(netns: string, drop: PortDrop): Promise<void> {
  if (!Number.isInteger(drop.port) || drop.port < 1 || drop.port > 65535) {
    throw new Error(`cannot drop port ${drop.port}: a port is a whole number from 1 to 65535`);
  }
  const hooks = chainsOf(drop);
  const rules = hooks.flatMap((chain) =>
    ['dport', 'sport'].map(
      (side) =>
        `add rule inet ${FAULTS_TABLE} ${chain} ${drop.proto} ${side} ${drop.port} counter drop comment "${tag(drop)}"`,
    ),
  );
  await nft(
    netns,
    [
      `table inet ${FAULTS_TABLE} {`,
      '  chain input { type filter hook input priority -300; policy accept; }',
      '  chain output { type filter hook output priority -300; policy accept; }',
      '}',
      ...rules,
      '',
    ].join('\n'),
  );
}

interface NftRule {
  rule?: { chain: string; handle: number; comment?: string };
}

/** Removes the rules dropPort added for this port and protocol (both directions); with no drop given, all of them. */
export async function undrop(netns: string, drop?: Omit<PortDrop, 'direction'>): Promise<void> {
  if (!drop) {
    const result = await exec('ip', ['netns', 'exec', netns, 'nft', 'delete', 'table', 'inet', FAULTS_TABLE]);
    if (result.code !== 0 && !/No such file/.test(result.stderr)) throw new Error(result.stderr.trim());
    return;
  }
  const listed = await exec('ip', [
    'netns',
    'exec',
    netns,
    'nft',
    '-j',
    'list',
    'table',
    'inet',
    FAULTS_TABLE,
  ]);
  if (listed.code !== 0) return; // no table: nothing dropped
  const wanted = tag({ ...drop, direction: 'both' });
  const items = (JSON.parse(listed.stdout) as { nftables: NftRule[] }).nftables;
  const doomed = items.flatMap((i) => (i.rule && i.rule.comment === wanted ? [i.rule] : []));
  if (doomed.length === 0) return;
  await nft(
    netns,
    `${doomed.map((r) => `delete rule inet ${FAULTS_TABLE} ${r.chain} handle ${r.handle}`).join('\n')}\n`,
  );
}

/**
 * Sends a signal (SIGKILL by default) and waits until the process is gone. A pid reused by another
 * process since `startTime` was read is left alone.
 */
export async function killProcess(
  pid: number,
  opts: { signal?: NodeJS.Signals; startTime?: string; timeoutMs?: number } = {},
): Promise<void> {
  const startTime = opts.startTime ?? processStartTime(pid);
  if (startTime === undefined || !isRunning(pid, startTime)) return;
  signal(pid, opts.signal ?? 'SIGKILL');
  const left = await waitForExit([{ pid, startTime }], opts.timeoutMs ?? 5_000);
  if (left.length > 0) throw new Error(`process ${pid} is still running after ${opts.signal ?? 'SIGKILL'}`);
}
