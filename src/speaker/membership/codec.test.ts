import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decode,
  encodeHeartbeat,
  encodeRelay,
  type Heartbeat,
  heartbeatOverhead,
  MAX_NAME_BYTES,
  RELAY_OVERHEAD,
  WIRE_VERSION,
} from './codec.js';
import { createKeyring } from './keyring.js';
import { nodeTag } from './tags.js';

const keys = createKeyring(['0123456789abcdef-cluster-secret']);
const otherCluster = createKeyring(['another-cluster-secret-entirely']);

const heartbeat = (overrides: Partial<Heartbeat> = {}): Heartbeat => ({
  sender: 'worker-1.example',
  status: 'alive',
  incarnation: 1_767_225_600_000,
  seq: 42,
  sentAt: 86_400_123,
  claimsVersion: 3,
  chunkIndex: 0,
  chunkCount: 1,
  unheard: [nodeTag('worker-2')],
  ips: ['198.51.100.7', '203.0.113.9', '2001:db8::7'],
  ...overrides,
});

const nodeName = fc
  .array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), { minLength: 1, maxLength: 40 })
  .map((chars) => chars.join(''));

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const ipv6 = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
  .map((g) => g.map((x) => x.toString(16)).join(':'));

const heartbeats: fc.Arbitrary<Heartbeat> = fc
  .record({
    sender: nodeName,
    status: fc.constantFrom('alive' as const, 'joining' as const, 'leaving' as const),
    incarnation: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    seq: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    sentAt: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    claimsVersion: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    chunkCount: fc.integer({ min: 1, max: 65_535 }),
    unheard: fc.array(nodeName.map(nodeTag), { maxLength: 16 }),
    v4: fc.array(ipv4, { maxLength: 30 }),
    v6: fc.array(ipv6, { maxLength: 30 }),
    chunkSeed: fc.nat(),
  })
  .map(({ v4, v6, chunkSeed, ...h }) => ({
    ...h,
    chunkIndex: chunkSeed % h.chunkCount,
    ips: [...v4, ...v6],
  }));

/** What decoding returns for an IP: the canonical spelling. */
const canonical = (ip: string): string => {
  const decoded = decode(encodeHeartbeat(heartbeat({ ips: [ip] }), keys), keys);
  assert.ok(decoded.ok);
  return decoded.value.heartbeat.ips[0]!;
};

/** Signs arbitrary bytes as a datagram of `type`, to reach the parser behind the HMAC check. */
function signed(type: number, body: Uint8Array): Buffer {
  const header = Buffer.from([0x50, 0x4d, WIRE_VERSION, type, 0, 0, 0, 0]);
  header.writeUInt32BE(keys.signing.id, 4);
  const data = Buffer.concat([header, body]);
  return Buffer.concat([data, createHmac('sha256', keys.signing.key).update(data).digest()]);
}

