/**
 * Reads the lab router's state, whichever daemon runs it, from the plan alone: FRR through
 * `vtysh -N <netns> … json`, BIRD through `birdc` at its socket, GoBGP through `gobgp … -j` in the
 * namespace, and the kernel through `ip -j route`.
 */
import { exec, formatCommand } from '../exec.js';
import type { LabPlan } from '../plan.js';
import { birdc } from './bird-daemon.js';
import { parseBirdBfdSessions, parseBirdProtocols, parseBirdRoutes } from './bird-state.js';
import { vtysh } from './frr-daemons.js';
import { parseFrrBfdPeers, parseFrrRoute, parseFrrSummary } from './frr-state.js';
import { gobgp } from './gobgp-daemon.js';
import { parseGobgpNeighbors, parseGobgpRib } from './gobgp-state.js';
import { parseIpRoutes } from './kernel-routes.js';
import type { BfdSession, KernelNextHop, PeerState, RibPath } from './router-state.js';

async function birdShow(plan: LabPlan, command: string, okOnFailure?: RegExp): Promise<string> {
  const result = await birdc(plan.router.netns, command);
  if (result.code === 0 || okOnFailure?.test(result.stdout)) return result.stdout;
  throw new Error(`birdc ${command} in ${plan.router.netns}: ${(result.stdout + result.stderr).trim()}`);
}

export async function routerPeers(plan: LabPlan): Promise<PeerState[]> {
  const netns = plan.router.netns;
  switch (plan.router.kind) {
    case 'frr':
      return parseFrrSummary(await vtysh(netns, 'show bgp summary json'));
    case 'bird':
      return parseBirdProtocols(await birdShow(plan, 'show protocols all')).map(({ protocol: _, ...p }) => p);
    case 'gobgp':
      return parseGobgpNeighbors(await gobgp(netns, ['neighbor', '-j']));
  }
}

/** The router's BFD sessions. GoBGP has no BFD: asking it is an error. */
export async function routerBfd(plan: LabPlan): Promise<BfdSession[]> {
  switch (plan.router.kind) {
    case 'frr':
      return parseFrrBfdPeers(await vtysh(plan.router.netns, 'show bfd peers json'));
    case 'bird':
      return parseBirdBfdSessions(await birdShow(plan, 'show bfd sessions'));
    case 'gobgp':
      throw new Error('the GoBGP router has no BFD (gobgpd does not implement it)');
  }
}

/**
 * The router's BGP paths for exactly one prefix ("203.0.113.10/32", "2001:db8:0:100::10/128"; a
 * bare address means its host route), not for a shorter prefix that covers it.
 */
export async function routerRib(plan: LabPlan, address: string): Promise<RibPath[]> {
  const netns = plan.router.netns;
  const afi = address.includes(':') ? 'ipv6' : 'ipv4';
  const prefix = address.includes('/') ? address : `${address}/${afi === 'ipv6' ? 128 : 32}`;
  switch (plan.router.kind) {
    case 'frr':
      return parseFrrRoute(await vtysh(netns, `show bgp ${afi} unicast ${prefix} json`));
    case 'bird': {
      const peers = parseBirdProtocols(await birdShow(plan, 'show protocols all'));
      return parseBirdRoutes(await birdShow(plan, `show route ${prefix} all`, /Network not found/), peers);
    }
    case 'gobgp':
      return parseGobgpRib(await gobgp(netns, ['global', 'rib', '-a', afi, prefix, '-j']));
  }
}

/** The kernel's next hops for exactly `prefix` in the namespace's main table; [] when there is no route. */
export async function kernelRoute(netns: string, prefix: string): Promise<KernelNextHop[]> {
  // Without -6, `ip route show <v6 prefix>` silently lists nothing.
  const args = ['-n', netns, '-j', prefix.includes(':') ? '-6' : '-4', 'route', 'show', prefix];
  const result = await exec('ip', args);
  if (result.code !== 0) throw new Error(`\`${formatCommand('ip', args)}\` failed: ${result.stderr.trim()}`);
  return parseIpRoutes(result.stdout);
}
