import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeEthernet, ETHERTYPE_ARP, encodeEthernet, MIN_FRAME_LENGTH } from './ethernet.js';
import { anyBytes, macArb, mutated } from './testdata/arbitraries.js';
import { ARPING_REQUEST, CLIENT_MAC, LINUX_NEIGHBOR_SOLICITATION } from './testdata/lab-captures.js';

const hex = (text: string): Buffer => Buffer.from(text.replaceAll(' ', ''), 'hex');

describe('decodeEthernet', () => {
  it('decodes a captured ARP request, keeping its padding in the payload', () => {
    const frame = decodeEthernet(ARPING_REQUEST);
    assert.ok(frame.ok);
    assert.deepEqual(frame.value.destination, hex('ffffffffffff'));
    assert.deepEqual(frame.value.source, CLIENT_MAC);
    assert.equal(frame.value.etherType, ETHERTYPE_ARP);
    assert.equal(frame.value.vlanIds, undefined);
    assert.equal(frame.value.payload.length, ARPING_REQUEST.length - 14);
  });

  it('decodes a captured IPv6 frame', () => {
    const frame = decodeEthernet(LINUX_NEIGHBOR_SOLICITATION);
    assert.ok(frame.ok);
    assert.deepEqual(frame.value.destination, hex('3333ff000010'));
    assert.equal(frame.value.etherType, 0x86dd);
  });

  it('reports 802.1Q and 802.1ad tags and the inner EtherType', () => {
    const tagged = hex('ffffffffffff 020000000001 88a8 0064 8100 a0c8 0806 0001');
    const frame = decodeEthernet(tagged);
    assert.ok(frame.ok);
    assert.deepEqual(frame.value.vlanIds, [100, 200]);
    assert.equal(frame.value.etherType, ETHERTYPE_ARP);
    assert.deepEqual(frame.value.payload, hex('0001'));
  });

  it('does not alias the input buffer', () => {
    const input = Buffer.from(ARPING_REQUEST);
    const frame = decodeEthernet(input);
    input.fill(0);
    assert.ok(frame.ok);
    assert.deepEqual(frame.value.source, CLIENT_MAC);
  });

  it('reads a frame that is a view into a larger buffer', () => {
    const big = Buffer.concat([Buffer.alloc(7, 0xee), ARPING_REQUEST]);
    const frame = decodeEthernet(big.subarray(7));
    assert.ok(frame.ok);
    assert.deepEqual(frame.value.source, CLIENT_MAC);
  });

  const rejects: [string, Buffer, RegExp][] = [
    ['an empty frame', Buffer.alloc(0), /0 bytes, shorter than the 14-byte header/],
    ['13 bytes', Buffer.alloc(13), /13 bytes, shorter than the 14-byte header/],
    ['a cut VLAN tag', hex('ffffffffffff 020000000001 8100 0064'), /too short for its VLAN tag/],
  ];
  for (const [name, bytes, error] of rejects) {
    it(`rejects ${name}`, () => {
      const frame = decodeEthernet(bytes);
      assert.ok(!frame.ok);
      assert.match(frame.error, error);
    });
  }
});

describe('encodeEthernet', () => {
  it('pads short frames with zeros to 60 bytes', () => {
    const frame = encodeEthernet({
      destination: hex('ffffffffffff'),
      source: CLIENT_MAC,
      etherType: ETHERTYPE_ARP,
      payload: hex('0102'),
    });
    assert.deepEqual(frame, Buffer.concat([hex('ffffffffffff 020000000001 0806 0102'), Buffer.alloc(44)]));
    assert.equal(frame.length, MIN_FRAME_LENGTH);
  });

  it('writes 802.1Q tags', () => {
    const frame = encodeEthernet({
      destination: hex('ffffffffffff'),
      source: CLIENT_MAC,
      vlanIds: [100],
      etherType: ETHERTYPE_ARP,
      payload: Buffer.alloc(46),
    });
    assert.deepEqual(frame.subarray(0, 18), hex('ffffffffffff 020000000001 8100 0064 0806'));
    assert.equal(frame.length, 64);
  });

  it('refuses fields that do not fit', () => {
    const base = {
      destination: Buffer.alloc(6),
      source: Buffer.alloc(6),
      etherType: 0x0806,
      payload: Buffer.alloc(0),
    };
    assert.throws(() => encodeEthernet({ ...base, source: Buffer.alloc(5) }), RangeError);
    assert.throws(() => encodeEthernet({ ...base, etherType: 0x10000 }), RangeError);
    assert.throws(() => encodeEthernet({ ...base, vlanIds: [4096] }), RangeError);
  });

  const frameArb = fc.record(
    {
      destination: macArb,
      source: macArb,
      vlanIds: fc.array(fc.integer({ min: 0, max: 4095 }), { minLength: 1, maxLength: 2 }),
      etherType: fc
        .integer({ min: 0x0600, max: 0xffff })
        .filter((t) => ![0x8100, 0x88a8, 0x9100].includes(t)),
      payload: anyBytes(100),
    },
    { requiredKeys: ['destination', 'source', 'etherType', 'payload'] },
  );

  it('round-trips: decode(encode(frame)) is the frame, plus padding', () => {
    fc.assert(
      fc.property(frameArb, (frame) => {
        const decoded = decodeEthernet(encodeEthernet(frame));
        assert.ok(decoded.ok);
        const { payload, ...header } = decoded.value;
        const { payload: sent, ...sentHeader } = frame;
        assert.deepEqual(header, sentHeader);
        assert.deepEqual(payload.subarray(0, sent.length), sent);
        assert.ok(payload.subarray(sent.length).every((byte) => byte === 0));
      }),
    );
  });

  it('never throws on random or damaged frames', () => {
    fc.assert(
      fc.property(fc.oneof(anyBytes(80), mutated(frameArb.map(encodeEthernet))), (bytes) => {
        const decoded = decodeEthernet(bytes);
        if (!decoded.ok) assert.doesNotMatch(decoded.error, /\n/);
      }),
      { numRuns: 2000 },
    );
  });
});
