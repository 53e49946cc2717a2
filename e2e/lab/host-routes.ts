/**
 * The host's routes into the lab. The host is the lab's control-plane node: kube-apiserver runs on
 * it and dials lab addresses (pods, nodes, and the ClusterIP of an admission webhook's Service).
 * The host may sit on the lab's documentation ranges for real: this one's eth0 is 192.0.2.2/24, with
 * its default gateway at 192.0.2.1. A lab destination without a host route would leave through that
 * real network. So every route the lab adds to the host carries `proto 181` (unassigned in iproute2's
 * rt_protos), teardown finds them by that tag (with or without a state file), and there are three kinds:
 *
 * - the safety net: an `unreachable` route with the largest metric for every lab destination, added
 *   before the host link exists and removed after everything else is gone. Whenever the real
 *   routes below are missing (the link not created yet, set down, deleted with the switch), a
 *   packet for the lab fails with "No route to host" instead of taking the host's default route.
 * - the lab peers on the host link: each node's LAN address, and its pod CIDR through it (what
 *   flannel host-gw would install).
 * - the Service range, ECMP over every node, as a cluster that advertises its Service CIDR (Calico,
 *   Cilium, kube-router) gets from its routers: whichever node a flow hashes to, that node's
 *   kube-proxy forwards it to an endpoint. The control plane runs no kube-proxy of its own (it would
 *   rewrite the host's netfilter tables). The kernel does not skip a next hop whose node is cut off
 *   (only net.ipv4.fib_multipath_use_neigh, a host-wide setting the lab leaves alone, would), so
 *   `lab link` reroutes the range over the nodes left, as routers with BFD withdraw a dead peer's
 *   routes. A node cut off any other way (packet drops, `ip link`) stays a next hop, and the
 *   ClusterIPs that hash to it time out from the host until it is back.
 *
 * The router's LAN address (192.0.2.1) gets no route: on this host it is also the real gateway.
 * The host never needs to reach the lab router, and the host's own /32 of it would cut the host off.
 */
import { existsSync } from 'node:fs';
import { exec, ipBatch, ipJson, run } from './exec.js';
import type { LabPlan, NodePlan } from './plan.js';

export const LAB_ROUTE_PROTOCOL = 181;
/** The safety net loses to every other route for the same prefix. */
export const SAFETY_NET_METRIC = 4294967295;
/** The kernel's default for IPv6 routes, named so that a deletion cannot take the safety net instead. */
const IPV6_ROUTE_METRIC = 1024;
/**
 * Teardown removes tagged routes only inside these ranges (the ranges DEVELOPERS.md allows the lab),
 * so a stranger's route that happens to carry the same protocol number is left alone.
 */
export const LAB_ROUTE_ROOTS = {
  v4: ['192.0.2.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24'],
  v6: ['2001:db8::/32'],
} as const;

const tag = `proto ${LAB_ROUTE_PROTOCOL}`;

/**
 * Every lab destination the host could address: node and LAN-client addresses (the LAN prefix itself
 * is the host's real network here), the control plane's own address (local while the host link
 * exists; once it is gone, kube-apiserver's clients still dial it), pods, Services, the client link,
 * the second LAN and the LoadBalancer pools.
 *
 * The second LAN (br1) is in the safety net only: the host is not on it and no host route leads
 * there (hostLinkRoutes routes only the nodes' LAN addresses, their pod CIDRs and the Service range,
 * and never reads this list), so from the host it is always "No route to host". It must be here all
 * the same: the client link is only the lower half of 198.51.100.0/24, so without their own entries
 * 198.51.100.128/25 and 2001:db8:0:3::/64 would take the host's default route out of the lab.
 */
export function labDestinations(plan: LabPlan): string[] {
  const v4 = [
    ...plan.nodes.map((n) => `${n.lan.v4}/32`),
    ...(plan.lanClient ? [`${plan.lanClient.address.v4}/32`] : []),
    `${plan.controlPlane.address.v4}/32`,
    plan.podSupernet.v4,
    plan.serviceCidr.v4,
    plan.client.link.v4,
    plan.secondLan.v4,
    plan.loadBalancerPool.v4,
  ];
  const v6 = [
    plan.lan.v6,
    plan.podSupernet.v6,
    plan.serviceCidr.v6,
    plan.client.link.v6,
    plan.secondLan.v6,
    plan.loadBalancerPool.v6,
  ].filter((p): p is string => p !== undefined);
  return [...v4, ...v6];
}

