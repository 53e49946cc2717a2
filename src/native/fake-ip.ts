// Address helpers for the fake network, on top of src/api/address.ts.
import { familyBits, formatIP, type IPAddr, type IPFamily, parseIP, tryParseIP } from '../api/address.js';

/** RFC 5952 form; throws TypeError on anything that is not an IP address. */
export function canonical(address: string): string {
  const parsed = tryParseIP(address);
  if (!parsed) throw new TypeError(`not an IP address: ${address}`);
  return formatIP(parsed);
}

export function familyOf(address: string): IPFamily {
  return parseIP(address).family;
}

export function isWildcard(address: string): boolean {
  return parseIP(address).value === 0n;
}

export function isIpv6Multicast(address: string): boolean {
  const { family, value } = parseIP(address);
  return family === 'IPv6' && value >> 120n === 0xffn;
}

export function isLinkLocal(address: string): boolean {
  const { family, value } = parseIP(address);
  return family === 'IPv6' ? value >> 118n === 0x3fan : value >> 16n === 0xa9fen;
}

/** Link-local unicast, or multicast of interface- or link-local scope (ff01::/16, ff02::/16). */
export function isLinkScope(address: string): boolean {
  const { family, value } = parseIP(address);
  if (family === 'IPv4' || isLinkLocal(address)) return family === 'IPv6';
  const top = value >> 112n;
  return top >> 8n === 0xffn && (top & 0xfn) <= 2n;
}

/** ff02::1:ffXX:XXXX, the group an IPv6 host joins for each of its addresses (RFC 4291). */
export function solicitedNodeGroup(address: string): string {
  const { value } = parseIP(address);
  const group: IPAddr = { family: 'IPv6', value: (0xff02n << 112n) | (0x1ffn << 24n) | (value & 0xffffffn) };
  return formatIP(group);
}

/** Whether `address` is in `network`/`prefixLength` (the same family only). */
export function inPrefix(address: string, network: string, prefixLength: number): boolean {
  const a = parseIP(address);
  const n = parseIP(network);
  if (a.family !== n.family) return false;
  const shift = BigInt(familyBits(a.family) - prefixLength);
  return a.value >> shift === n.value >> shift;
}
