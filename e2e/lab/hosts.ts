/**
 * What configures each lab host, as pure data: the `ip -batch` lines of a node, the router and
 * an end host (client, lan-client, pod), and the sysctls of every namespace.
 */
import {
  type Addresses,
  LAN_IF,
  type LabPlan,
  type NodePlan,
  POD_BRIDGE,
  ROUTER_CLIENT_IF,
  SECOND_LAN_IF,
} from './plan.js';

const prefixLength = (cidr: string) => cidr.split('/')[1] ?? '';

/** `addr add` lines for an interface: v4, and v6 without duplicate address detection. */
export function addressLines(dev: string, addr: Addresses, lengths: Addresses): string[] {
  return [
    `addr add ${addr.v4}/${prefixLength(lengths.v4)} dev ${dev}`,
    ...(addr.v6 && lengths.v6 ? [`addr add ${addr.v6}/${prefixLength(lengths.v6)} dev ${dev} nodad`] : []),
  ];
}

export function defaultRoutes(gateway: Addresses): string[] {
  return [
    `route add default via ${gateway.v4}`,
    ...(gateway.v6 ? [`route add default via ${gateway.v6}`] : []),
  ];
}

export function nodeBatch(plan: LabPlan, node: NodePlan): string[] {
  const routes = plan.nodes
    .filter((other) => other !== node)
    .flatMap((other) => [
      `route add ${other.podCidr.v4} via ${other.lan.v4}`,
      ...(other.podCidr.v6 && other.lan.v6 ? [`route add ${other.podCidr.v6} via ${other.lan.v6}`] : []),
    ]);
  return [
    'link set lo up',
    ...addressLines(LAN_IF, node.lan, plan.lan),
    `link set ${LAN_IF} up`,
    ...secondLanLines(plan, node.secondLan),
    `link add ${POD_BRIDGE} type bridge`,
    ...addressLines(POD_BRIDGE, node.podGateway, node.podCidr),
    `link set ${POD_BRIDGE} up`,
    ...defaultRoutes(plan.lan.gateway),
    ...routes,
  ];
}

/** The second NIC: addresses on the second LAN and nothing else (no gateway, so no default route). */
export function secondLanLines(plan: LabPlan, address: Addresses): string[] {
  return [...addressLines(SECOND_LAN_IF, address, plan.secondLan), `link set ${SECOND_LAN_IF} up`];
}

/** The L2-announced addresses are on-link on the LAN: reached by ARP/NDP, whichever node answers. */
export function l2SegmentRoutes(plan: LabPlan): string[] {
  const { l2Segment } = plan;
  return [
    `route add ${l2Segment.v4} dev ${LAN_IF}`,
    ...(l2Segment.v6 ? [`route add ${l2Segment.v6} dev ${LAN_IF}`] : []),
  ];
}

export function routerBatch(plan: LabPlan): string[] {
  const { router, client } = plan;
  return [
    'link set lo up',
    ...addressLines(LAN_IF, router.lan, plan.lan),
    `link set ${LAN_IF} up`,
    ...addressLines(ROUTER_CLIENT_IF, router.clientLink, client.link),
    `link set ${ROUTER_CLIENT_IF} up`,
    ...l2SegmentRoutes(plan),
  ];
}

/** An end host (client, lan-client, pod): one interface, addresses, default routes. */
export function endpointBatch(address: Addresses, lengths: Addresses, gateway: Addresses): string[] {
  return [
    'link set lo up',
    ...addressLines(LAN_IF, address, lengths),
    `link set ${LAN_IF} up`,
    ...defaultRoutes(gateway),
  ];
}

/** The client on the switch: an end host on the LAN that treats the L2 segment as on-link, and a second NIC. */
export function lanClientBatch(plan: LabPlan): string[] {
  const { lanClient } = plan;
  if (!lanClient) return [];
  return [
    ...endpointBatch(lanClient.address, plan.lan, plan.lan.gateway),
    ...l2SegmentRoutes(plan),
    ...secondLanLines(plan, lanClient.secondLan),
  ];
}

/** No DAD anywhere: addresses are usable at once (link-locals too) and never tentative. */
export const NO_DAD = { 'net.ipv6.conf.all.accept_dad': 0, 'net.ipv6.conf.default.accept_dad': 0 };
const FORWARDING = { 'net.ipv4.ip_forward': 1, 'net.ipv6.conf.all.forwarding': 1 };

/** The sysctls of every namespace of the plan, set before any interface exists (so `default.*` applies). */
export function namespaceSysctls(plan: LabPlan): [string, Record<string, number>][] {
  return [
    [plan.switch.netns, NO_DAD],
    [
      plan.router.netns,
      {
        ...NO_DAD,
        ...FORWARDING,
        'net.ipv4.fib_multipath_hash_policy': 1,
        'net.ipv6.fib_multipath_hash_policy': 1,
      },
    ],
    ...plan.nodes.map((n): [string, Record<string, number>] => [
      n.netns,
      // arp_ignore/arp_announce: LoadBalancer IPs on `lo` are answered by the speaker, not the kernel.
      { ...NO_DAD, ...FORWARDING, 'net.ipv4.conf.all.arp_ignore': 1, 'net.ipv4.conf.all.arp_announce': 2 },
    ]),
    [plan.client.netns, NO_DAD],
    ...(plan.lanClient ? [[plan.lanClient.netns, NO_DAD] as [string, Record<string, number>]] : []),
  ];
}
