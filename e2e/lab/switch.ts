/**
 * The lab's switch: a Linux bridge (br0, the LAN) in its own namespace with one veth port per
 * attached host, optionally behaving as an MLD-snooping switch; and a second bridge (br1, the second
 * LAN) with a port for the second NIC of every node and of the lan-client. Only br0 ever gets a
 * querier: br1 snoops like br0 but, knowing no querier, floods all multicast, as a plain switch does.
 *
 * MLD snooping, as measured on this kernel: the bridge snoops reports by default
 * (`mcast_snooping 1`), but forwards by its group table only while it knows a querier; without
 * one it floods every multicast frame, so a host that never joined a solicited-node group still
 * receives the NS. With `mcast_querier 1` (and an IPv6 link-local address on br0, which the
 * query's source needs) registered groups go only to member ports and unregistered ones only to
 * multicast-router ports (none here): the RFC 4541 behaviour of a real snooping switch.
 * `mcast_flood off` on the ports is deliberately NOT used: on top of that it also drops ff02::1
 * (all-nodes, which carries unsolicited NAs and which RFC 4541 says to flood), and while the
 * querier is not yet active it drops every multicast frame.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import ipaddr from 'ipaddr.js';
import { ipJson, run, tryInNetns } from './exec.js';
import { LAN_IF, type LabPlan, SECOND_LAN_IF } from './plan.js';

/**
 * Centiseconds: how long hosts may delay their reports, and roughly how long the bridge keeps
 * flooding after its querier starts (measured: about 150 ms with 10, 550 ms with 50).
 */
const QUERY_RESPONSE_INTERVAL_CS = 10;
/** A solicited-node group that no lab host joins (no plan address ends in ::ffff). */
const UNREGISTERED_GROUP = 'ff02::1:ff00:ffff';

export interface SwitchPort {
  /** The port's name in the switch namespace. */
  port: string;
  /** The namespace at the other end, where the peer is called eth0 (on br1: SECOND_LAN_IF). */
  netns: string;
}

/** The LAN's ports (on br0). */
export function switchPorts(plan: LabPlan): SwitchPort[] {
  return [
    { port: plan.router.switchPort, netns: plan.router.netns },
    ...plan.nodes.map((n) => ({ port: n.switchPort, netns: n.netns })),
    ...(plan.lanClient?.switchPort ? [{ port: plan.lanClient.switchPort, netns: plan.lanClient.netns }] : []),
  ];
}

/** The second LAN's ports (on br1): the nodes' and the lan-client's second NICs. */
export function secondSwitchPorts(plan: LabPlan): SwitchPort[] {
  const { lanClient } = plan;
  return [
    ...plan.nodes.map((n) => ({ port: n.secondSwitchPort, netns: n.netns })),
    ...(lanClient ? [{ port: lanClient.secondSwitchPort, netns: lanClient.netns }] : []),
  ];
}

function bridgeLines(bridge: string, ports: readonly SwitchPort[], peer: string): string[] {
  return [
    `link add ${bridge} type bridge stp_state 0 mcast_snooping 1 mcast_query_response_interval ${QUERY_RESPONSE_INTERVAL_CS}`,
    `link set ${bridge} up`,
    ...ports.flatMap(({ port, netns }) => [
      `link add ${port} type veth peer name ${peer} netns ${netns}`,
      `link set ${port} master ${bridge}`,
      `link set ${port} up`,
    ]),
  ];
}

/**
 * `ip -n <switch> -batch` lines: the two bridges, and each port created with its peer directly in
 * the attached host's namespace. No port is ever in the machine's own namespace, so deleting the
 * lab's namespaces removes every port of both bridges (teardown needs nothing more).
 */
export function switchBatch(plan: LabPlan): string[] {
  return [
    'link set lo up',
    ...bridgeLines(plan.switch.bridge, switchPorts(plan), LAN_IF),
    ...bridgeLines(plan.switch.secondBridge, secondSwitchPorts(plan), SECOND_LAN_IF),
  ];
}

