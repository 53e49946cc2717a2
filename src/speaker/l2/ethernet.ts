// Ethernet II framing for frames read from and written to an AF_PACKET socket (no FCS: the kernel
// strips it on receive and the NIC appends it on send).
import { copyBytes, requireLength } from './bytes.js';
import { type DecodeResult, decoded, rejected } from './decode-result.js';
import { MAC_LENGTH } from './mac.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;

/** 802.1Q, 802.1ad, and the pre-standard QinQ tag protocol identifier. */
const VLAN_TPIDS: ReadonlySet<number> = new Set([0x8100, 0x88a8, 0x9100]);
const VLAN_TPID_8021Q = 0x8100;

export const ETHERNET_HEADER_LENGTH = 14;
const VLAN_TAG_LENGTH = 4;
/** The 64-byte minimum frame less the 4-byte FCS. */
export const MIN_FRAME_LENGTH = 60;

export interface EthernetFrame {
  destination: Buffer;
  source: Buffer;
  /**
   * VLAN IDs of the tags in the frame data, outermost first; absent when untagged. Linux moves the
   * outer tag into packet metadata before a packet socket sees the frame (libpcap puts it back from
   * PACKET_AUXDATA), so a tag here is an inner QinQ tag or comes from a capture: either way the
   * frame belongs to another broadcast domain than the interface's untagged one.
   */
  vlanIds?: number[];
  /** The type field; values below 0x0600 are IEEE 802.3 lengths, which no caller here accepts. */
  etherType: number;
  /** Everything after the header, including any padding the sender added. */
  payload: Buffer;
}

export function decodeEthernet(frame: Uint8Array): DecodeResult<EthernetFrame> {
  if (frame.length < ETHERNET_HEADER_LENGTH) {
    return rejected(`Ethernet frame is ${frame.length} bytes, shorter than the 14-byte header`);
  }
  const view = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  let offset = 2 * MAC_LENGTH;
  let etherType = view.readUInt16BE(offset);
  const vlanIds: number[] = [];
  while (VLAN_TPIDS.has(etherType)) {
    if (view.length < offset + VLAN_TAG_LENGTH + 2) {
      return rejected(`Ethernet frame is ${frame.length} bytes, too short for its VLAN tag`);
    }
    vlanIds.push(view.readUInt16BE(offset + 2) & 0x0fff);
    offset += VLAN_TAG_LENGTH;
    etherType = view.readUInt16BE(offset);
  }
  offset += 2;
  return decoded({
    destination: copyBytes(view, 0, MAC_LENGTH),
    source: copyBytes(view, MAC_LENGTH, 2 * MAC_LENGTH),
    ...(vlanIds.length > 0 ? { vlanIds } : {}),
    etherType,
    payload: copyBytes(view, offset, view.length),
  });
}

/** The frame, zero-padded to the 60-byte minimum (a veth does not pad, and some NICs do not either). */
export function encodeEthernet(frame: EthernetFrame): Buffer {
  requireLength(frame.destination, MAC_LENGTH, 'the destination MAC');
  requireLength(frame.source, MAC_LENGTH, 'the source MAC');
  checkUint16(frame.etherType, 'the EtherType');
  const tags = frame.vlanIds ?? [];
  for (const id of tags) {
    if (!Number.isInteger(id) || id < 0 || id > 0x0fff)
      throw new RangeError(`VLAN ID ${id} is not in 0-4095`);
  }
  const headerLength = ETHERNET_HEADER_LENGTH + tags.length * VLAN_TAG_LENGTH;
  const out = Buffer.alloc(Math.max(MIN_FRAME_LENGTH, headerLength + frame.payload.length));
  out.set(frame.destination, 0);
  out.set(frame.source, MAC_LENGTH);
  let offset = 2 * MAC_LENGTH;
  for (const id of tags) {
    out.writeUInt16BE(VLAN_TPID_8021Q, offset);
    out.writeUInt16BE(id, offset + 2);
    offset += VLAN_TAG_LENGTH;
  }
  out.writeUInt16BE(frame.etherType, offset);
  out.set(frame.payload, headerLength);
  return out;
}

function checkUint16(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new RangeError(`${what} ${value} is not a 16-bit unsigned integer`);
  }
}
