/**
 * The membership wire format: UDP datagrams authenticated with HMAC-SHA256 under the cluster's shared
 * key (keyring.ts). Big-endian throughout.
 *
 *   header     magic "PM" (2) | version 2 (1) | type (1): 1 heartbeat, 2 relay | key id (4)
 *   heartbeat  status (1): 0 alive, 1 joining, 2 leaving, + 0x80 minority | name length (1) | node name (1-253)
 *              | incarnation (6) | sequence (6) | sent at (6) | claims version (4) | chunk index (2)
 *              | chunk count (2)
 *              | unheard count (1) | unheard node tags (8 each)
 *              | IPv4 count (2) | IPv4 addresses (4 each) | IPv6 count (2) | IPv6 addresses (16 each)
 *   relay      relayer tag (8) | age ms (4) | inner length (2) | inner heartbeat datagram, as received
 *   trailer    HMAC-SHA256 (32) of everything before it
 *
 * A heartbeat carries one chunk of the sender's claims (the IPs it answers for): the sender splits its
 * claims into chunks that fit `maxDatagramBytes` and numbers each set of chunks with a claims version
 * (chunks.ts), so liveness never depends on IP fragmentation, however many IPs a node announces. The
 * incarnation (the sender's start time in ms) and sequence number order datagrams for replay rejection;
 * `sent at` (the sender's monotonic clock, ms) lets a receiver drop a heartbeat that arrives late (held
 * in a kernel queue while a link was down, say) instead of taking its old news for new.
 *
 * `decode` never throws: any input gives a message or `{ ok: false, error }` with a one-line reason.
 * The HMAC is checked before any field is parsed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type DecodeResult, decoded, rejected } from '../l2/decode-result.js';
import { ipToText, parseIpBytes } from '../l2/ip-bytes.js';
import { ByteReader, DecodeError } from './byte-reader.js';
import type { Keyring } from './keyring.js';
import { TAG_BYTES } from './tags.js';

export type MemberStatus = 'alive' | 'joining' | 'leaving';

export interface Heartbeat {
  readonly sender: string;
  readonly status: MemberStatus;
  /**
   * The sender sees no strict majority of its configured members alive (or did so a moment ago): its
   * claims may come from a side of a partition that could not know better, and yield to others'.
   */
  readonly minority?: boolean;
  /** Bumps on every start of the sender (its start time in ms); below 2^48. */
  readonly incarnation: number;
  /** Increases with every datagram of an incarnation; below 2^48. */
  readonly seq: number;
  /** The sender's monotonic clock when it sent this, in whole ms; below 2^48. Only differences mean anything. */
  readonly sentAt: number;
  readonly claimsVersion: number;
  readonly chunkIndex: number;
  readonly chunkCount: number;
  /** Tags of the peers the sender does not hear (tags.ts). */
  readonly unheard: readonly string[];
  /** This chunk's claimed IPs, canonical text. */
  readonly ips: readonly string[];
}

export interface RelayEnvelope {
  readonly relayer: string;
  /** How long the relayer held the inner datagram before forwarding it. */
  readonly ageMs: number;
  readonly inner: Uint8Array;
}

export type Message =
  | { readonly type: 'heartbeat'; readonly heartbeat: Heartbeat; readonly bytes: Uint8Array }
  /** `bytes` is the inner heartbeat datagram; `relayer` the relayer's tag. */
  | {
      readonly type: 'relay';
      readonly relayer: string;
      readonly ageMs: number;
      readonly heartbeat: Heartbeat;
      readonly bytes: Uint8Array;
    };

const MAGIC = 0x504d;
export const WIRE_VERSION = 2;
const TYPE_HEARTBEAT = 1;
const TYPE_RELAY = 2;
const HEADER_BYTES = 8;
const MAC_BYTES = 32;
export const MAX_NAME_BYTES = 253;
export const MAX_UNHEARD = 64;
const U48_LIMIT = 2 ** 48;
const STATUSES: readonly MemberStatus[] = ['alive', 'joining', 'leaving'];
const MINORITY_FLAG = 0x80;
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** What a relay adds around the heartbeat it carries. */
export const RELAY_OVERHEAD = HEADER_BYTES + TAG_BYTES + 4 + 2 + MAC_BYTES;

/** Bytes of a heartbeat besides its IP addresses. */
export function heartbeatOverhead(nameBytes: number, unheardCount: number): number {
  return (
    HEADER_BYTES + 2 + nameBytes + 6 + 6 + 6 + 4 + 2 + 2 + 1 + TAG_BYTES * unheardCount + 2 + 2 + MAC_BYTES
  );
}

