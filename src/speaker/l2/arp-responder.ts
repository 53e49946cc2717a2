// Decides how to answer one frame read from an ARP packet socket: a reply frame, or the reason for
// silence. Pure; the shell sends the frame and counts the reasons.
import { ARP_REPLY, ARP_REQUEST, buildArpReply, decodeArp } from './arp.js';
import { decodeEthernet, ETHERTYPE_ARP } from './ethernet.js';
import { ipv4ToText } from './ip-bytes.js';
import { isBroadcastMac, isUnicastMac } from './mac.js';
import type { AnnouncementLookup, L2Interface, PacketType } from './responder-context.js';

export const ARP_IGNORE_REASONS = [
  /** We sent it: the kernel looped our own transmission back, or the source MAC is ours. */
  'own-frame',
  /** Linux marked it for another host: promiscuous mode, or a VLAN with no VLAN device on this node. */
  'other-host',
  'malformed',
  /** A tag is still in the frame data: it belongs to another broadcast domain (see ethernet.ts). */
  'vlan-tagged',
  'not-arp',
  /** Ethernet destination is neither broadcast nor our MAC. */
  'not-addressed-to-us',
  'reply',
  /** Neither request nor reply (RARP, InARP). */
  'unsupported-operation',
  /** The sender hardware address is multicast, broadcast or zero: there is nobody to answer. */
  'invalid-sender',
  'not-owned',
  'interface-not-allowed',
] as const;

export type ArpIgnoreReason = (typeof ARP_IGNORE_REASONS)[number];

export type ArpDecision =
  | { action: 'reply'; vip: string; frame: Buffer }
  | {
      action: 'ignore';
      reason: ArpIgnoreReason;
      /** The requested address, once the packet has been decoded. */
      vip?: string;
      /** Why a malformed frame was rejected, for a debug log. */
      detail?: string;
    };

const ignore = (reason: ArpIgnoreReason, extra: { vip?: string; detail?: string } = {}): ArpDecision => ({
  action: 'ignore',
  reason,
  ...extra,
});

/**
 * `frame` is a whole Ethernet frame; `packetType` is the kernel's `sll_pkttype` for it, when the
 * socket reports one. The reply goes to the requester's hardware address; an ARP probe (sender IP
 * 0.0.0.0, RFC 5227) is answered too, which is how an owner tells a prober the address is taken.
 */
export function respondToArp(
  frame: Uint8Array,
  iface: L2Interface,
  lookup: AnnouncementLookup,
  packetType?: PacketType,
): ArpDecision {
  if (packetType === 'outgoing') return ignore('own-frame');
  const ethernet = decodeEthernet(frame);
  if (!ethernet.ok) return ignore('malformed', { detail: ethernet.error });
  const { destination, source, vlanIds, etherType, payload } = ethernet.value;
  if (source.equals(iface.mac)) return ignore('own-frame');
  if (packetType === 'other-host') return ignore('other-host');
  if (vlanIds) return ignore('vlan-tagged');
  if (etherType !== ETHERTYPE_ARP) return ignore('not-arp');
  if (!isBroadcastMac(destination) && !destination.equals(iface.mac)) return ignore('not-addressed-to-us');
  const arp = decodeArp(payload);
  if (!arp.ok) return ignore('malformed', { detail: arp.error });
  const request = arp.value;
  const vip = ipv4ToText(request.targetIp);
  if (request.operation === ARP_REPLY) return ignore('reply', { vip });
  if (request.operation !== ARP_REQUEST) return ignore('unsupported-operation', { vip });
  if (!isUnicastMac(request.senderMac)) return ignore('invalid-sender', { vip });
  const announcement = lookup(vip, iface.name);
  if (announcement !== 'announce') return ignore(announcement, { vip });
  return { action: 'reply', vip, frame: buildArpReply(request, iface.mac) };
}
