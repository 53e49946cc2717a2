// Turns a due announcement into bytes for the socket that sends it.
import type { DueAnnouncement } from './announcement.js';
import { buildGratuitousArpReply, buildGratuitousArpRequest } from './arp.js';
import { buildUnsolicitedNeighborAdvertisement, type NdpTransmission } from './ndp.js';

export type AnnouncementPacket =
  /** A whole Ethernet frame for the interface's packet socket. */
  | { socket: 'packet'; frame: Buffer }
  /** An ICMPv6 message for the interface's raw ICMPv6 socket (hop limit 255). */
  | { socket: 'icmpv6'; advertisement: NdpTransmission };

export function buildAnnouncementPacket(item: DueAnnouncement, ourMac: Buffer): AnnouncementPacket {
  switch (item.kind) {
    case 'garp-request':
      return { socket: 'packet', frame: buildGratuitousArpRequest(item.address, ourMac) };
    case 'garp-reply':
      return { socket: 'packet', frame: buildGratuitousArpReply(item.address, ourMac) };
    case 'unsolicited-na':
      return { socket: 'icmpv6', advertisement: buildUnsolicitedNeighborAdvertisement(item.address, ourMac) };
  }
}
