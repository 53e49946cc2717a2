// Neighbor Solicitation and Neighbor Advertisement (RFC 4861 sections 4.3, 4.4, 4.6.1) as ICMPv6
// messages, i.e. what a raw ICMPv6 socket reads and writes: no IPv6 header.

import { copyBytes, requireLength } from './bytes.js';
import { type DecodeResult, decoded, rejected } from './decode-result.js';
import { icmpv6Checksum } from './icmpv6-checksum.js';
import { IPV6_LENGTH } from './ip-bytes.js';
import { MAC_LENGTH } from './mac.js';
import { ALL_NODES } from './ndp-addresses.js';

export const ICMPV6_NEIGHBOR_SOLICITATION = 135;
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;

/** Every ND message is sent with, and must arrive with, hop limit 255 (RFC 4861 section 7.1). */
export const NDP_HOP_LIMIT = 255;

const OPTION_SOURCE_LINK_ADDRESS = 1;
const OPTION_TARGET_LINK_ADDRESS = 2;
/** Option lengths count 8-byte units; an Ethernet address option is one unit (RFC 2464 section 8). */
const OPTION_UNIT = 8;
const ETHERNET_LINK_OPTION_UNITS = 1;

const FLAG_ROUTER = 0x80;
const FLAG_SOLICITED = 0x40;
const FLAG_OVERRIDE = 0x20;

const TARGET_OFFSET = 8;
/** Type, code, checksum, 4 bytes of flags/reserved, target: the minimum of both messages. */
export const NDP_FIXED_LENGTH = TARGET_OFFSET + IPV6_LENGTH;

interface NdpFields {
  /** Must be 0; decoded as sent so the receiver can drop anything else. */
  code: number;
  target: Buffer;
  /** The Source Link-Layer Address option (type 1), when present. */
  sourceLinkAddress?: Buffer;
  /** The Target Link-Layer Address option (type 2), when present. */
  targetLinkAddress?: Buffer;
}

export interface NeighborSolicitation extends NdpFields {
  kind: 'neighbor-solicitation';
}

export interface NeighborAdvertisement extends NdpFields {
  kind: 'neighbor-advertisement';
  router: boolean;
  solicited: boolean;
  override: boolean;
}

export type NdpMessage = NeighborSolicitation | NeighborAdvertisement;

export interface DecodedNdp {
  message: NdpMessage;
  /** The checksum field as received (a raw ICMPv6 socket has already verified it). */
  checksum: number;
}

const OPTION_NAMES: Record<number, string> = {
  [OPTION_SOURCE_LINK_ADDRESS]: 'source link-layer address',
  [OPTION_TARGET_LINK_ADDRESS]: 'target link-layer address',
};

/**
 * Decodes an NS or NA. Options other than the two link-layer address options are skipped by their
 * length; a zero-length or overrunning option makes the message malformed (RFC 4861 section 4.6).
 * A repeated link-layer address option is ignored after the first, as Linux does.
 */
export function decodeNdp(bytes: Uint8Array): DecodeResult<DecodedNdp> {
  if (bytes.length < 4)
    return rejected(`ICMPv6 message is ${bytes.length} bytes, shorter than its 4-byte header`);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.readUInt8(0);
  if (type !== ICMPV6_NEIGHBOR_SOLICITATION && type !== ICMPV6_NEIGHBOR_ADVERTISEMENT) {
    return rejected(
      `ICMPv6 type ${type} is neither a Neighbor Solicitation (135) nor a Neighbor Advertisement (136)`,
    );
  }
  const name = type === ICMPV6_NEIGHBOR_SOLICITATION ? 'Neighbor Solicitation' : 'Neighbor Advertisement';
  if (view.length < NDP_FIXED_LENGTH) {
    return rejected(`${name} is ${view.length} bytes, shorter than the 24 bytes RFC 4861 requires`);
  }
  const links: Pick<NdpFields, 'sourceLinkAddress' | 'targetLinkAddress'> = {};
  for (let offset = NDP_FIXED_LENGTH; offset < view.length; ) {
    if (view.length - offset < 2) return rejected(`${name} has a truncated option at byte ${offset}`);
    const optionType = view.readUInt8(offset);
    const units = view.readUInt8(offset + 1);
    const optionName = OPTION_NAMES[optionType] ?? `type ${optionType}`;
    if (units === 0) return rejected(`${name} option ${optionName} at byte ${offset} has length 0`);
    const end = offset + units * OPTION_UNIT;
    if (end > view.length) {
      return rejected(
        `${name} option ${optionName} at byte ${offset} claims ${units * OPTION_UNIT} bytes, only ${view.length - offset} remain`,
      );
    }
    if (optionType === OPTION_SOURCE_LINK_ADDRESS || optionType === OPTION_TARGET_LINK_ADDRESS) {
      if (units !== ETHERNET_LINK_OPTION_UNITS) {
        return rejected(
          `${name} option ${optionName} has length ${units}, expected 1 for an Ethernet address`,
        );
      }
      const key = optionType === OPTION_SOURCE_LINK_ADDRESS ? 'sourceLinkAddress' : 'targetLinkAddress';
      links[key] ??= copyBytes(view, offset + 2, offset + 2 + MAC_LENGTH);
    }
    offset = end;
  }
  const fields = {
    code: view.readUInt8(1),
    target: copyBytes(view, TARGET_OFFSET, NDP_FIXED_LENGTH),
    ...links,
  };
  const checksum = view.readUInt16BE(2);
  if (type === ICMPV6_NEIGHBOR_SOLICITATION) {
    return decoded({ message: { kind: 'neighbor-solicitation', ...fields }, checksum });
  }
  const flags = view.readUInt8(4);
  return decoded({
    message: {
      kind: 'neighbor-advertisement',
      router: (flags & FLAG_ROUTER) !== 0,
      solicited: (flags & FLAG_SOLICITED) !== 0,
      override: (flags & FLAG_OVERRIDE) !== 0,
      ...fields,
    },
    checksum,
  });
}

