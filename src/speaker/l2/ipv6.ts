// The fixed IPv6 header (RFC 8200 section 3), for the AF_PACKET path that builds whole frames and
// for reading captures. Extension headers are not walked: callers check `nextHeader`.
import { copyBytes, requireLength } from './bytes.js';
import { type DecodeResult, decoded, rejected } from './decode-result.js';
import { IPV6_LENGTH } from './ip-bytes.js';

export const IPV6_HEADER_LENGTH = 40;
export const NEXT_HEADER_ICMPV6 = 58;

export interface Ipv6Packet {
  trafficClass: number;
  flowLabel: number;
  nextHeader: number;
  hopLimit: number;
  source: Buffer;
  destination: Buffer;
  payload: Buffer;
}

/** Bytes past the payload length (Ethernet padding) are dropped. */
export function decodeIpv6(bytes: Uint8Array): DecodeResult<Ipv6Packet> {
  if (bytes.length < IPV6_HEADER_LENGTH) {
    return rejected(`IPv6 packet is ${bytes.length} bytes, shorter than the 40-byte header`);
  }
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = view.readUInt32BE(0);
  const version = first >>> 28;
  if (version !== 6) return rejected(`IP version is ${version}, expected 6`);
  const payloadLength = view.readUInt16BE(4);
  const available = view.length - IPV6_HEADER_LENGTH;
  if (payloadLength > available) {
    return rejected(`IPv6 payload length is ${payloadLength} bytes, but only ${available} follow the header`);
  }
  return decoded({
    trafficClass: (first >>> 20) & 0xff,
    flowLabel: first & 0xfffff,
    nextHeader: view.readUInt8(6),
    hopLimit: view.readUInt8(7),
    source: copyBytes(view, 8, 24),
    destination: copyBytes(view, 24, 40),
    payload: copyBytes(view, IPV6_HEADER_LENGTH, IPV6_HEADER_LENGTH + payloadLength),
  });
}

export function encodeIpv6(packet: Ipv6Packet): Buffer {
  checkRange(packet.trafficClass, 0xff, 'the traffic class');
  checkRange(packet.flowLabel, 0xfffff, 'the flow label');
  checkRange(packet.nextHeader, 0xff, 'the next header');
  checkRange(packet.hopLimit, 0xff, 'the hop limit');
  checkRange(packet.payload.length, 0xffff, 'the payload length');
  requireLength(packet.source, IPV6_LENGTH, 'the IPv6 source address');
  requireLength(packet.destination, IPV6_LENGTH, 'the IPv6 destination address');
  const out = Buffer.alloc(IPV6_HEADER_LENGTH + packet.payload.length);
  out.writeUInt32BE(((6 << 28) | (packet.trafficClass << 20) | packet.flowLabel) >>> 0, 0);
  out.writeUInt16BE(packet.payload.length, 4);
  out.writeUInt8(packet.nextHeader, 6);
  out.writeUInt8(packet.hopLimit, 7);
  out.set(packet.source, 8);
  out.set(packet.destination, 24);
  out.set(packet.payload, IPV6_HEADER_LENGTH);
  return out;
}

function checkRange(value: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${what} ${value} is not in 0-${max}`);
  }
}
