// Decides how to answer one message read from a raw ICMPv6 socket: a Neighbor Advertisement, or the
// reason for silence. Validation follows RFC 4861 section 7.1.1; the answer, section 7.2.4. Pure.
import { IPV6_LENGTH, ipv6ToText, isMulticastIpv6, isUnspecifiedIpv6 } from './ip-bytes.js';
import {
  decodeNdp,
  encodeNdp,
  ICMPV6_NEIGHBOR_SOLICITATION,
  NDP_HOP_LIMIT,
  type NdpTransmission,
} from './ndp.js';
import { ALL_NODES, ipv6MulticastMac, isSolicitedNodeAddressOf } from './ndp-addresses.js';
import type { AnnouncementLookup, L2Interface } from './responder-context.js';

/** What the socket reports beside the message (IPV6_PKTINFO, IPV6_HOPLIMIT, the sender address). */
export interface Icmpv6Metadata {
  source: Uint8Array;
  destination: Uint8Array;
  hopLimit: number;
  interfaceIndex: number;
}

export const NDP_IGNORE_REASONS = [
  /** Arrived on another interface than the one this responder serves. */
  'wrong-interface',
  /** Not 255: it crossed a router, so it cannot come from the link (RFC 4861 section 7.1.1). */
  'hop-limit-not-255',
  'not-neighbor-solicitation',
  'malformed',
  'nonzero-code',
  'multicast-target',
  'multicast-source',
  /** DAD probes carry no source link-layer address option; RFC 4861 says to drop one that does. */
  'dad-with-source-link-address',
  /** A DAD probe must go to the target's solicited-node group. */
  'dad-not-to-solicited-node',
  'not-owned',
  'interface-not-allowed',
] as const;

export type NdpIgnoreReason = (typeof NDP_IGNORE_REASONS)[number];

/**
 * address-resolution: multicast NS from a host resolving the VIP.
 * unreachability-detection: unicast NS (NUD), often without a source link-layer address option.
 * duplicate-address-detection: NS from :: by a host about to configure the VIP itself.
 */
export type SolicitationPurpose =
  | 'address-resolution'
  | 'unreachability-detection'
  | 'duplicate-address-detection';

export type NdpDecision =
  | {
      action: 'reply';
      vip: string;
      purpose: SolicitationPurpose;
      /** Send with hop limit 255; `source` is the VIP, which is what Linux sources its own NAs from. */
      advertisement: NdpTransmission;
      /** Link-layer destination for a shell that builds whole frames; unknown for NUD without the option. */
      destinationMac?: Buffer;
    }
  | { action: 'ignore'; reason: NdpIgnoreReason; vip?: string; detail?: string };

const ignore = (reason: NdpIgnoreReason, extra: { vip?: string; detail?: string } = {}): NdpDecision => ({
  action: 'ignore',
  reason,
  ...extra,
});

/**
 * The answer is always a NA with the Target Link-Layer Address option, O=1: exactly one node owns
 * a VIP, so its answer should replace whatever MAC a neighbor still holds for it (O=0 would leave an
 * entry pointing at the previous owner; RFC 4861 section 7.2.5). A solicitation from :: is a DAD
 * probe for the VIP; the owner defends it, as RFC 4861 section 7.2.4 prescribes, with S=0 to ff02::1.
 */
export function respondToNeighborSolicitation(
  message: Uint8Array,
  metadata: Icmpv6Metadata,
  iface: L2Interface,
  lookup: AnnouncementLookup,
): NdpDecision {
  if (metadata.interfaceIndex !== iface.index) return ignore('wrong-interface');
  if (metadata.hopLimit !== NDP_HOP_LIMIT) return ignore('hop-limit-not-255');
  if (message[0] !== ICMPV6_NEIGHBOR_SOLICITATION) return ignore('not-neighbor-solicitation');
  if (metadata.source.length !== IPV6_LENGTH || metadata.destination.length !== IPV6_LENGTH) {
    return ignore('malformed', { detail: 'IPv6 source or destination address is not 16 bytes' });
  }
  const decoded = decodeNdp(message);
  if (!decoded.ok) return ignore('malformed', { detail: decoded.error });
  const solicitation = decoded.value.message;
  if (solicitation.code !== 0) return ignore('nonzero-code');
  if (isMulticastIpv6(solicitation.target)) return ignore('multicast-target');
  const vip = ipv6ToText(solicitation.target);
  if (isMulticastIpv6(metadata.source)) return ignore('multicast-source', { vip });
  const isDad = isUnspecifiedIpv6(metadata.source);
  if (isDad && solicitation.sourceLinkAddress) return ignore('dad-with-source-link-address', { vip });
  if (isDad && !isSolicitedNodeAddressOf(metadata.destination, solicitation.target)) {
    return ignore('dad-not-to-solicited-node', { vip });
  }
  const announcement = lookup(vip, iface.name);
  if (announcement !== 'announce') return ignore(announcement, { vip });

  const source = Buffer.from(solicitation.target);
  const destination = Buffer.from(isDad ? ALL_NODES : metadata.source);
  const advertisement = encodeNdp(
    {
      kind: 'neighbor-advertisement',
      code: 0,
      router: false,
      solicited: !isDad,
      override: true,
      target: solicitation.target,
      targetLinkAddress: iface.mac,
    },
    { source, destination },
  );
  const purpose: SolicitationPurpose = isDad
    ? 'duplicate-address-detection'
    : isMulticastIpv6(metadata.destination)
      ? 'address-resolution'
      : 'unreachability-detection';
  const destinationMac = isDad ? ipv6MulticastMac(ALL_NODES) : solicitation.sourceLinkAddress;
  return {
    action: 'reply',
    vip,
    purpose,
    advertisement: { message: advertisement, source, destination },
    ...(destinationMac ? { destinationMac } : {}),
  };
}
