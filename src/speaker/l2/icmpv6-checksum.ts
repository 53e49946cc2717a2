// The ICMPv6 checksum (RFC 4443 section 2.3) over the IPv6 pseudo-header (RFC 8200 section 8.1).
// A raw ICMPv6 socket has the kernel fill it in and verify it; frames built for an AF_PACKET socket,
// and tests against captures, need it computed here.
import { requireLength } from './bytes.js';
import { IPV6_LENGTH } from './ip-bytes.js';

const NEXT_HEADER_ICMPV6 = 58;
const CHECKSUM_OFFSET = 2;

/** 16-bit big-endian words of `bytes` added up (odd length: a zero byte is appended), unfolded. */
function addWords(bytes: Uint8Array, skipChecksumField: boolean): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    if (skipChecksumField && i === CHECKSUM_OFFSET) continue;
    sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  }
  return sum;
}

function pseudoHeaderSum(source: Uint8Array, destination: Uint8Array, length: number): number {
  requireLength(source, IPV6_LENGTH, 'the IPv6 source address');
  requireLength(destination, IPV6_LENGTH, 'the IPv6 destination address');
  return (
    addWords(source, false) +
    addWords(destination, false) +
    Math.floor(length / 0x10000) +
    (length & 0xffff) +
    NEXT_HEADER_ICMPV6
  );
}

function fold(sum: number): number {
  let folded = sum;
  while (folded > 0xffff) folded = (folded & 0xffff) + Math.floor(folded / 0x10000);
  return folded;
}

/** The checksum `message` should carry; its own checksum field (bytes 2-3) counts as zero. */
export function icmpv6Checksum(source: Uint8Array, destination: Uint8Array, message: Uint8Array): number {
  const sum = pseudoHeaderSum(source, destination, message.length) + addWords(message, true);
  return ~fold(sum) & 0xffff;
}

/** Whether the checksum field of `message` is right for this source and destination. */
export function verifyIcmpv6Checksum(
  source: Uint8Array,
  destination: Uint8Array,
  message: Uint8Array,
): boolean {
  if (message.length < CHECKSUM_OFFSET + 2) return false;
  return fold(pseudoHeaderSum(source, destination, message.length) + addWords(message, false)) === 0xffff;
}

/** A copy of `message` with its checksum field set for this source and destination. */
export function withIcmpv6Checksum(source: Uint8Array, destination: Uint8Array, message: Uint8Array): Buffer {
  const out = Buffer.from(message);
  out.writeUInt16BE(icmpv6Checksum(source, destination, message), CHECKSUM_OFFSET);
  return out;
}
