/**
 * Builds the lab's network from a plan: the switch (the LAN and the second LAN), the nodes (with
 * their pod bridges and host-gw routes), the router, the client behind it and the client on the
 * switch. Each namespace is configured by one `ip -batch` and one `sysctl`, namespaces in parallel,
 * so three nodes take a fraction of a second. Every namespace is written to the state file before it is created.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ipBatch, sysctls } from './exec.js';
import { endpointBatch, lanClientBatch, namespaceSysctls, nodeBatch, routerBatch } from './hosts.js';
import { type Ipv6Interfaces, waitForIpv6 } from './ipv6-ready.js';
import { LAN_IF, type LabPlan, planNamespaces, ROUTER_CLIENT_IF, SECOND_LAN_IF } from './plan.js';
import type { LabState } from './state.js';
import { mdbEntries, solicitedNodeGroup, startQuerier, switchBatch, waitForSnooping } from './switch.js';
import { listNamespaces, type TeardownOptions, type TeardownReport, teardown } from './teardown.js';

export interface BuildOptions {
  state: LabState;
  log?: (msg: string) => void;
}

export interface BuildReport {
  ms: number;
  /** Milliseconds per phase, in order. */
  phases: Record<string, number>;
}

export class LabExistsError extends Error {
  override readonly name = 'LabExistsError';
}

/**
 * The interfaces whose IPv6 must work before the lab is handed over (br0: the MLD querier's source;
 * br1 has no querier, so its own link-local address does not matter).
 */
export function ipv6Interfaces(plan: LabPlan): Ipv6Interfaces[] {
  const hosts: Ipv6Interfaces[] = plan.spec.ipv6
    ? [
        { netns: plan.router.netns, ifnames: [LAN_IF, ROUTER_CLIENT_IF] },
        ...[...plan.nodes, plan.client, ...(plan.lanClient ? [plan.lanClient] : [])].map((h) => ({
          netns: h.netns,
          // The client is on no switch; the nodes and the lan-client also have a second NIC.
          ifnames: h === plan.client ? [LAN_IF] : [LAN_IF, SECOND_LAN_IF],
        })),
      ]
    : [];
  return plan.spec.mldSnooping
    ? [...hosts, { netns: plan.switch.netns, ifnames: [plan.switch.bridge] }]
    : hosts;
}

async function timed(
  phases: Record<string, number>,
  name: string,
  step: () => Promise<unknown>,
): Promise<void> {
  const started = performance.now();
  await step();
  phases[name] = performance.now() - started;
}

export async function buildTopology(plan: LabPlan, opts: BuildOptions): Promise<BuildReport> {
  const started = performance.now();
  const log = opts.log ?? (() => {});
  const phases: Record<string, number> = {};
  const namespaces = planNamespaces(plan);
  const existing = (await listNamespaces()).filter((ns) => namespaces.includes(ns));
  if (existing.length > 0) {
    throw new LabExistsError(
      `the lab is already up (${existing.join(', ')} exist): run \`portico lab down\` first`,
    );
  }

  await timed(phases, 'namespaces', async () => {
    opts.state.recordNamespaces(...namespaces);
    await ipBatch(
      undefined,
      namespaces.map((ns) => `netns add ${ns}`),
    );
  });
  log(`created namespaces ${namespaces.join(', ')}`);
  await timed(phases, 'sysctls', () =>
    Promise.all(namespaceSysctls(plan).map(([ns, values]) => sysctls(ns, values))),
  );
  await timed(phases, 'links', () =>
    Promise.all([
      ipBatch(plan.switch.netns, switchBatch(plan)),
      ipBatch(plan.router.netns, [
        `link add ${ROUTER_CLIENT_IF} type veth peer name ${LAN_IF} netns ${plan.client.netns}`,
      ]),
    ]),
  );
  log(
    `switch ${plan.switch.netns} up with ${plan.nodes.length} nodes, the router and the clients attached, ` +
      `and the second LAN (${plan.switch.secondBridge})`,
  );
  await timed(phases, 'addresses', () =>
    Promise.all([
      ...plan.nodes.map((n) => ipBatch(n.netns, nodeBatch(plan, n))),
      ipBatch(plan.router.netns, routerBatch(plan)),
      ipBatch(plan.client.netns, endpointBatch(plan.client.address, plan.client.link, plan.client.gateway)),
      ...(plan.lanClient ? [ipBatch(plan.lanClient.netns, lanClientBatch(plan))] : []),
    ]),
  );
  log('addresses and routes configured');
  const ready = ipv6Interfaces(plan);
  if (ready.length > 0) await timed(phases, 'ipv6', () => waitForIpv6(ready));
  if (plan.spec.mldSnooping) {
    await timed(phases, 'mld', () => settleSnooping(plan));
    log('MLD snooping active: the switch forwards solicited-node multicast only to member ports');
  }
  return { ms: performance.now() - started, phases };
}

/** Starts the querier and waits until every node's LAN address group is registered and the switch stops flooding. */
async function settleSnooping(plan: LabPlan): Promise<void> {
  const since = performance.now();
  await startQuerier(plan);
  const wanted = plan.nodes
    .filter((n) => n.lan.v6)
    .map((n) => ({ port: n.switchPort, group: solicitedNodeGroup(n.lan.v6 ?? '') }));
  for (;;) {
    const entries = await mdbEntries(plan);
    const missing = wanted.filter((w) => !entries.some((e) => e.port === w.port && e.group === w.group));
    if (missing.length === 0) break;
    if (performance.now() - since > 5_000) {
      throw new Error(
        `MLD snooping: the switch never registered ${missing.map((m) => `${m.group} on ${m.port}`).join(', ')}`,
      );
    }
    await sleep(20);
  }
  await waitForSnooping(plan);
}

/** Removes the whole lab (see teardown). */
export function destroyTopology(opts: TeardownOptions = {}): Promise<TeardownReport> {
  return teardown(opts);
}
