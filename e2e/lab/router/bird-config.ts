/**
 * BIRD 2 as the lab's passive router: a dynamic BGP protocol per LAN prefix (v4, and v6 when
 * dual-stack) accepting every node, BFD on the LAN interface, and kernel protocols that merge
 * equal BGP paths into one ECMP route. Pure: plan + tuning in, bird.conf text out.
 */
import { join } from 'node:path';
import { LAN_IF, type LabPlan } from '../plan.js';
import { type RouterTuningOptions, routerTuning } from './router-options.js';

export interface BirdRouterConfigOptions extends RouterTuningOptions {
  /** Where bird.log goes (BIRD runs as root, so any path works). */
  stateDir: string;
}

/** Names of the protocols BIRD spawns per peer: node_v4_1, node_v6_1, … */
export const BIRD_DYNAMIC_PREFIX = { v4: 'node_v4_', v6: 'node_v6_' } as const;

export function renderBirdRouterConfig(plan: LabPlan, options: BirdRouterConfigOptions): string {
  const t = routerTuning(plan, options);
  const { router, lan } = plan;
  const remote = t.remoteAs === 'external' ? 'external' : `as ${t.remoteAs}`;
  const channels = (indent: string) => [
    `${indent}ipv4 { import all; export none; };`,
    ...(lan.v6 ? [`${indent}ipv6 { import all; export none; };`] : []),
  ];
  const kernel = (name: string, afi: 'ipv4' | 'ipv6') =>
    `protocol kernel ${name} { ${afi} { import none; export all; }; merge paths on limit ${t.maxPaths}; }`;
  const lines = [
    `router id ${router.lan.v4};`,
    `log "${join(options.stateDir, 'bird.log')}" all;`,
    '',
    'protocol device {}',
    kernel('kernel4', 'ipv4'),
    ...(lan.v6 ? [kernel('kernel6', 'ipv6')] : []),
  ];
  if (t.bfd) {
    const ms = t.bfd.intervalMs;
    lines.push(
      `protocol bfd { interface "${LAN_IF}" { min rx interval ${ms} ms; min tx interval ${ms} ms; multiplier ${t.bfd.multiplier}; }; }`,
    );
  }
  lines.push(
    '',
    'template bgp nodes {',
    '  passive on;',
    `  hold time ${t.holdTime}; keepalive time ${t.keepalive};`,
    // A dynamic session that failed (BFD down) refuses the node's reconnects for this long: BIRD's
    // default of 60 s would keep a restored node out for a minute.
    '  error wait time 1, 5;',
    `  bfd ${t.bfd ? 'on' : 'off'};`,
    ...channels('  '),
    '}',
    `protocol bgp nodes_v4 from nodes { local ${router.lan.v4} as ${router.asn}; neighbor range ${lan.v4} ${remote}; dynamic name "${BIRD_DYNAMIC_PREFIX.v4}"; }`,
  );
  if (lan.v6 && router.lan.v6) {
    lines.push(
      `protocol bgp nodes_v6 from nodes { local ${router.lan.v6} as ${router.asn}; neighbor range ${lan.v6} ${remote}; dynamic name "${BIRD_DYNAMIC_PREFIX.v6}"; }`,
    );
  }
  return `${lines.join('\n')}\n`;
}