/** `ip -batch` lines of the safety net. */
export function safetyNetBatch(plan: LabPlan): string[] {
  return labDestinations(plan).map(
    (dst) => `route replace unreachable ${dst} metric ${SAFETY_NET_METRIC} ${tag}`,
  );
}

/** `ip -batch` lines of the routes over the host link: the lab peers first (the Service range's next hops). */
export function hostLinkRoutes(plan: LabPlan): string[] {
  const dev = `dev ${plan.controlPlane.hostLink}`;
  const peers = plan.nodes.flatMap((n) => [
    `route add ${n.lan.v4}/32 ${dev} ${tag}`,
    `route add ${n.podCidr.v4} via ${n.lan.v4} ${dev} ${tag}`,
    ...(n.podCidr.v6 && n.lan.v6
      ? [`route add ${n.lan.v6}/128 ${dev} ${tag}`, `route add ${n.podCidr.v6} via ${n.lan.v6} ${dev} ${tag}`]
      : []),
  ]);
  return [...peers, ...serviceRangeRoutes(plan, plan.nodes, 'add')];
}

/**
 * `ip -batch` lines routing the Service range over `nodes` (ECMP), or, with no node, deleting
 * those routes so that the safety net answers. The deletions name what tells the route from its
 * safety net (type unicast for IPv4, metric 1024 for IPv6): without it the kernel takes either.
 */
export function serviceRangeRoutes(
  plan: LabPlan,
  nodes: readonly NodePlan[],
  verb: 'add' | 'replace' = 'replace',
): string[] {
  const { hostLink, address } = plan.controlPlane;
  const ecmp = (gateways: string[]) => gateways.map((gw) => `nexthop via ${gw} dev ${hostLink}`).join(' ');
  const v6Gateways = nodes.flatMap((n) => (n.lan.v6 ? [n.lan.v6] : []));
  const { v4: range4, v6: range6 } = plan.serviceCidr;
  const v4 =
    nodes.length > 0
      ? `route ${verb} ${range4} ${tag} src ${address.v4} ${ecmp(nodes.map((n) => n.lan.v4))}`
      : `route del unicast ${range4} ${tag}`;
  if (!range6 || !address.v6) return [v4];
  const v6 =
    v6Gateways.length > 0
      ? `route ${verb} ${range6} ${tag} src ${address.v6} metric ${IPV6_ROUTE_METRIC} ${ecmp(v6Gateways)}`
      : `route del ${range6} ${tag} metric ${IPV6_ROUTE_METRIC}`;
  return [v4, v6];
}

/**
 * Routes the Service range over the nodes whose switch port is up, as routers that learn the
 * range over BGP with BFD withdraw a cut node's next hop: `lab link node-N down` calls it, so
 * ClusterIPs stay reachable from the control plane through the other nodes. Does nothing while
 * the host link does not exist. Returns the nodes routed over.
 */
export async function rerouteServiceRange(plan: LabPlan): Promise<string[]> {
  if (!existsSync(`/sys/class/net/${plan.controlPlane.hostLink}`)) return [];
  const up = await nodesWithLink(plan);
  const lines = serviceRangeRoutes(plan, up);
  // -force: a deletion of a route already gone fails its line, and the other family's line still runs.
  const result = await exec('ip', ['-force', '-batch', '-'], { input: `${lines.join('\n')}\n` });
  const errors = result.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/No such process|Command failed/.test(l));
  if (result.code !== 0 && errors.length > 0) {
    throw new Error(
      `cannot route the Service range over ${up.map((n) => n.name).join(', ')}: ${errors.join(' | ')}`,
    );
  }
  return up.map((n) => n.name);
}

/** The nodes whose switch port is up (`lab link` sets the port). */
async function nodesWithLink(plan: LabPlan): Promise<NodePlan[]> {
  const ports = await ipJson<{ ifname?: string; flags?: string[] }[]>(plan.switch.netns, 'link', 'show');
  const up = new Set(ports.filter((p) => p.flags?.includes('UP')).map((p) => p.ifname));
  return plan.nodes.filter((n) => up.has(n.switchPort));
}

/** Installs the safety net (idempotent: `replace` takes over a crashed lab's net); call it before the host link exists. */
export async function installSafetyNet(plan: LabPlan): Promise<void> {
  await ipBatch(undefined, safetyNetBatch(plan));
}

interface RouteJson {
  type?: string;
  dst: string;
  dev?: string;
  gateway?: string;
  nexthops?: { gateway?: string; dev?: string }[];
}