export const maxHeartbeatOverhead = (maxUnheard: number): number =>
  heartbeatOverhead(MAX_NAME_BYTES, maxUnheard);

export function isNodeName(name: string): boolean {
  return name.length <= MAX_NAME_BYTES && NODE_NAME.test(name);
}

/** Throws a RangeError on a value the format cannot carry (a caller's bug, not a peer's). */
export function encodeHeartbeat(h: Heartbeat, keys: Keyring): Buffer {
  if (!isNodeName(h.sender)) throw new RangeError(`"${h.sender}" is not a valid node name`);
  checkUint(h.incarnation, U48_LIMIT, 'incarnation');
  checkUint(h.seq, U48_LIMIT, 'sequence');
  checkUint(h.sentAt, U48_LIMIT, 'sent at');
  checkUint(h.claimsVersion, 2 ** 32, 'claims version');
  checkUint(h.chunkCount, 2 ** 16, 'chunk count');
  if (
    h.chunkCount < 1 ||
    !(h.chunkIndex >= 0 && h.chunkIndex < h.chunkCount) ||
    !Number.isInteger(h.chunkIndex)
  ) {
    throw new RangeError(`chunk index ${h.chunkIndex} is not below chunk count ${h.chunkCount}`);
  }
  if (h.unheard.length > MAX_UNHEARD) throw new RangeError(`at most ${MAX_UNHEARD} unheard tags fit`);
  const v4: Buffer[] = [];
  const v6: Buffer[] = [];
  for (const ip of h.ips) {
    const parsed = parseIpBytes(ip);
    if (!parsed.ok) throw new RangeError(`"${ip}" is not an IP address`);
    (parsed.value.family === 'IPv4' ? v4 : v6).push(parsed.value.bytes);
  }
  if (v4.length >= 2 ** 16 || v6.length >= 2 ** 16) throw new RangeError('too many IPs in one chunk');
  const body = Buffer.concat([
    Buffer.from([STATUSES.indexOf(h.status) | (h.minority ? MINORITY_FLAG : 0), h.sender.length]),
    Buffer.from(h.sender, 'ascii'),
    uint(h.incarnation, 6),
    uint(h.seq, 6),
    uint(h.sentAt, 6),
    uint(h.claimsVersion, 4),
    uint(h.chunkIndex, 2),
    uint(h.chunkCount, 2),
    Buffer.from([h.unheard.length]),
    ...h.unheard.map(tagBytes),
    uint(v4.length, 2),
    ...v4,
    uint(v6.length, 2),
    ...v6,
  ]);
  return seal(TYPE_HEARTBEAT, body, keys);
}

export function encodeRelay(r: RelayEnvelope, keys: Keyring): Buffer {
  checkUint(r.ageMs, 2 ** 32, 'relay age');
  if (r.inner.length >= 2 ** 16) throw new RangeError('the relayed datagram is too large');
  return seal(
    TYPE_RELAY,
    Buffer.concat([tagBytes(r.relayer), uint(r.ageMs, 4), uint(r.inner.length, 2), r.inner]),
    keys,
  );
}

export function decode(bytes: Uint8Array, keys: Keyring): DecodeResult<Message> {
  try {
    return decoded(decodeDatagram(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), keys));
  } catch (err) {
    const reason = err instanceof DecodeError ? err.message : `malformed datagram (${String(err)})`;
    return rejected(reason.replace(/\s+/g, ' '));
  }
}

function decodeDatagram(buf: Buffer, keys: Keyring): Message {
  const type = authenticate(buf, keys);
  const reader = new ByteReader(buf, HEADER_BYTES, buf.length - MAC_BYTES);
  if (type === TYPE_HEARTBEAT) {
    const heartbeat = readHeartbeat(reader);
    expectEnd(reader);
    return { type: 'heartbeat', heartbeat, bytes: buf };
  }
  const relayer = reader.bytes(TAG_BYTES, 'relayer tag').toString('hex');
  const ageMs = reader.u32('relay age');
  const inner = reader.bytes(reader.u16('inner length'), 'inner datagram');
  expectEnd(reader);
  const innerType = authenticate(inner, keys);
  if (innerType !== TYPE_HEARTBEAT) throw new DecodeError('a relay may only carry a heartbeat');
  const innerReader = new ByteReader(inner, HEADER_BYTES, inner.length - MAC_BYTES);
  const heartbeat = readHeartbeat(innerReader);
  expectEnd(innerReader);
  return { type: 'relay', relayer, ageMs, heartbeat, bytes: inner };
}

