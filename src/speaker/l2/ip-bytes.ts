// IP addresses as the wire carries them (4 or 16 bytes), and their canonical text, which is how the
// rest of the speaker names a VIP. Text parsing and RFC 5952 formatting come from src/api/address.ts.
import { AddressError, formatIP, type IPFamily, parseIP } from '../../api/address.js';
import { requireLength } from './bytes.js';
import { type DecodeResult, decoded, rejected } from './decode-result.js';

export const IPV4_LENGTH = 4;
export const IPV6_LENGTH = 16;

export const UNSPECIFIED_IPV6: Buffer = Buffer.alloc(IPV6_LENGTH);

function toBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

function fromBigInt(value: bigint, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let rest = value;
  for (let i = length - 1; i >= 0; i--) {
    bytes[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return bytes;
}

export function ipv4ToText(bytes: Uint8Array): string {
  requireLength(bytes, IPV4_LENGTH, 'an IPv4 address');
  return bytes.join('.');
}

/** RFC 5952 text: lower case, longest zero run as "::". */
export function ipv6ToText(bytes: Uint8Array): string {
  requireLength(bytes, IPV6_LENGTH, 'an IPv6 address');
  return formatIP({ family: 'IPv6', value: toBigInt(bytes) });
}

/** 4 bytes as IPv4, 16 bytes as IPv6. */
export function ipToText(bytes: Uint8Array): string {
  return bytes.length === IPV4_LENGTH ? ipv4ToText(bytes) : ipv6ToText(bytes);
}

export interface ParsedIp {
  family: IPFamily;
  /** 4 bytes for IPv4, 16 for IPv6. */
  bytes: Buffer;
  /** Canonical text (RFC 5952 for IPv6), the form VIPs are compared in. */
  text: string;
}

/** Strict parsing (no zones, no CIDR, no leading zeros in IPv4 parts). */
export function parseIpBytes(text: string): DecodeResult<ParsedIp> {
  try {
    const addr = parseIP(text);
    const bytes = fromBigInt(addr.value, addr.family === 'IPv4' ? IPV4_LENGTH : IPV6_LENGTH);
    return decoded({ family: addr.family, bytes, text: formatIP(addr) });
  } catch (err) {
    if (err instanceof AddressError) return rejected(err.message);
    throw err;
  }
}

export function isUnspecifiedIpv6(bytes: Uint8Array): boolean {
  return bytes.length === IPV6_LENGTH && bytes.every((byte) => byte === 0);
}

/** ff00::/8 (RFC 4291 section 2.7). */
export function isMulticastIpv6(bytes: Uint8Array): boolean {
  return bytes.length === IPV6_LENGTH && bytes[0] === 0xff;
}
