import type { LabelSelector } from '../k8s/label-selector.js';
import type { Condition, KubeObject } from '../k8s/types.js';

export const API_GROUP = 'portico.dev';
export const API_VERSION = 'v1alpha1';

/** Which Services may take addresses from a pool, and in which order pools are tried (MetalLB's meaning). */
export interface ServiceAllocation {
  /** Lower is tried first; 0 or unset is tried after every pool with a priority. */
  priority?: number;
  namespaces?: string[];
  namespaceSelectors?: LabelSelector[];
  serviceSelectors?: LabelSelector[];
}

export interface IPAddressPoolSpec {
  /** CIDRs (`203.0.113.0/25`), ranges (`203.0.113.10-203.0.113.20`) and single addresses; v4 and v6. */
  addresses: string[];
  /** Used for Services that name no pool. Default true. */
  autoAssign?: boolean;
  /** Never hand out IPv4 addresses ending in .0 or .255. Default false. */
  avoidBuggyIPs?: boolean;
  /** Addresses inside `addresses` that are never handed out; same formats. */
  excludes?: string[];
  /**
   * A freed address is not given to another Service for this long while other addresses are free
   * (a duration such as `10m`). Default: no hold-down.
   */
  reuseHoldDown?: string;
  serviceAllocation?: ServiceAllocation;
}

export interface IPAddressPoolStatus {
  /** MetalLB's counters. Counts beyond 2^53 - 1 (large IPv6 pools) are reported as 2^53 - 1. */
  assignedIPv4?: number;
  assignedIPv6?: number;
  availableIPv4?: number;
  availableIPv6?: number;
  /** Addresses handed out, both families. */
  inUse?: number;
  /** Addresses still free, both families, exact, as a decimal string (a /64 holds 2^64). */
  free?: string;
  observedGeneration?: number;
  /** `Ready`, `Overlapping`, `Exhausted`. */
  conditions?: Condition[];
}

export interface IPAddressPool extends KubeObject {
  spec: IPAddressPoolSpec;
  status?: IPAddressPoolStatus;
}

export const IPAddressPoolResource = {
  group: API_GROUP,
  version: API_VERSION,
  plural: 'ipaddresspools',
  kind: 'IPAddressPool',
  namespaced: true,
} as const;

/** Service annotations: ours first; MetalLB's are read as aliases, ours winning. */
export const ANNOTATION_PREFIXES = ['portico.dev/', 'metallb.io/', 'metallb.universe.tf/'] as const;

export const DEFAULT_LOAD_BALANCER_CLASS = 'portico.dev/lb';