async function taggedRoutes(): Promise<RouteJson[]> {
  const show = (family: '-4' | '-6') =>
    ipJson<RouteJson[]>(undefined, family, 'route', 'show', 'proto', String(LAB_ROUTE_PROTOCOL));
  const [v4, v6] = await Promise.all([show('-4'), show('-6')]);
  return [...v4, ...v6];
}

/** Canonical `dst` as `ip -j` prints it (a /32 or /128 without its length). */
const shown = (prefix: string) => prefix.replace(/\/(32|128)$/, '');

async function missingSafetyNet(plan: LabPlan): Promise<string[]> {
  const nets = new Set((await taggedRoutes()).filter((r) => r.type === 'unreachable').map((r) => r.dst));
  return labDestinations(plan).filter((dst) => !nets.has(shown(dst)));
}

/**
 * Removes every tagged route inside the lab's ranges (both families); returns what was removed, as
 * `ip route` shows it. Call it last: until then the safety net keeps lab traffic off the host's
 * own routes.
 */
export async function removeHostRoutes(): Promise<string[]> {
  const removed: string[] = [];
  for (const [family, roots] of [
    ['-4', LAB_ROUTE_ROOTS.v4],
    ['-6', LAB_ROUTE_ROOTS.v6],
  ] as const) {
    for (const root of roots) {
      const routes = await ipJson<RouteJson[]>(
        undefined,
        family,
        'route',
        'show',
        'proto',
        String(LAB_ROUTE_PROTOCOL),
        'root',
        root,
      );
      removed.push(...routes.map((r) => (r.type && r.type !== 'unicast' ? `${r.type} ${r.dst}` : r.dst)));
    }
    const lines = roots.map((root) => `route flush ${tag} root ${root}`);
    await run('ip', [family, '-batch', '-'], { input: `${lines.join('\n')}\n` });
  }
  return removed;
}

export interface HostRouteHealth {
  healthy: boolean;
  lines: string[];
}

/** What `lab status` says about the host's routes: the safety net complete, the Service range routed into the lab. */
export async function hostRouteHealth(plan: LabPlan): Promise<HostRouteHealth> {
  const routes = await taggedRoutes();
  const missing = await missingSafetyNet(plan);
  const lines: string[] = [];
  let healthy = missing.length === 0;
  lines.push(
    missing.length === 0
      ? `ok      host safety net: ${labDestinations(plan).length} lab prefixes unreachable unless routed into the lab`
      : `FAILED  host safety net missing for ${missing.join(', ')}: lab traffic could leave by the host's own routes`,
  );
  const byGateway = new Map<string, string>();
  for (const n of plan.nodes) for (const a of [n.lan.v4, n.lan.v6]) if (a) byGateway.set(a, n.name);
  // No switch namespace (a lab half gone): no node has a link.
  const linked = (await nodesWithLink(plan).catch(() => [])).map((n) => n.name);
  const cut = plan.nodes.filter((n) => !linked.includes(n.name)).map((n) => `${n.name}'s link is down`);
  for (const range of [plan.serviceCidr.v4, plan.serviceCidr.v6]) {
    if (!range) continue;
    const route = routes.find((r) => r.dst === range && r.type !== 'unreachable');
    const hops = route?.nexthops ?? (route?.gateway ? [{ gateway: route.gateway, dev: route.dev }] : []);
    const via = hops
      .filter((h) => h.dev === plan.controlPlane.hostLink)
      .map((h) => byGateway.get(h.gateway ?? '') ?? h.gateway ?? '');
    const ok = via.join() === linked.join();
    healthy &&= ok;
    const over = `${via.length > 1 ? 'ECMP ' : ''}via ${via.join(', ')} on ${plan.controlPlane.hostLink}`;
    const note = cut.length > 0 ? ` (${cut.join(', ')})` : '';
    if (!ok) {
      const linkedText = linked.join(', ') || 'none';
      const got = via.length > 0 ? `via ${via.join(', ')}` : 'missing';
      lines.push(
        `FAILED  host route to the Service range ${range}: ${got}, but the nodes with a link are ${linkedText}`,
      );
    } else if (via.length === 0) {
      lines.push(
        `ok      host route to the Service range ${range}: none, no node has a link (the safety net answers)`,
      );
    } else {
      lines.push(`ok      host route to the Service range ${range}: ${over}${note}`);
    }
  }
  return { healthy, lines };
}
