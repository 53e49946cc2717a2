/**
 * The control-plane node's link: the host itself joins the lab switch through the veth
 * `portico-host` (host side) ↔ `p-host` (switch side, on the bridge), so kube-apiserver listens on a
 * LAN address that nodes and pods reach like a control-plane node on a rack, and the host's kubectl
 * reaches it too.
 */
import { ipBatch } from './exec.js';
import { hostLinkRoutes, installSafetyNet } from './host-routes.js';
import { waitForIpv6 } from './ipv6-ready.js';
import type { LabPlan } from './plan.js';
import type { LabState } from './state.js';

/**
 * The host side's `ip -batch` lines. The LAN prefix gets no connected route (`noprefixroute`): the
 * host may sit on the same documentation range on its real network (this one does: eth0 is
 * 192.0.2.2/24), and a lab route must never take that over. So only the lab's own destinations get
 * routes here (see host-routes.ts): each node's address, its pod CIDR through it, as flannel host-gw
 * would, and the Service range through the nodes' kube-proxies.
 */
export function hostLinkBatch(plan: LabPlan): string[] {
  const { hostLink, address } = plan.controlPlane;
  const length = (cidr: string) => cidr.split('/')[1] ?? '';
  return [
    `addr add ${address.v4}/${length(plan.lan.v4)} dev ${hostLink} noprefixroute`,
    ...(address.v6 && plan.lan.v6
      ? [`addr add ${address.v6}/${length(plan.lan.v6)} dev ${hostLink} nodad noprefixroute`]
      : []),
    `link set ${hostLink} up`,
    ...hostLinkRoutes(plan),
  ];
}

/** Installs the safety net, records and creates the host link; resolves once it carries traffic (IPv6 included). */
export async function createControlPlaneLink(plan: LabPlan, state: LabState): Promise<void> {
  const { hostLink, switchPort } = plan.controlPlane;
  // First the safety net, so that no lab destination is ever routed by the host's own routes.
  await installSafetyNet(plan);
  state.recordHostLink(hostLink);
  await ipBatch(undefined, [
    `link add ${hostLink} type veth peer name ${switchPort} netns ${plan.switch.netns}`,
  ]);
  await ipBatch(plan.switch.netns, [
    `link set ${switchPort} master ${plan.switch.bridge}`,
    `link set ${switchPort} up`,
  ]);
  await ipBatch(undefined, hostLinkBatch(plan));
  if (plan.spec.ipv6) await waitForIpv6([{ ifnames: [hostLink] }]);
}