describe('membership codec', () => {
  it('round-trips a heartbeat', () => {
    const h = heartbeat();
    const decoded = decode(encodeHeartbeat(h, keys), keys);
    assert.ok(decoded.ok);
    assert.equal(decoded.value.type, 'heartbeat');
    assert.deepEqual(decoded.value.heartbeat, h);
  });

  it('round-trips any heartbeat, and a relay carrying it (property)', () => {
    fc.assert(
      fc.property(heartbeats, fc.integer({ min: 0, max: 2 ** 32 - 1 }), (h, ageMs) => {
        const bytes = encodeHeartbeat(h, keys);
        const expected = { ...h, ips: h.ips.map(canonical) };
        const direct = decode(bytes, keys);
        assert.ok(direct.ok, direct.ok ? '' : direct.error);
        assert.deepEqual(direct.value.heartbeat, expected);
        const relayer = nodeTag('relayer');
        const relayed = decode(encodeRelay({ relayer, ageMs, inner: bytes }, keys), keys);
        assert.ok(relayed.ok, relayed.ok ? '' : relayed.error);
        assert.deepEqual(relayed.value, { type: 'relay', relayer, ageMs, heartbeat: expected, bytes });
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary bytes, and explains the rejection on one line', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const result = decode(bytes, keys);
        assert.equal(result.ok, false);
        assert.ok(!result.ok && result.error.length > 0 && !result.error.includes('\n'));
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on authentic datagrams with arbitrary bodies (a buggy or hostile key holder)', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2), fc.uint8Array({ maxLength: 400 }), (type, body) => {
        const result = decode(signed(type, body), keys);
        // Every rejection is an explained DecodeError, not a caught internal exception.
        if (!result.ok)
          assert.ok(
            !result.error.startsWith('malformed datagram') && !result.error.includes('\n'),
            result.error,
          );
      }),
      { numRuns: 3000 },
    );
  });

  it('rejects any single flipped bit of a valid datagram', () => {
    const bytes = encodeHeartbeat(heartbeat(), keys);
    fc.assert(
      fc.property(fc.nat(bytes.length * 8 - 1), (bit) => {
        const corrupt = Buffer.from(bytes);
        corrupt[bit >> 3]! ^= 1 << (bit & 7);
        assert.equal(decode(corrupt, keys).ok, false);
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects a forged HMAC, and tells a foreign key apart', () => {
    const bytes = encodeHeartbeat(heartbeat(), keys);
    const forged = Buffer.from(bytes);
    forged.fill(0, forged.length - 32);
    assert.deepEqual(decode(forged, keys), {
      ok: false,
      error: 'authentication failed: HMAC mismatch (forged or corrupted datagram)',
    });
    const foreign = decode(encodeHeartbeat(heartbeat(), otherCluster), keys);
    assert.ok(
      !foreign.ok && /^unknown key id [0-9a-f]{8}: signed with another cluster's/.test(foreign.error),
    );
  });

  it('verifies with every key of a rotation and signs with the first', () => {
    const rotating = createKeyring(['the-new-membership-secret', '0123456789abcdef-cluster-secret']);
    assert.ok(decode(encodeHeartbeat(heartbeat(), keys), rotating).ok);
    assert.ok(decode(encodeHeartbeat(heartbeat(), rotating), rotating).ok);
    assert.equal(decode(encodeHeartbeat(heartbeat(), rotating), keys).ok, false);
    assert.throws(() => createKeyring(['short']), /membership secret 1 is 5 bytes; it must be at least 16/);
  });

  it('gives precise reasons for malformed headers and bodies', () => {
    assert.deepEqual(decode(Buffer.alloc(10), keys), {
      ok: false,
      error: 'too short: 10 bytes, a datagram has at least 40',
    });
    const bad = Buffer.from(encodeHeartbeat(heartbeat(), keys));
    bad[2] = 9;
    assert.deepEqual(decode(bad, keys), { ok: false, error: 'unsupported version 9; this speaker speaks 2' });
    assert.deepEqual(decode(signed(1, Buffer.from([0, 3, 0x41])), keys), {
      ok: false,
      error: 'truncated: node name needs 3 bytes, 1 left',
    });
    assert.deepEqual(decode(signed(1, Buffer.from([7])), keys), {
      ok: false,
      error: 'unknown member status 7',
    });
    const relayOfRelay = encodeRelay(
      {
        relayer: nodeTag('x'),
        ageMs: 0,
        inner: encodeRelay(
          { relayer: nodeTag('y'), ageMs: 0, inner: encodeHeartbeat(heartbeat(), keys) },
          keys,
        ),
      },
      keys,
    );
    assert.deepEqual(decode(relayOfRelay, keys), { ok: false, error: 'a relay may only carry a heartbeat' });
  });

  it('refuses to encode what the format cannot carry', () => {
    assert.throws(() => encodeHeartbeat(heartbeat({ sender: 'Not_A_Node' }), keys), /not a valid node name/);
    assert.throws(() => encodeHeartbeat(heartbeat({ seq: 2 ** 48 }), keys), /sequence/);
    assert.throws(() => encodeHeartbeat(heartbeat({ chunkIndex: 1, chunkCount: 1 }), keys), /chunk index 1/);
    assert.throws(() => encodeHeartbeat(heartbeat({ ips: ['not-an-ip'] }), keys), /not an IP address/);
  });

  it('sizes headers exactly, so chunking can keep relays within one datagram', () => {
    const h = heartbeat({
      sender: 'n'.repeat(MAX_NAME_BYTES),
      unheard: Array(16).fill(nodeTag('z')),
      ips: [],
    });
    const bytes = encodeHeartbeat(h, keys);
    assert.equal(bytes.length, heartbeatOverhead(MAX_NAME_BYTES, 16));
    assert.equal(
      encodeRelay({ relayer: nodeTag('r'), ageMs: 5, inner: bytes }, keys).length,
      bytes.length + RELAY_OVERHEAD,
    );
  });

  it('carries the minority flag in the status byte, beside the status', () => {
    for (const status of ['alive', 'joining', 'leaving'] as const) {
      for (const minority of [true, false]) {
        const r = decode(encodeHeartbeat(heartbeat({ status, minority }), keys), keys);
        assert.ok(r.ok && r.value.type === 'heartbeat');
        assert.deepEqual([r.value.heartbeat.status, r.value.heartbeat.minority ?? false], [status, minority]);
      }
    }
  });
});
