/**
 * GoBGP as the lab's passive router: a peer group with dynamic neighbours for each LAN prefix,
 * multipath on, nothing exported to the nodes. GoBGP has no BFD. It installs routes in the kernel
 * only through FRR's zebra (the `zebra` option), which needs a gobgpd newer than Debian's 3.10.
 * Pure: plan + tuning in, gobgpd.toml text out.
 */
import type { LabPlan } from '../plan.js';
import { listenRanges, RouterConfigError, type RouterTuningOptions, routerTuning } from './router-options.js';

export interface GobgpConfigOptions extends RouterTuningOptions {
  /** Install best paths through FRR's zebra listening on this ZAPI socket. */
  zebra?: { socket: string };
}

/** FRR 8.4 speaks ZAPI 6; gobgpd picks its message layout from this name. */
export const ZEBRA_SOFTWARE = 'frr8.4';

export function renderGobgpConfig(plan: LabPlan, options: GobgpConfigOptions = {}): string {
  const t = routerTuning(plan, options);
  if (t.remoteAs === 'external') {
    throw new RouterConfigError(
      'GoBGP peer groups need the nodes\u2019 AS number; "external" is not supported',
    );
  }
  const lines = [
    '[global.config]',
    `  as = ${plan.router.asn}`,
    `  router-id = "${plan.router.lan.v4}"`,
    '[global.apply-policy.config]',
    '  default-export-policy = "reject-route"',
    '[global.use-multiple-paths.config]',
    '  enabled = true',
  ];
  if (options.zebra) {
    lines.push(
      '',
      '[zebra.config]',
      '  enabled = true',
      `  url = "unix:${options.zebra.socket}"`,
      '  version = 6',
      `  software-name = "${ZEBRA_SOFTWARE}"`,
    );
  }
  lines.push(
    '',
    '[[peer-groups]]',
    '  [peer-groups.config]',
    '    peer-group-name = "nodes"',
    `    peer-as = ${t.remoteAs}`,
    '  [peer-groups.transport.config]',
    '    passive-mode = true',
    '  [peer-groups.timers.config]',
    `    hold-time = ${t.holdTime}`,
    `    keepalive-interval = ${t.keepalive}`,
  );
  for (const family of plan.lan.v6 ? ['ipv4-unicast', 'ipv6-unicast'] : ['ipv4-unicast']) {
    lines.push(
      '  [[peer-groups.afi-safis]]',
      '    [peer-groups.afi-safis.config]',
      `      afi-safi-name = "${family}"`,
    );
  }
  for (const prefix of listenRanges(plan)) {
    lines.push(
      '',
      '[[dynamic-neighbors]]',
      '  [dynamic-neighbors.config]',
      `    prefix = "${prefix}"`,
      '    peer-group = "nodes"',
    );
  }
  return `${lines.join('\n')}\n`;
}
