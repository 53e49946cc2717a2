/** What the state readers report, the same shape whichever daemon runs the router. */

export interface PeerState {
  /** The node's address the session runs over. */
  address: string;
  /** The BGP FSM state, spelled as RFC 4271 does: 'Idle', 'Active', 'OpenSent', 'Established', … */
  state: 'Established' | string;
  /** Prefixes received over the session (all address families). */
  prefixesReceived?: number;
}

export interface BfdSession {
  peer: string;
  state: 'Up' | 'Down' | 'Init' | 'AdminDown' | string;
  /** The router's receive interval. */
  intervalMs?: number;
  multiplier?: number;
}

export interface RibPath {
  prefix: string;
  /** The next hop the router uses for this path (FRR: the one marked used; the global one for IPv6). */
  nextHop: string;
  /** The address of the peer the path came from. */
  peer?: string;
  asPath: number[];
  best: boolean;
  /** Part of the ECMP set (FRR says so; BIRD and GoBGP do not). */
  multipath?: boolean;
}

export interface KernelNextHop {
  gateway?: string;
  dev?: string;
  weight?: number;
}

/** 'ESTABLISHED', 'established', 'BGP_FSM_ESTABLISHED' → 'Established'. */
export function fsmStateName(raw: string): string {
  const names = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];
  const key = raw.replace(/^BGP_FSM_/i, '').toLowerCase();
  return names.find((n) => n.toLowerCase() === key) ?? raw;
}
