import type { LabelSelector } from '../k8s/label-selector.js';
import type { KubeObject } from '../k8s/types.js';
import { API_GROUP, API_VERSION } from './ip-address-pool.js';

/** Which pools' addresses are announced over L2, from which nodes and interfaces (MetalLB's meaning). */
export interface L2AdvertisementSpec {
  /** Pools by name; names of pools that do not exist are ignored. */
  ipAddressPools?: string[];
  /** Pools by label, any selector matching. With `ipAddressPools` also empty: every pool. */
  ipAddressPoolSelectors?: LabelSelector[];
  /** Nodes that may announce, any selector matching. Empty: every node. */
  nodeSelectors?: LabelSelector[];
  /** Soft preferences among the nodes that may announce: weights of matching entries add up per node. */
  preferredNodeSelectors?: { weight: number; preference: LabelSelector }[];
  /** Interfaces to announce from. Empty: every interface that can announce. */
  interfaces?: string[];
  /**
   * Services this advertisement is for, any selector matching. Empty: every Service of its pools.
   * A Service sharing its address (allow-shared-ip) is not announced by an advertisement with
   * serviceSelectors, as in MetalLB: sharers could otherwise be announced from different nodes.
   */
  serviceSelectors?: LabelSelector[];
}

export interface L2Advertisement extends KubeObject {
  spec?: L2AdvertisementSpec;
}

export const L2AdvertisementResource = {
  group: API_GROUP,
  version: API_VERSION,
  plural: 'l2advertisements',
  kind: 'L2Advertisement',
  namespaced: true,
} as const;

/** Which node announces a Service over L2, and from which interfaces; one per announced Service. */
export interface ServiceL2StatusStatus {
  node: string;
  serviceName: string;
  serviceNamespace: string;
  /** Empty: all of the node's interfaces that can announce. */
  interfaces: { name: string }[];
}

export interface ServiceL2Status extends KubeObject {
  status?: ServiceL2StatusStatus;
}

export const ServiceL2StatusResource = {
  group: API_GROUP,
  version: API_VERSION,
  plural: 'servicel2statuses',
  kind: 'ServiceL2Status',
  namespaced: true,
} as const;

/** Labels on each ServiceL2Status, MetalLB's names under our group, so users can select by them. */
export const L2_STATUS_LABELS = {
  node: 'portico.dev/node',
  serviceName: 'portico.dev/service-name',
  serviceNamespace: 'portico.dev/service-namespace',
} as const;