/** Checks header and HMAC; returns the message type. */
function authenticate(buf: Buffer, keys: Keyring): number {
  if (buf.length < HEADER_BYTES + MAC_BYTES) {
    throw new DecodeError(
      `too short: ${buf.length} bytes, a datagram has at least ${HEADER_BYTES + MAC_BYTES}`,
    );
  }
  if (buf.readUInt16BE(0) !== MAGIC) throw new DecodeError('not a Portico membership datagram (bad magic)');
  const version = buf.readUInt8(2);
  if (version !== WIRE_VERSION)
    throw new DecodeError(`unsupported version ${version}; this speaker speaks ${WIRE_VERSION}`);
  const type = buf.readUInt8(3);
  if (type !== TYPE_HEARTBEAT && type !== TYPE_RELAY) throw new DecodeError(`unknown message type ${type}`);
  const keyId = buf.readUInt32BE(4);
  const key = keys.byId.get(keyId);
  if (!key) {
    throw new DecodeError(
      `unknown key id ${keyId.toString(16).padStart(8, '0')}: signed with another cluster's or an old membership secret`,
    );
  }
  const signed = buf.subarray(0, buf.length - MAC_BYTES);
  const expected = createHmac('sha256', key.key).update(signed).digest();
  if (!timingSafeEqual(expected, buf.subarray(buf.length - MAC_BYTES))) {
    throw new DecodeError('authentication failed: HMAC mismatch (forged or corrupted datagram)');
  }
  return type;
}

function readHeartbeat(r: ByteReader): Heartbeat {
  const statusByte = r.u8('status');
  const statusCode = statusByte & ~MINORITY_FLAG;
  const status = STATUSES[statusCode];
  if (!status) throw new DecodeError(`unknown member status ${statusCode}`);
  const minority = (statusByte & MINORITY_FLAG) !== 0;
  const sender = r.bytes(r.u8('name length'), 'node name').toString('latin1');
  if (!isNodeName(sender)) throw new DecodeError(`sender ${JSON.stringify(sender)} is not a valid node name`);
  const incarnation = r.u48('incarnation');
  const seq = r.u48('sequence');
  const sentAt = r.u48('sent at');
  const claimsVersion = r.u32('claims version');
  const chunkIndex = r.u16('chunk index');
  const chunkCount = r.u16('chunk count');
  if (chunkIndex >= chunkCount)
    throw new DecodeError(`chunk index ${chunkIndex} is not below chunk count ${chunkCount}`);
  const unheardCount = r.u8('unheard count');
  if (unheardCount > MAX_UNHEARD)
    throw new DecodeError(`${unheardCount} unheard tags; at most ${MAX_UNHEARD}`);
  const unheard = Array.from({ length: unheardCount }, () =>
    r.bytes(TAG_BYTES, 'unheard tag').toString('hex'),
  );
  const ips: string[] = [];
  for (const width of [4, 16]) {
    const count = r.u16(`IPv${width === 4 ? 4 : 6} count`);
    for (let i = 0; i < count; i++) ips.push(ipToText(r.bytes(width, 'address')));
  }
  return {
    sender,
    status,
    ...(minority && { minority }),
    incarnation,
    seq,
    sentAt,
    claimsVersion,
    chunkIndex,
    chunkCount,
    unheard,
    ips,
  };
}

function expectEnd(r: ByteReader): void {
  if (r.remaining !== 0) throw new DecodeError(`${r.remaining} unexpected bytes before the HMAC`);
}

function seal(type: number, body: Buffer, keys: Keyring): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(MAGIC, 0);
  header.writeUInt8(WIRE_VERSION, 2);
  header.writeUInt8(type, 3);
  header.writeUInt32BE(keys.signing.id, 4);
  const signed = Buffer.concat([header, body]);
  return Buffer.concat([signed, createHmac('sha256', keys.signing.key).update(signed).digest()]);
}

function uint(value: number, width: number): Buffer {
  const out = Buffer.alloc(width);
  out.writeUIntBE(value, 0, width);
  return out;
}

function checkUint(value: number, limit: number, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value >= limit) {
    throw new RangeError(`${field} ${value} is not an integer in [0, ${limit})`);
  }
}

function tagBytes(tag: string): Buffer {
  if (!/^[0-9a-f]{16}$/.test(tag)) throw new RangeError(`"${tag}" is not a node tag`);
  return Buffer.from(tag, 'hex');
}