export interface Ipv6Endpoints {
  source: Buffer;
  destination: Buffer;
}

/**
 * The message with its options (source link-layer address first). The checksum is computed when
 * the IPv6 addresses are given, else left 0 for the kernel to fill in on a raw ICMPv6 socket.
 */
export function encodeNdp(message: NdpMessage, endpoints?: Ipv6Endpoints): Buffer {
  if (!Number.isInteger(message.code) || message.code < 0 || message.code > 0xff) {
    throw new RangeError(`ICMPv6 code ${message.code} is not an 8-bit unsigned integer`);
  }
  requireLength(message.target, IPV6_LENGTH, 'the NDP target address');
  const options: [number, Buffer][] = [];
  if (message.sourceLinkAddress) options.push([OPTION_SOURCE_LINK_ADDRESS, message.sourceLinkAddress]);
  if (message.targetLinkAddress) options.push([OPTION_TARGET_LINK_ADDRESS, message.targetLinkAddress]);
  const out = Buffer.alloc(NDP_FIXED_LENGTH + options.length * OPTION_UNIT);
  const isSolicitation = message.kind === 'neighbor-solicitation';
  out.writeUInt8(isSolicitation ? ICMPV6_NEIGHBOR_SOLICITATION : ICMPV6_NEIGHBOR_ADVERTISEMENT, 0);
  out.writeUInt8(message.code, 1);
  if (!isSolicitation) {
    out.writeUInt8(
      (message.router ? FLAG_ROUTER : 0) |
        (message.solicited ? FLAG_SOLICITED : 0) |
        (message.override ? FLAG_OVERRIDE : 0),
      4,
    );
  }
  out.set(message.target, TARGET_OFFSET);
  for (const [i, [type, mac]] of options.entries()) {
    requireLength(mac, MAC_LENGTH, `the ${OPTION_NAMES[type]} option`);
    const offset = NDP_FIXED_LENGTH + i * OPTION_UNIT;
    out.writeUInt8(type, offset);
    out.writeUInt8(ETHERNET_LINK_OPTION_UNITS, offset + 1);
    out.set(mac, offset + 2);
  }
  if (endpoints) out.writeUInt16BE(icmpv6Checksum(endpoints.source, endpoints.destination, out), 2);
  return out;
}

/** An ICMPv6 message to send with hop limit 255, with the addresses its checksum was computed for. */
export interface NdpTransmission extends Ipv6Endpoints {
  message: Buffer;
}

/**
 * The unsolicited NA a new owner multicasts at takeover (RFC 4861 section 7.2.6): to ff02::1,
 * S=0, O=1 so that receivers replace the previous owner's MAC in entries they already have, with
 * the Target Link-Layer Address option. Sourced from the VIP, as Linux sources its own.
 */
export function buildUnsolicitedNeighborAdvertisement(vip: Buffer, ourMac: Buffer): NdpTransmission {
  const endpoints = { source: Buffer.from(vip), destination: Buffer.from(ALL_NODES) };
  const message = encodeNdp(
    {
      kind: 'neighbor-advertisement',
      code: 0,
      router: false,
      solicited: false,
      override: true,
      target: vip,
      targetLinkAddress: ourMac,
    },
    endpoints,
  );
  return { message, ...endpoints };
}
