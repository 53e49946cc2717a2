// What the ARP and NDP responders need to know about the node, supplied by the speaker's shell.

/** The interface a packet arrived on. */
export interface L2Interface {
  name: string;
  /** The kernel's ifindex. */
  index: number;
  /** The interface's own MAC (6 bytes): the one answers carry. */
  mac: Buffer;
}

export type VipAnnouncement = 'announce' | 'not-owned' | 'interface-not-allowed';

/**
 * Whether this node answers for `vip` (canonical text: dotted quad, or RFC 5952 for IPv6) on the
 * interface named `interfaceName`: it must be the elected owner, and an advertisement covering the
 * VIP must allow that interface.
 */
export type AnnouncementLookup = (vip: string, interfaceName: string) => VipAnnouncement;

/** Linux `sll_pkttype` values, indexed by their number (PACKET_HOST = 0 … PACKET_OUTGOING = 4). */
export const PACKET_TYPES = ['host', 'broadcast', 'multicast', 'other-host', 'outgoing'] as const;

export type PacketType = (typeof PACKET_TYPES)[number];
