// ARP for IPv4 over Ethernet (RFC 826), and the frames the speaker sends.
import { copyBytes, requireLength } from './bytes.js';
import { type DecodeResult, decoded, rejected } from './decode-result.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, encodeEthernet } from './ethernet.js';
import { IPV4_LENGTH } from './ip-bytes.js';
import { BROADCAST_MAC, MAC_LENGTH, ZERO_MAC } from './mac.js';

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

const HTYPE_ETHERNET = 1;
const FIXED_HEADER_LENGTH = 8;
export const ARP_PACKET_LENGTH = FIXED_HEADER_LENGTH + 2 * (MAC_LENGTH + IPV4_LENGTH);

export interface ArpPacket {
  /** 1 request, 2 reply; other operations (RARP, InARP) decode too, and callers ignore them. */
  operation: number;
  senderMac: Buffer;
  senderIp: Buffer;
  targetMac: Buffer;
  targetIp: Buffer;
}

const hex16 = (value: number): string => `0x${value.toString(16).padStart(4, '0')}`;

/** Decodes the ARP payload of an Ethernet frame; trailing bytes (padding) are ignored. */
export function decodeArp(payload: Uint8Array): DecodeResult<ArpPacket> {
  if (payload.length < FIXED_HEADER_LENGTH) {
    return rejected(`ARP packet is ${payload.length} bytes, shorter than the 8-byte fixed header`);
  }
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const hardwareType = view.readUInt16BE(0);
  const protocolType = view.readUInt16BE(2);
  const hardwareLength = view.readUInt8(4);
  const protocolLength = view.readUInt8(5);
  if (hardwareType !== HTYPE_ETHERNET) {
    return rejected(`ARP hardware type ${hardwareType} is not Ethernet (1)`);
  }
  if (protocolType !== ETHERTYPE_IPV4) {
    return rejected(`ARP protocol type ${hex16(protocolType)} is not IPv4 (0x0800)`);
  }
  if (hardwareLength !== MAC_LENGTH || protocolLength !== IPV4_LENGTH) {
    return rejected(
      `ARP address lengths are ${hardwareLength}/${protocolLength}, expected 6/4 for Ethernet/IPv4`,
    );
  }
  if (payload.length < ARP_PACKET_LENGTH) {
    return rejected(`ARP packet is ${payload.length} bytes, shorter than the 28 bytes Ethernet/IPv4 needs`);
  }
  let offset = FIXED_HEADER_LENGTH;
  const take = (length: number): Buffer => {
    const field = copyBytes(view, offset, offset + length);
    offset += length;
    return field;
  };
  return decoded({
    operation: view.readUInt16BE(6),
    senderMac: take(MAC_LENGTH),
    senderIp: take(IPV4_LENGTH),
    targetMac: take(MAC_LENGTH),
    targetIp: take(IPV4_LENGTH),
  });
}

/** The 28-byte ARP packet (no Ethernet header). */
export function encodeArp(packet: ArpPacket): Buffer {
  if (!Number.isInteger(packet.operation) || packet.operation < 0 || packet.operation > 0xffff) {
    throw new RangeError(`ARP operation ${packet.operation} is not a 16-bit unsigned integer`);
  }
  requireLength(packet.senderMac, MAC_LENGTH, 'the ARP sender MAC');
  requireLength(packet.senderIp, IPV4_LENGTH, 'the ARP sender IPv4 address');
  requireLength(packet.targetMac, MAC_LENGTH, 'the ARP target MAC');
  requireLength(packet.targetIp, IPV4_LENGTH, 'the ARP target IPv4 address');
  const out = Buffer.alloc(ARP_PACKET_LENGTH);
  out.writeUInt16BE(HTYPE_ETHERNET, 0);
  out.writeUInt16BE(ETHERTYPE_IPV4, 2);
  out.writeUInt8(MAC_LENGTH, 4);
  out.writeUInt8(IPV4_LENGTH, 5);
  out.writeUInt16BE(packet.operation, 6);
  out.set(packet.senderMac, 8);
  out.set(packet.senderIp, 14);
  out.set(packet.targetMac, 18);
  out.set(packet.targetIp, 24);
  return out;
}

/** An Ethernet frame carrying `packet`, padded to 60 bytes. */
export function encodeArpFrame(destination: Buffer, source: Buffer, packet: ArpPacket): Buffer {
  return encodeEthernet({ destination, source, etherType: ETHERTYPE_ARP, payload: encodeArp(packet) });
}

/** The answer to `request` (whose target is the VIP), unicast back to the requester's hardware address. */
export function buildArpReply(request: ArpPacket, ourMac: Buffer): Buffer {
  return encodeArpFrame(request.senderMac, ourMac, {
    operation: ARP_REPLY,
    senderMac: ourMac,
    senderIp: request.targetIp,
    targetMac: request.senderMac,
    targetIp: request.senderIp,
  });
}

/**
 * Request-form gratuitous ARP (RFC 5227 "ARP Announcement"): broadcast, SPA = TPA = VIP, THA zero.
 * Linux updates an existing entry from it at once, even within `locktime` of the last update.
 */
export function buildGratuitousArpRequest(vip: Buffer, ourMac: Buffer): Buffer {
  return encodeArpFrame(BROADCAST_MAC, ourMac, {
    operation: ARP_REQUEST,
    senderMac: ourMac,
    senderIp: vip,
    targetMac: ZERO_MAC,
    targetIp: vip,
  });
}

/**
 * Reply-form gratuitous ARP: broadcast, SPA = TPA = VIP, THA = our MAC. Linux treats a reply as
 * gratuitous only when THA equals SHA; with THA = ff:ff:ff:ff:ff:ff (what MetalLB sends) a reply
 * arriving within `locktime` (1 s) of the previous update is ignored.
 */
export function buildGratuitousArpReply(vip: Buffer, ourMac: Buffer): Buffer {
  return encodeArpFrame(BROADCAST_MAC, ourMac, {
    operation: ARP_REPLY,
    senderMac: ourMac,
    senderIp: vip,
    targetMac: ourMac,
    targetIp: vip,
  });
}
