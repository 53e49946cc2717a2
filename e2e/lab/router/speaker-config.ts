/**
 * A BIRD 2 test speaker for a node namespace, standing in for Portico's own speaker: it peers
 * with the router's LAN address (a v4 session, and a v6 session when dual-stack), announces host
 * routes for the given VIPs from static blackhole routes, and runs BFD. Pure: config text out.
 */
import { join } from 'node:path';
import ipaddr from 'ipaddr.js';
import { LAN_IF, type LabPlan, type NodePlan } from '../plan.js';
import { type BfdTiming, DEFAULT_BFD, RouterConfigError } from './router-options.js';

export interface SpeakerConfigOptions {
  /** Where the speaker's log goes. */
  stateDir: string;
  /** Default 100 ms × 3; false turns BFD off (the router still works without it). */
  bfd?: BfdTiming | false;
  holdTime?: number;
  keepalive?: number;
}

export interface Vips {
  v4: string[];
  v6: string[];
}

/**
 * Sorts VIPs by family, as host prefixes: "203.0.113.10" and "203.0.113.10/32" are the same
 * VIP. Anything else (a wider prefix, a bad address) is a RouterConfigError.
 */
export function parseVips(prefixes: readonly string[]): Vips {
  const vips: Vips = { v4: [], v6: [] };
  for (const text of prefixes) {
    const [address, length] = text.includes('/') ? text.split('/') : [text, undefined];
    const valid = address && (ipaddr.IPv4.isValidFourPartDecimal(address) || ipaddr.IPv6.isValid(address));
    if (!valid) throw new RouterConfigError(`"${text}" is not an IP address`);
    const parsed = ipaddr.parse(address);
    const host = parsed.kind() === 'ipv4' ? 32 : 128;
    if (length !== undefined && Number(length) !== host) {
      throw new RouterConfigError(`"${text}" is not a host route: the speaker announces /32 and /128 VIPs`);
    }
    const list = parsed.kind() === 'ipv4' ? vips.v4 : vips.v6;
    const prefix = `${parsed.toString()}/${host}`;
    if (!list.includes(prefix)) list.push(prefix);
  }
  return vips;
}

export function renderSpeakerConfig(
  plan: LabPlan,
  node: NodePlan,
  prefixes: readonly string[],
  options: SpeakerConfigOptions,
): string {
  const vips = parseVips(prefixes);
  if (vips.v6.length > 0 && !(node.lan.v6 && plan.router.lan.v6)) {
    throw new RouterConfigError(
      `${node.name} has no IPv6 in an IPv4-only lab: cannot announce ${vips.v6[0]}`,
    );
  }
  const bfd = options.bfd === undefined ? DEFAULT_BFD : options.bfd;
  const statics = (afi: 'ipv4' | 'ipv6', list: string[]) =>
    `protocol static static_${afi === 'ipv4' ? 'v4' : 'v6'} { ${afi}; ${list.map((p) => `route ${p} blackhole;`).join(' ')} }`;
  const session = (name: string, local: string, neighbor: string, afi: 'ipv4' | 'ipv6') => [
    `protocol bgp ${name} {`,
    `  local ${local} as ${plan.nodeAsn};`,
    `  neighbor ${neighbor} as ${plan.router.asn};`,
    `  hold time ${options.holdTime ?? 9}; keepalive time ${options.keepalive ?? 3};`,
    // BIRD waits 5 s before its first connect, and again after each error: a restored node would
    // sit out that long.
    '  connect delay time 1;',
    '  connect retry time 2;',
    '  error wait time 1, 5;',
    `  bfd ${bfd ? 'on' : 'off'};`,
    `  ${afi} { import none; export where source = RTS_STATIC; };`,
    '}',
  ];
  const lines = [
    `router id ${node.lan.v4};`,
    `log "${join(options.stateDir, `speaker-${node.name}.log`)}" all;`,
    '',
    'protocol device {}',
    statics('ipv4', vips.v4),
  ];
  if (node.lan.v6) lines.push(statics('ipv6', vips.v6));
  if (bfd) {
    const ms = bfd.intervalMs;
    lines.push(
      `protocol bfd { interface "${LAN_IF}" { min rx interval ${ms} ms; min tx interval ${ms} ms; multiplier ${bfd.multiplier}; }; }`,
    );
  }
  lines.push('', ...session('router_v4', node.lan.v4, plan.router.lan.v4, 'ipv4'));
  if (node.lan.v6 && plan.router.lan.v6) {
    lines.push('', ...session('router_v6', node.lan.v6, plan.router.lan.v6, 'ipv6'));
  }
  return `${lines.join('\n')}\n`;
}