/**
 * Starts the bridge's querier. Call it once the ports have carrier: br0 then has its link-local
 * address, without which the first query fails and the bridge disowns its querier for a whole
 * startup query interval (31 s). Snooping takes effect some time later: see waitForSnooping.
 */
export async function startQuerier(plan: LabPlan): Promise<void> {
  const { netns, bridge } = plan.switch;
  const out = await run('ip', ['-n', netns, '-6', '-o', 'addr', 'show', 'dev', bridge, 'scope', 'link']);
  if (!out.includes('inet6 fe80:')) {
    throw new Error(
      `the switch bridge has no IPv6 link-local address, so its MLD querier cannot work: ${out}`,
    );
  }
  await run('ip', ['-n', netns, 'link', 'set', bridge, 'type', 'bridge', 'mcast_querier', '1']);
}

async function txPackets(plan: LabPlan, ports: readonly string[]): Promise<number[]> {
  const links = await ipJson<{ ifname: string; stats64?: { tx?: { packets?: number } } }[]>(
    plan.switch.netns,
    '-s',
    'link',
    'show',
  );
  return ports.map((port) => links.find((l) => l.ifname === port)?.stats64?.tx?.packets ?? -1);
}

/**
 * Waits until the switch demonstrably stops flooding: a frame from the router to a group nobody
 * joined leaves through no other port. (A spurious frame on a port, such as a query, only causes a
 * retry; a flooded probe always shows.)
 */
export async function waitForSnooping(plan: LabPlan, timeoutMs = 5_000): Promise<void> {
  const ports = switchPorts(plan)
    .filter((p) => p.port !== plan.router.switchPort)
    .map((p) => p.port);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const before = await txPackets(plan, ports);
    // Sent synchronously through the veth and the bridge: the counters have moved when ping exits.
    const probe = ['-6', '-n', '-c', '1', '-W', '0.01', `${UNREGISTERED_GROUP}%${LAN_IF}`];
    const sent = await tryInNetns(plan.router.netns, 'ping', probe);
    if (!sent.stdout.includes('1 packets transmitted')) {
      throw new Error(`cannot send the MLD snooping probe: ${sent.stderr.trim() || sent.stdout.trim()}`);
    }
    const after = await txPackets(plan, ports);
    if (after.every((n, i) => n === before[i])) return;
    if (performance.now() > deadline) {
      throw new Error(
        `the switch still floods unregistered multicast ${timeoutMs} ms after its MLD querier started`,
      );
    }
    await sleep(25);
  }
}

export interface MdbEntry {
  port: string;
  /** Canonical (RFC 5952) form. */
  group: string;
}

/**
 * The LAN's multicast group table (`bridge mdb show dev br0`). Not br1's: it snoops too, and a node's
 * second-LAN address (2001:db8:0:3::1i) has the same solicited-node group as its LAN address.
 */
export async function mdbEntries(plan: LabPlan): Promise<MdbEntry[]> {
  const out = await run('bridge', ['-j', '-n', plan.switch.netns, 'mdb', 'show', 'dev', plan.switch.bridge]);
  const tables = JSON.parse(out.trim() || '[]') as { mdb?: { port: string; grp: string }[] }[];
  return tables.flatMap((t) => t.mdb ?? []).map((e) => ({ port: e.port, group: canonical(e.grp) }));
}

function canonical(address: string): string {
  return ipaddr.isValid(address) ? ipaddr.parse(address).toString() : address;
}

/** The solicited-node multicast group of an IPv6 address (RFC 4291: ff02::1:ff + its low 24 bits). */
export function solicitedNodeGroup(address: string): string {
  const bytes = ipaddr.IPv6.parse(address).toByteArray();
  const group = [0xff, 0x02, ...Array<number>(9).fill(0), 0x01, 0xff, ...bytes.slice(13)];
  return ipaddr.fromByteArray(group).toString();
}
