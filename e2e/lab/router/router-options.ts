/**
 * The knobs shared by the lab router's config renderers, their defaults, and what each kind of
 * router can do. The router is passive: it listens on the LAN and accepts every node as an eBGP peer.
 */
import type { LabPlan, RouterKind } from '../plan.js';

export interface BfdTiming {
  /** Desired transmit and required receive interval. */
  intervalMs: number;
  multiplier: number;
}

export interface RouterTuning {
  /** BGP hold time in seconds (0, or at least 3). */
  holdTime: number;
  keepalive: number;
  /** BFD on every session (where the daemon has BFD), or false for none. */
  bfd: BfdTiming | false;
  /** The peers' AS: a number (default: the plan's node AS) or 'external' (any AS but ours). */
  remoteAs: number | 'external';
  /** ECMP width: how many equal paths go into the kernel route. */
  maxPaths: number;
}

export type RouterTuningOptions = Partial<RouterTuning>;

export const DEFAULT_BFD: BfdTiming = { intervalMs: 100, multiplier: 3 };

export class RouterConfigError extends Error {
  override readonly name = 'RouterConfigError';
}

/** The options with their defaults filled in; throws a RouterConfigError for values no daemon accepts. */
export function routerTuning(plan: LabPlan, options: RouterTuningOptions = {}): RouterTuning {
  const tuning: RouterTuning = {
    holdTime: options.holdTime ?? 9,
    keepalive: options.keepalive ?? 3,
    bfd: options.bfd === undefined ? DEFAULT_BFD : options.bfd,
    remoteAs: options.remoteAs ?? plan.nodeAsn,
    maxPaths: options.maxPaths ?? 8,
  };
  const { holdTime, keepalive, bfd, remoteAs, maxPaths } = tuning;
  if (!Number.isInteger(holdTime) || (holdTime !== 0 && (holdTime < 3 || holdTime > 65535))) {
    throw new RouterConfigError(`BGP hold time must be 0 or 3–65535 s, not ${holdTime}`);
  }
  if (!Number.isInteger(keepalive) || keepalive < 1 || (holdTime > 0 && keepalive >= holdTime)) {
    throw new RouterConfigError(
      `BGP keepalive must be a whole number of seconds below the hold time (${holdTime})`,
    );
  }
  if (bfd && (!Number.isInteger(bfd.intervalMs) || bfd.intervalMs < 10 || bfd.intervalMs > 60_000)) {
    throw new RouterConfigError(`BFD interval must be 10–60000 ms, not ${bfd.intervalMs}`);
  }
  if (bfd && (!Number.isInteger(bfd.multiplier) || bfd.multiplier < 2 || bfd.multiplier > 255)) {
    throw new RouterConfigError(`BFD multiplier must be 2–255, not ${bfd.multiplier}`);
  }
  if (remoteAs !== 'external' && (!Number.isInteger(remoteAs) || remoteAs < 1 || remoteAs > 4294967294)) {
    throw new RouterConfigError(`the nodes' AS must be 1–4294967294 or 'external', not ${remoteAs}`);
  }
  if (remoteAs === plan.router.asn) {
    throw new RouterConfigError(`the lab router peers over eBGP: the nodes' AS must differ from ${remoteAs}`);
  }
  if (!Number.isInteger(maxPaths) || maxPaths < 1 || maxPaths > 64) {
    throw new RouterConfigError(`ECMP width must be 1–64 paths, not ${maxPaths}`);
  }
  return tuning;
}

/** The prefixes the router accepts BGP sessions from: the LAN, v4 and (dual-stack) v6. */
export function listenRanges(plan: LabPlan): string[] {
  return plan.lan.v6 ? [plan.lan.v4, plan.lan.v6] : [plan.lan.v4];
}

export interface RouterCapabilities {
  /** The daemon runs BFD with the nodes. */
  bfd: boolean;
  /** Best paths reach the router's kernel table (ECMP), so traffic follows BGP. */
  kernelRoutes: boolean;
}

/**
 * What each router kind does here. GoBGP has no BFD, and installs routes only through FRR's zebra,
 * which Debian's gobgpd 3.10 cannot talk to (see gobgp-daemon.ts): `gobgpZebra` says whether a
 * gobgpd that can was found.
 */
export function routerCapabilities(kind: RouterKind, gobgpZebra = false): RouterCapabilities {
  if (kind === 'gobgp') return { bfd: false, kernelRoutes: gobgpZebra };
  return { bfd: true, kernelRoutes: true };
}
