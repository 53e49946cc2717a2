import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeIpv6, encodeIpv6, NEXT_HEADER_ICMPV6 } from './ipv6.js';
import { anyBytes, ipv6Arb, mutated } from './testdata/arbitraries.js';
import { LINUX_NEIGHBOR_SOLICITATION } from './testdata/lab-captures.js';

const hex = (text: string): Buffer => Buffer.from(text, 'hex');

describe('IPv6 header', () => {
  it('decodes a captured neighbor solicitation packet', () => {
    const packet = decodeIpv6(LINUX_NEIGHBOR_SOLICITATION.subarray(14));
    assert.ok(packet.ok);
    assert.deepEqual(packet.value, {
      trafficClass: 0,
      flowLabel: 0,
      nextHeader: NEXT_HEADER_ICMPV6,
      hopLimit: 255,
      source: hex('20010db8000000000000000000000001'),
      destination: hex('ff0200000000000000000001ff000010'),
      payload: LINUX_NEIGHBOR_SOLICITATION.subarray(54),
    });
  });

  it('re-encodes the captured packet byte for byte', () => {
    const packet = decodeIpv6(LINUX_NEIGHBOR_SOLICITATION.subarray(14));
    assert.ok(packet.ok);
    assert.deepEqual(encodeIpv6(packet.value), LINUX_NEIGHBOR_SOLICITATION.subarray(14));
  });

  it('drops Ethernet padding after the payload', () => {
    const padded = Buffer.concat([LINUX_NEIGHBOR_SOLICITATION.subarray(14), Buffer.alloc(6)]);
    const packet = decodeIpv6(padded);
    assert.ok(packet.ok);
    assert.equal(packet.value.payload.length, 32);
  });

  it('rejects short packets, other versions and payloads longer than the bytes', () => {
    const ns = LINUX_NEIGHBOR_SOLICITATION.subarray(14);
    const ipv4ish = Buffer.from(ns);
    ipv4ish[0] = 0x45;
    const cases: [Buffer, RegExp][] = [
      [ns.subarray(0, 39), /39 bytes, shorter than the 40-byte header/],
      [ipv4ish, /IP version is 4, expected 6/],
      [ns.subarray(0, 60), /payload length is 32 bytes, but only 20 follow/],
    ];
    for (const [bytes, error] of cases) {
      const packet = decodeIpv6(bytes);
      assert.ok(!packet.ok);
      assert.match(packet.error, error);
    }
  });

  const packetArb = fc.record({
    trafficClass: fc.integer({ min: 0, max: 0xff }),
    flowLabel: fc.integer({ min: 0, max: 0xfffff }),
    nextHeader: fc.integer({ min: 0, max: 0xff }),
    hopLimit: fc.integer({ min: 0, max: 0xff }),
    source: ipv6Arb,
    destination: ipv6Arb,
    payload: anyBytes(64),
  });

  // fast-check records have a null prototype; spreading gives the plain object decoders return.
  it('round-trips every header', () => {
    fc.assert(
      fc.property(packetArb, (packet) =>
        assert.deepEqual(decodeIpv6(encodeIpv6(packet)), { ok: true, value: { ...packet } }),
      ),
    );
  });

  it('never throws on random or damaged packets', () => {
    fc.assert(
      fc.property(
        fc.oneof(anyBytes(100), mutated(packetArb.map(encodeIpv6))),
        (bytes) => void decodeIpv6(bytes),
      ),
      {
        numRuns: 2000,
      },
    );
  });
});
