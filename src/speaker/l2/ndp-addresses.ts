// The multicast addresses Neighbor Discovery uses (RFC 4291 section 2.7.1, RFC 2464 section 7).
import { requireLength } from './bytes.js';
import { IPV6_LENGTH } from './ip-bytes.js';

/** ff02::1, where unsolicited advertisements go. */
export const ALL_NODES: Buffer = Buffer.from('ff020000000000000000000000000001', 'hex');

const SOLICITED_NODE_PREFIX = Buffer.from('ff0200000000000000000001ff', 'hex');

/** ff02::1:ffXX:XXXX, where XX:XXXX are the low 24 bits of `target`. */
export function solicitedNodeAddress(target: Uint8Array): Buffer {
  requireLength(target, IPV6_LENGTH, 'an IPv6 address');
  return Buffer.concat([SOLICITED_NODE_PREFIX, target.subarray(13)]);
}

export function isSolicitedNodeAddress(address: Uint8Array): boolean {
  return address.length === IPV6_LENGTH && SOLICITED_NODE_PREFIX.equals(address.subarray(0, 13));
}

/** Whether `address` is the solicited-node group of `target`. */
export function isSolicitedNodeAddressOf(address: Uint8Array, target: Uint8Array): boolean {
  return target.length === IPV6_LENGTH && solicitedNodeAddress(target).equals(address);
}

/** 33:33 followed by the low 32 bits of an IPv6 multicast group (33:33:ff:XX:XX:XX for a solicited-node group). */
export function ipv6MulticastMac(group: Uint8Array): Buffer {
  requireLength(group, IPV6_LENGTH, 'an IPv6 multicast address');
  return Buffer.concat([Buffer.from([0x33, 0x33]), group.subarray(12)]);
}
