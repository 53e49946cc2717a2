/**
 * Pod networking on a lab node, as a CNI plugin with host-gw routing would do it: a namespace per
 * pod, a veth whose node end is a port of the node's cni0 bridge, the next free addresses of the
 * node's pod CIDR, and default routes via the node's pod gateway. Allocations live in the state
 * file, recorded before the namespace exists.
 */
import { randomBytes } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { exec, ipBatch, sysctls } from './exec.js';
import { endpointBatch, NO_DAD } from './hosts.js';
import { waitForIpv6 } from './ipv6-ready.js';
import { type Addresses, LAB_PREFIX, LAN_IF, type LabPlan, type NodePlan, POD_BRIDGE } from './plan.js';
import { netnsPids, signal, waitForExit } from './proc.js';
import type { LabState, PodRecord } from './state.js';

export interface PodNetwork {
  name: string;
  node: string;
  netns: string;
  ips: Addresses;
}

export interface AddPodOptions {
  /** The pod's name (for the state file and logs; namespaces get a random short id). */
  name: string;
  state: LabState;
}

/** Host numbers .2 … .254 (the gateway is .1), the same number in the v4 and v6 pod prefixes. */
const FIRST_HOST = 2;
const LAST_HOST = 254;

function hostAddress(cidr: string, index: number): string {
  const [network] = ipaddr.parseCIDR(cidr);
  const bytes = network.toByteArray();
  bytes[bytes.length - 1] = index;
  return ipaddr.fromByteArray(bytes).toString();
}

function findNode(plan: LabPlan, nodeName: string): NodePlan {
  const node = plan.nodes.find((n) => n.name === nodeName);
  if (!node)
    throw new Error(
      `no lab node named ${nodeName} (the lab has ${plan.nodes.map((n) => n.name).join(', ')})`,
    );
  return node;
}

/** Allocates the lowest free host number on the node and records the pod, before anything exists. */
function allocate(state: LabState, node: NodePlan, name: string, netns: string): PodRecord {
  let record: PodRecord | undefined;
  state.update((s) => {
    const used = new Set(s.pods.filter((p) => p.node === node.name).map((p) => p.index));
    let index = FIRST_HOST;
    while (used.has(index) && index <= LAST_HOST) index++;
    if (index > LAST_HOST) throw new Error(`the pod CIDR ${node.podCidr.v4} of ${node.name} is full`);
    record = {
      name,
      node: node.name,
      netns,
      index,
      v4: hostAddress(node.podCidr.v4, index),
      ...(node.podCidr.v6 ? { v6: hostAddress(node.podCidr.v6, index) } : {}),
    };
    s.pods.push(record);
    if (!s.namespaces.includes(netns)) s.namespaces.push(netns);
  });
  if (!record) throw new Error('unreachable: allocation did not run');
  return record;
}

export async function addPod(plan: LabPlan, nodeName: string, opts: AddPodOptions): Promise<PodNetwork> {
  const node = findNode(plan, nodeName);
  const id = randomBytes(4).toString('hex');
  const netns = `${LAB_PREFIX}-pod-${id}`;
  const nodeIf = `vp-${id}`;
  const pod = allocate(opts.state, node, opts.name, netns);
  const ips: Addresses = { v4: pod.v4, ...(pod.v6 ? { v6: pod.v6 } : {}) };
  try {
    await ipBatch(undefined, [`netns add ${netns}`]);
    await sysctls(netns, NO_DAD);
    await ipBatch(node.netns, [
      `link add ${nodeIf} type veth peer name ${LAN_IF} netns ${netns}`,
      `link set ${nodeIf} master ${POD_BRIDGE}`,
      `link set ${nodeIf} up`,
    ]);
    await ipBatch(netns, endpointBatch(ips, node.podCidr, node.podGateway));
    if (ips.v6) {
      await waitForIpv6([
        { netns, ifnames: [LAN_IF] },
        { netns: node.netns, ifnames: [POD_BRIDGE] },
      ]);
    }
  } catch (err) {
    await removePod(netns, { state: opts.state }).catch(() => {});
    throw err;
  }
  return { name: opts.name, node: node.name, netns, ips };
}

/** Kills what runs in the pod's namespace, deletes it (its veth goes with it) and frees its addresses. Idempotent. */
export async function removePod(netns: string, opts: { state: LabState }): Promise<void> {
  if (!netns.startsWith(`${LAB_PREFIX}-pod-`)) throw new Error(`${netns} is not a lab pod namespace`);
  const pids = await netnsPids(netns);
  for (const pid of pids) signal(pid, 'SIGKILL');
  await waitForExit(
    pids.map((pid) => ({ pid })),
    2_000,
  );
  const result = await exec('ip', ['netns', 'del', netns]);
  if (result.code !== 0 && !/No such file/.test(result.stderr)) {
    throw new Error(`cannot delete ${netns}: ${result.stderr.trim()}`);
  }
  opts.state.update((s) => {
    s.pods = s.pods.filter((p) => p.netns !== netns);
    s.namespaces = s.namespaces.filter((n) => n !== netns);
  });
}
