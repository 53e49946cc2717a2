/**
 * The control-plane node's link: the host itself joins the lab switch through the veth
 * `portico-host` (host side) ↔ `p-host` (switch side, on the bridge), so kube-apiserver listens on a
 * LAN address that nodes and pods reach like a control-plane node on a rack, and the host's kubectl
 * reaches it too.
 */
import { ipBatch } from './exec.js';
import { waitForIpv6 } from './ipv6-ready.js';
import type { LabPlan } from './plan.js';
import type { LabState } from './state.js';

/**
 * The host side's `ip -batch` lines. The LAN prefix gets no connected route (`noprefixroute`): the
 * host may sit on the same documentation range on its real network (this one does: eth0 is
 * 192.0.2.2/24), and a lab route must never take that over. So only the lab's own peers get routes
 * here: each node's address, and its pod CIDR through it, as flannel host-gw would.
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
    ...plan.nodes.flatMap((n) => [
      `route add ${n.lan.v4}/32 dev ${hostLink}`,
      `route add ${n.podCidr.v4} via ${n.lan.v4} dev ${hostLink}`,
      ...(n.podCidr.v6 && n.lan.v6
        ? [
            `route add ${n.lan.v6}/128 dev ${hostLink}`,
            `route add ${n.podCidr.v6} via ${n.lan.v6} dev ${hostLink}`,
          ]
        : []),
    ]),
  ];
}

/** Records, then creates the host link; resolves once it carries traffic (IPv6 included). */
export async function createControlPlaneLink(plan: LabPlan, state: LabState): Promise<void> {
  const { hostLink, switchPort } = plan.controlPlane;
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
