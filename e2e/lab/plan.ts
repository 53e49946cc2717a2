/**
 * The lab's address and naming plan: a pure function from a small spec to every name, address
 * and route the topology builder creates. Only documentation and benchmarking ranges are used:
 *
 *   LAN (switch br0)      192.0.2.0/24        2001:db8:0:1::/64     router .1, node-i .(10+i), lan-client .100,
 *                                                                   control plane (the host) .254 / ::fe
 *   client link           198.51.100.0/25     2001:db8:0:2::/64     router .1, client .10
 *   second LAN (br1)      198.51.100.128/25   2001:db8:0:3::/64     node-i .(138+i) / ::(10+i), lan-client .228 / ::100,
 *                                                                   on their second NIC (eth1); no router, no gateway
 *   pod CIDR of node-i    198.18.i.0/24       2001:db8:0:1i::/64    (inside 2001:db8:0:10::/60)
 *   Service cluster range 198.19.0.0/16       2001:db8:0:20::/108
 *   LoadBalancer pools    203.0.113.0/24      2001:db8:0:100::/64   (examples and tests)
 *     announced over L2   203.0.113.0/25      2001:db8:0:100::/112  on-link on the LAN for the router
 *                                                                   and lan-client (as an L2 VIP is)
 */
export type RouterKind = 'frr' | 'bird' | 'gobgp';

export interface LabSpec {
  /** Number of node namespaces, 1–9. Default 3. */
  nodes?: number;
  router?: RouterKind;
  /** Dual-stack (default) or IPv4 only. */
  ipv6?: boolean;
  /** Emulate an MLD-snooping switch: a querier on the bridge and no flooding of unregistered multicast. */
  mldSnooping?: boolean;
  /** A client on the switch itself, for L2 tests. Default true. */
  lanClient?: boolean;
}

export interface Addresses {
  v4: string;
  v6?: string;
}

export interface NodePlan {
  /** Kubernetes node name and `lab exec` name: node-1 … node-N. */
  name: string;
  index: number;
  netns: string;
  /** The node's port on the switch (in the switch namespace). */
  switchPort: string;
  /** Address on the LAN (InternalIP), without prefix length. */
  lan: Addresses;
  /** The node's port on the second LAN's bridge (in the switch namespace); the node's end is SECOND_LAN_IF. */
  secondSwitchPort: string;
  /** Address on the second LAN (SECOND_LAN_IF), without prefix length. */
  secondLan: Addresses;
  podCidr: Addresses;
  /** The node's own address in its pod CIDR (the pods' default gateway, on the cni0 bridge). */
  podGateway: Addresses;
}

export interface EndpointPlan {
  name: string;
  netns: string;
  /** Port on the switch, for hosts attached to it. */
  switchPort?: string;
  address: Addresses;
}

export interface LabPlan {
  spec: Required<LabSpec>;
  prefix: string;
  /** bridge: the LAN; secondBridge: the second LAN, a plain bridge (never an MLD querier). */
  switch: { netns: string; bridge: string; secondBridge: string };
  lan: Addresses & { gateway: Addresses };
  /**
   * The second L2 segment: a second NIC on every node and on the lan-client, for the L2 speaker's
   * interface selection. No router and no gateway on it, and no default route through it.
   */
  secondLan: Addresses;
  nodes: NodePlan[];
  router: {
    kind: RouterKind;
    netns: string;
    switchPort: string;
    lan: Addresses;
    clientLink: Addresses;
    asn: number;
  };
  /** The speakers' AS number (what nodes use to peer with the router). */
  nodeAsn: number;
  client: EndpointPlan & { gateway: Addresses; link: Addresses };
  /** On the LAN (eth0) and on the second LAN (SECOND_LAN_IF). */
  lanClient: (EndpointPlan & { secondSwitchPort: string; secondLan: Addresses }) | undefined;
  /**
   * The control-plane node: the host itself, on the switch through a veth, so that nodes and pods
   * reach kube-apiserver as they would on a rack, and the host's kubectl reaches it too.
   */
  controlPlane: { hostLink: string; switchPort: string; address: Addresses; apiserverPort: number };
  serviceCidr: Addresses;
  /** The `kubernetes` Service's ClusterIP: the first address of the Service range. */
  kubernetesService: string;
  podSupernet: Addresses;
  loadBalancerPool: Addresses;
  /**
   * The part of the pools that L2 mode announces: the router and the lan-client treat it as on-link
   * on the LAN and ARP/solicit for its addresses, as a LAN's router does for VIPs in its subnet. The
   * rest of the pools is left for BGP to route.
   */
  l2Segment: Addresses;
}

export const LAB_PREFIX = 'portico';
/** Interface names inside the namespaces. */
export const LAN_IF = 'eth0';
export const ROUTER_CLIENT_IF = 'eth1';
/** The second NIC of the nodes and the lan-client, on the second LAN. */
export const SECOND_LAN_IF = 'eth1';
export const POD_BRIDGE = 'cni0';

