import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ClaimsAssembler, splitClaims } from './chunks.js';
import {
  decode,
  encodeHeartbeat,
  encodeRelay,
  type Heartbeat,
  heartbeatOverhead,
  RELAY_OVERHEAD,
} from './codec.js';
import { createKeyring } from './keyring.js';
import { DEFAULT_MEMBERSHIP_OPTIONS } from './options.js';
import { nodeTag } from './tags.js';

const keys = createKeyring(['chunk-test-secret-0123456789']);
const v4 = (i: number): string => `198.18.${(i >> 8) & 255}.${i & 255}`;
const v6 = (i: number): string => `2001:db8::${(i + 1).toString(16)}`;

const chunkOf = (version: number, index: number, count: number, ips: string[]): Heartbeat => ({
  sender: 'a',
  status: 'alive',
  incarnation: 1,
  seq: index + 1,
  sentAt: index,
  claimsVersion: version,
  chunkIndex: index,
  chunkCount: count,
  unheard: [],
  ips,
});

describe('splitClaims', () => {
  it('packs canonical, de-duplicated addresses into chunks within the room, IPv4 first', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.nat(5000).map(v4), fc.nat(5000).map(v6)), { maxLength: 400 }),
        fc.integer({ min: 16, max: 600 }),
        (ips, room) => {
          const chunks = splitClaims(ips, room);
          assert.ok(chunks.length >= 1);
          for (const chunk of chunks) {
            const bytes = chunk.reduce((sum, ip) => sum + (ip.includes(':') ? 16 : 4), 0);
            assert.ok(bytes <= room, `${bytes} > ${room}`);
          }
          const flat = chunks.flat();
          assert.deepEqual(new Set(flat), new Set(ips));
          assert.equal(flat.length, new Set(ips).size);
          const firstV6 = flat.findIndex((ip) => ip.includes(':'));
          assert.ok(firstV6 < 0 || flat.slice(firstV6).every((ip) => ip.includes(':')));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('carries 3,000 IPv4 and 3,000 IPv6 claims in datagrams that fit 1,400 bytes, relays included', () => {
    const { maxDatagramBytes, maxUnheard } = DEFAULT_MEMBERSHIP_OPTIONS;
    const sender = 'node-with-a-fairly-long-name.rack-12.example';
    const room = maxDatagramBytes - RELAY_OVERHEAD - heartbeatOverhead(sender.length, maxUnheard);
    const ips = [
      ...Array.from({ length: 3000 }, (_, i) => v4(i)),
      ...Array.from({ length: 3000 }, (_, i) => v6(i)),
    ];
    const chunks = splitClaims(ips, room);
    const unheard = Array.from({ length: maxUnheard }, (_, i) => nodeTag(`peer-${i}`));
    const assembler = new ClaimsAssembler();
    for (const [index, chunk] of chunks.entries()) {
      const h: Heartbeat = { ...chunkOf(7, index, chunks.length, chunk), sender, unheard };
      const bytes = encodeHeartbeat(h, keys);
      const relayed = encodeRelay({ relayer: nodeTag('relayer'), ageMs: 10, inner: bytes }, keys);
      assert.ok(relayed.length <= maxDatagramBytes, `${relayed.length} bytes`);
      const decoded = decode(bytes, keys);
      assert.ok(decoded.ok);
      assembler.accept(decoded.value.heartbeat);
    }
    assert.equal(assembler.claims.size, 6000);
    // 1,107 bytes of room with this 44-byte name: 276 IPv4 or 69 IPv6 addresses a datagram, 55 datagrams.
    assert.equal(
      chunks.length,
      Math.ceil(3000 / Math.floor(room / 4)) + Math.ceil(3000 / Math.floor(room / 16)),
    );
  });

  it('refuses text that is not an IP', () => {
    assert.throws(() => splitClaims(['198.51.100.1', 'nope'], 100), /cannot claim "nope": not an IP address/);
  });
});

describe('ClaimsAssembler', () => {
  it('exposes a version only once all its chunks have arrived, in any order', () => {
    const a = new ClaimsAssembler();
    assert.equal(a.accept(chunkOf(1, 0, 1, ['198.51.100.1'])), true);
    assert.equal(a.accept(chunkOf(2, 1, 2, ['198.51.100.3'])), false);
    assert.deepEqual([...a.claims], ['198.51.100.1']);
    assert.equal(a.accept(chunkOf(2, 0, 2, ['198.51.100.2'])), true);
    assert.deepEqual([...a.claims].sort(), ['198.51.100.2', '198.51.100.3']);
  });

  it('drops a half-received version when a newer one starts, and reports no change for equal sets', () => {
    const a = new ClaimsAssembler();
    a.accept(chunkOf(1, 0, 1, ['198.51.100.1']));
    a.accept(chunkOf(2, 0, 2, ['198.51.100.9']));
    assert.equal(a.accept(chunkOf(3, 0, 1, ['198.51.100.1'])), false);
    assert.deepEqual([...a.claims], ['198.51.100.1']);
    assert.equal(a.accept(chunkOf(2, 1, 2, ['198.51.100.8'])), false);
    assert.deepEqual([...a.claims], ['198.51.100.1']);
  });
});
