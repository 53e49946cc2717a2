/**
 * FRR as the lab's passive router: one peer group for the whole LAN (dynamic neighbours), eBGP
 * with multipath-relax and `maximum-paths` so zebra installs one ECMP route with a next hop per
 * node, and a fast BFD profile. Pure: plan + tuning in, frr.conf text out.
 *
 * No `exit` lines: every daemon reads the whole file, and one that does not know a block (bgpd
 * and `bfd`) stays at the top level, where `exit` would leave configuration mode and make it
 * ignore the rest of the file. FRR leaves a block by itself when a line belongs to the parent.
 *
 * Logs go to stdout (the lifecycle sends them to a file in the state dir): FRR drops to the `frr`
 * user before it opens files, and an arbitrary state dir may not be reachable by that user.
 */
import type { LabPlan } from '../plan.js';
import { listenRanges, type RouterTuningOptions, routerTuning } from './router-options.js';

const GROUP = 'NODES';
const BFD_PROFILE = 'portico';
/** Install IPv6 routes via the node's global address, not the link-local one BIRD also sends. */
const PREFER_GLOBAL = 'NODES-V6-IN';
/** The router learns the nodes' addresses and announces nothing back. */
const EXPORT_NONE = 'NODES-OUT';

function header(plan: LabPlan): string[] {
  return ['frr defaults traditional', `hostname ${plan.router.netns}`, 'log stdout informational', '!'];
}

export function renderFrrConfig(plan: LabPlan, options: RouterTuningOptions = {}): string {
  const t = routerTuning(plan, options);
  const v6 = plan.lan.v6 !== undefined;
  const lines = [...header(plan)];
  if (t.bfd) {
    lines.push(
      'bfd',
      ` profile ${BFD_PROFILE}`,
      `  receive-interval ${t.bfd.intervalMs}`,
      `  transmit-interval ${t.bfd.intervalMs}`,
      `  detect-multiplier ${t.bfd.multiplier}`,
      '!',
    );
  }
  lines.push(`route-map ${EXPORT_NONE} deny 10`, '!');
  if (v6) lines.push(`route-map ${PREFER_GLOBAL} permit 10`, ' set ipv6 next-hop prefer-global', '!');
  lines.push(
    `router bgp ${plan.router.asn}`,
    ` bgp router-id ${plan.router.lan.v4}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
    ' bgp bestpath as-path multipath-relax',
    ` neighbor ${GROUP} peer-group`,
    ` neighbor ${GROUP} remote-as ${t.remoteAs}`,
    ` neighbor ${GROUP} passive`,
    ` neighbor ${GROUP} timers ${t.keepalive} ${t.holdTime}`,
  );
  if (t.bfd) lines.push(` neighbor ${GROUP} bfd`, ` neighbor ${GROUP} bfd profile ${BFD_PROFILE}`);
  for (const range of listenRanges(plan)) lines.push(` bgp listen range ${range} peer-group ${GROUP}`);
  const family = (afi: 'ipv4' | 'ipv6', extra: string[]) => [
    ` address-family ${afi} unicast`,
    `  neighbor ${GROUP} activate`,
    `  neighbor ${GROUP} route-map ${EXPORT_NONE} out`,
    ...extra,
    `  maximum-paths ${t.maxPaths}`,
    ' exit-address-family',
  ];
  lines.push(...family('ipv4', []));
  if (v6) lines.push(...family('ipv6', [`  neighbor ${GROUP} route-map ${PREFER_GLOBAL} in`]));
  lines.push('!');
  return `${lines.join('\n')}\n`;
}

/** zebra alone, for GoBGP's FIB installs: no protocol config at all. */
export function renderZebraOnlyConfig(plan: LabPlan): string {
  return `${header(plan).join('\n')}\n`;
}