export class LabSpecError extends Error {
  override readonly name = 'LabSpecError';
}

export function planLab(spec: LabSpec = {}): LabPlan {
  const full: Required<LabSpec> = {
    nodes: spec.nodes ?? 3,
    router: spec.router ?? 'frr',
    ipv6: spec.ipv6 ?? true,
    mldSnooping: spec.mldSnooping ?? false,
    lanClient: spec.lanClient ?? true,
  };
  if (!Number.isInteger(full.nodes) || full.nodes < 1 || full.nodes > 9) {
    throw new LabSpecError(`the lab has 1 to 9 nodes, not ${full.nodes}`);
  }
  if (!['frr', 'bird', 'gobgp'].includes(full.router)) {
    throw new LabSpecError(`unknown router "${full.router}": choose frr, bird or gobgp`);
  }
  const v6 = <T>(value: T): T | undefined => (full.ipv6 ? value : undefined);
  const ns = (name: string) => `${LAB_PREFIX}-${name}`;
  const nodes: NodePlan[] = Array.from({ length: full.nodes }, (_, i) => {
    const index = i + 1;
    const name = `node-${index}`;
    return {
      name,
      index,
      netns: ns(name),
      switchPort: `p-${name}`,
      lan: { v4: `192.0.2.${10 + index}`, v6: v6(`2001:db8:0:1::${10 + index}`) },
      secondSwitchPort: `s-${name}`,
      secondLan: { v4: `198.51.100.${138 + index}`, v6: v6(`2001:db8:0:3::${10 + index}`) },
      podCidr: { v4: `198.18.${index}.0/24`, v6: v6(`2001:db8:0:1${index}::/64`) },
      podGateway: { v4: `198.18.${index}.1`, v6: v6(`2001:db8:0:1${index}::1`) },
    };
  });
  return {
    spec: full,
    prefix: LAB_PREFIX,
    switch: { netns: ns('switch'), bridge: 'br0', secondBridge: 'br1' },
    lan: {
      v4: '192.0.2.0/24',
      v6: v6('2001:db8:0:1::/64'),
      gateway: { v4: '192.0.2.1', v6: v6('2001:db8:0:1::1') },
    },
    secondLan: { v4: '198.51.100.128/25', v6: v6('2001:db8:0:3::/64') },
    nodes,
    router: {
      kind: full.router,
      netns: ns('router'),
      switchPort: 'p-router',
      lan: { v4: '192.0.2.1', v6: v6('2001:db8:0:1::1') },
      clientLink: { v4: '198.51.100.1', v6: v6('2001:db8:0:2::1') },
      asn: 64500,
    },
    nodeAsn: 64512,
    client: {
      name: 'client',
      netns: ns('client'),
      address: { v4: '198.51.100.10', v6: v6('2001:db8:0:2::10') },
      gateway: { v4: '198.51.100.1', v6: v6('2001:db8:0:2::1') },
      // A /25: the upper half of 198.51.100.0/24 is the second LAN.
      link: { v4: '198.51.100.0/25', v6: v6('2001:db8:0:2::/64') },
    },
    lanClient: full.lanClient
      ? {
          name: 'lan-client',
          netns: ns('lan-client'),
          switchPort: 'p-lan-client',
          address: { v4: '192.0.2.100', v6: v6('2001:db8:0:1::100') },
          secondSwitchPort: 's-lan-client',
          secondLan: { v4: '198.51.100.228', v6: v6('2001:db8:0:3::100') },
        }
      : undefined,
    controlPlane: {
      hostLink: `${LAB_PREFIX}-host`,
      switchPort: 'p-host',
      address: { v4: '192.0.2.254', v6: v6('2001:db8:0:1::fe') },
      apiserverPort: 6443,
    },
    serviceCidr: { v4: '198.19.0.0/16', v6: v6('2001:db8:0:20::/108') },
    kubernetesService: '198.19.0.1',
    podSupernet: { v4: '198.18.0.0/16', v6: v6('2001:db8:0:10::/60') },
    loadBalancerPool: { v4: '203.0.113.0/24', v6: v6('2001:db8:0:100::/64') },
    l2Segment: { v4: '203.0.113.0/25', v6: v6('2001:db8:0:100::/112') },
  };
}

/** Every namespace of the plan, switch first (it must exist before ports attach to it). */
export function planNamespaces(plan: LabPlan): string[] {
  return [
    plan.switch.netns,
    plan.router.netns,
    ...plan.nodes.map((n) => n.netns),
    plan.client.netns,
    ...(plan.lanClient ? [plan.lanClient.netns] : []),
  ];
}

/** `lab exec` names (node-1, router, client, lan-client, switch) to namespaces. */
export function namespaceFor(plan: LabPlan, name: string): string | undefined {
  if (name === 'switch') return plan.switch.netns;
  if (name === 'router') return plan.router.netns;
  if (name === 'client') return plan.client.netns;
  if (name === 'lan-client') return plan.lanClient?.netns;
  return plan.nodes.find((n) => n.name === name)?.netns;
}
