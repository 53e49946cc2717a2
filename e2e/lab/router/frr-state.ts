/** Parsers for FRR's `vtysh … json` output: summary, BFD peers, one prefix's BGP paths. */
import { type BfdSession, fsmStateName, type PeerState, type RibPath } from './router-state.js';

interface SummaryPeer {
  state?: string;
  pfxRcd?: number;
}

/**
 * `show bgp summary json`: one entry per address family, each listing every peer of the group
 * (FRR shows a session under a family it did not negotiate too, with pfxRcd 0).
 */
export function parseFrrSummary(text: string): PeerState[] {
  const families = JSON.parse(text) as Record<string, { peers?: Record<string, SummaryPeer> }>;
  const peers = new Map<string, PeerState>();
  for (const family of Object.values(families)) {
    for (const [address, p] of Object.entries(family.peers ?? {})) {
      const seen = peers.get(address);
      const state = fsmStateName(p.state ?? 'Idle');
      const prefixes = (seen?.prefixesReceived ?? 0) + (p.pfxRcd ?? 0);
      peers.set(address, {
        address,
        state: seen?.state === 'Established' ? seen.state : state,
        prefixesReceived: prefixes,
      });
    }
  }
  return [...peers.values()];
}

interface FrrBfdPeer {
  peer: string;
  status: string;
  'receive-interval'?: number;
  'detect-multiplier'?: number;
}

const BFD_STATES: Record<string, string> = { up: 'Up', down: 'Down', init: 'Init', shutdown: 'AdminDown' };

/** `show bfd peers json` */
export function parseFrrBfdPeers(text: string): BfdSession[] {
  return (JSON.parse(text) as FrrBfdPeer[]).map((p) => ({
    peer: p.peer,
    state: BFD_STATES[p.status] ?? p.status,
    intervalMs: p['receive-interval'],
    multiplier: p['detect-multiplier'],
  }));
}

interface FrrPath {
  aspath?: { segments?: { list?: number[] }[] };
  multipath?: boolean;
  bestpath?: { overall?: boolean };
  nexthops?: { ip: string; used?: boolean }[];
  peer?: { peerId?: string };
}

/** `show bgp ipv4|ipv6 unicast <prefix> json`: `{}` when the router has no path. */
export function parseFrrRoute(text: string): RibPath[] {
  const route = JSON.parse(text) as { prefix?: string; paths?: FrrPath[] };
  const prefix = route.prefix;
  if (!prefix) return [];
  return (route.paths ?? []).flatMap((p) => {
    const nextHop = (p.nexthops?.find((n) => n.used) ?? p.nexthops?.[0])?.ip;
    if (!nextHop) return [];
    const path: RibPath = {
      prefix,
      nextHop,
      peer: p.peer?.peerId,
      asPath: (p.aspath?.segments ?? []).flatMap((s) => s.list ?? []),
      best: p.bestpath?.overall === true,
      multipath: p.multipath === true,
    };
    return [path];
  });
}
