/** Parsers for GoBGP's `gobgp … -j` output: neighbours and one prefix's paths. */
import { fsmStateName, type PeerState, type RibPath } from './router-state.js';

/** apipb.PeerState_SessionState, which `gobgp neighbor -j` prints as a number. */
const SESSION_STATES = ['Unknown', 'Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];

interface GobgpNeighbor {
  state?: { neighbor_address?: string; session_state?: number | string };
  afi_safis?: { state?: { received?: number } }[];
}

/** `gobgp neighbor -j` (null when there are none). */
export function parseGobgpNeighbors(text: string): PeerState[] {
  const neighbors = (JSON.parse(text) ?? []) as GobgpNeighbor[];
  return neighbors.flatMap((n) => {
    const address = n.state?.neighbor_address;
    if (!address) return [];
    const raw = n.state?.session_state ?? 0;
    const state = typeof raw === 'number' ? (SESSION_STATES[raw] ?? String(raw)) : fsmStateName(raw);
    const prefixesReceived = (n.afi_safis ?? []).reduce((sum, a) => sum + (a.state?.received ?? 0), 0);
    return [{ address, state, prefixesReceived }];
  });
}

interface GobgpAttr {
  type: number;
  nexthop?: string;
  as_paths?: { asns?: number[] }[];
}

interface GobgpPath {
  best?: boolean;
  attrs?: GobgpAttr[];
  'neighbor-ip'?: string;
}

const NEXT_HOP = 3;
const MP_REACH_NLRI = 14;
const AS_PATH = 2;

/** `gobgp global rib -a ipv4|ipv6 <prefix> -j`: `{ "<prefix>": [paths] }`, `{}` when none. */
export function parseGobgpRib(text: string): RibPath[] {
  const rib = JSON.parse(text) as Record<string, GobgpPath[]>;
  return Object.entries(rib).flatMap(([prefix, paths]) =>
    paths.flatMap((p) => {
      const attrs = p.attrs ?? [];
      const nextHop = attrs.find((a) => a.type === NEXT_HOP || a.type === MP_REACH_NLRI)?.nexthop;
      if (!nextHop) return [];
      const asPath = attrs.find((a) => a.type === AS_PATH)?.as_paths?.flatMap((s) => s.asns ?? []) ?? [];
      return [{ prefix, nextHop, peer: p['neighbor-ip'], asPath, best: p.best === true }];
    }),
  );
}
