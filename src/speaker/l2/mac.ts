import { requireLength } from './bytes.js';
import { type DecodeResult, decoded, rejected } from './decode-result.js';

export const MAC_LENGTH = 6;

export const BROADCAST_MAC: Buffer = Buffer.alloc(MAC_LENGTH, 0xff);

export const ZERO_MAC: Buffer = Buffer.alloc(MAC_LENGTH);

const MAC_TEXT = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;

/** Parses the colon form Linux prints (`aa:bb:cc:dd:ee:ff`, either case). */
export function parseMac(text: string): DecodeResult<Buffer> {
  if (!MAC_TEXT.test(text)) {
    return rejected(
      `${JSON.stringify(text)} is not a MAC address; expected six hex pairs like 02:00:5e:10:00:01`,
    );
  }
  return decoded(Buffer.from(text.replaceAll(':', ''), 'hex'));
}

/** Lower-case colon form, as in `ip link`. */
export function formatMac(mac: Uint8Array): string {
  requireLength(mac, MAC_LENGTH, 'a MAC address');
  return Array.from(mac, (byte) => byte.toString(16).padStart(2, '0')).join(':');
}

export function isBroadcastMac(mac: Uint8Array): boolean {
  return mac.length === MAC_LENGTH && mac.every((byte) => byte === 0xff);
}

/** The I/G bit (least significant bit of the first octet); broadcast is a multicast address too. */
export function isMulticastMac(mac: Uint8Array): boolean {
  return mac.length === MAC_LENGTH && ((mac[0] ?? 0) & 0x01) === 0x01;
}

export function isZeroMac(mac: Uint8Array): boolean {
  return mac.length === MAC_LENGTH && mac.every((byte) => byte === 0);
}

/** A MAC a station can own: not multicast or broadcast, not all zeros. */
export function isUnicastMac(mac: Uint8Array): boolean {
  return mac.length === MAC_LENGTH && !isMulticastMac(mac) && !isZeroMac(mac);
}
