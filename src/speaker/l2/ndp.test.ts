import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ETHERTYPE_IPV6, encodeEthernet } from './ethernet.js';
import { verifyIcmpv6Checksum } from './icmpv6-checksum.js';
import { encodeIpv6, NEXT_HEADER_ICMPV6 } from './ipv6.js';
import { buildUnsolicitedNeighborAdvertisement, decodeNdp, encodeNdp, type NdpMessage } from './ndp.js';
import { ALL_NODES, ipv6MulticastMac, solicitedNodeAddress } from './ndp-addresses.js';
import { anyBytes, ipv6Arb, macArb, mutated } from './testdata/arbitraries.js';
import {
  CLIENT_MAC,
  ICMPV6_OFFSET,
  LINUX_DAD_SOLICITATION,
  LINUX_NEIGHBOR_ADVERTISEMENT,
  LINUX_NEIGHBOR_SOLICITATION,
  LINUX_UNSOLICITED_ADVERTISEMENT,
  NODE_MAC,
} from './testdata/lab-captures.js';

const hex = (text: string): Buffer =>
  Buffer.from(text.replaceAll(/#.*$/gm, '').replaceAll(/\s+/g, ''), 'hex');
const VIP6 = hex('20010db8000000000000000000000010');
const CLIENT6 = hex('20010db8000000000000000000000001');
const icmpv6Of = (frame: Buffer): Buffer => frame.subarray(ICMPV6_OFFSET);

describe('decodeNdp on captured messages', () => {
  it('decodes the Linux neighbor solicitation for 2001:db8::10', () => {
    assert.deepEqual(decodeNdp(icmpv6Of(LINUX_NEIGHBOR_SOLICITATION)), {
      ok: true,
      value: {
        message: { kind: 'neighbor-solicitation', code: 0, target: VIP6, sourceLinkAddress: CLIENT_MAC },
        checksum: 0x1c0b,
      },
    });
  });

  it('decodes the Linux solicited advertisement: S=1, O=1, Target LL option', () => {
    assert.deepEqual(decodeNdp(icmpv6Of(LINUX_NEIGHBOR_ADVERTISEMENT)), {
      ok: true,
      value: {
        message: {
          kind: 'neighbor-advertisement',
          router: false,
          solicited: true,
          override: true,
          code: 0,
          target: VIP6,
          targetLinkAddress: NODE_MAC,
        },
        checksum: 0x8a55,
      },
    });
  });

  it('skips the nonce option of a Linux DAD probe (an option it does not know)', () => {
    assert.deepEqual(decodeNdp(icmpv6Of(LINUX_DAD_SOLICITATION)), {
      ok: true,
      value: { message: { kind: 'neighbor-solicitation', code: 0, target: VIP6 }, checksum: 0x16c0 },
    });
  });
});

describe('encodeNdp', () => {
  it('builds the solicitation a Linux host sends for 2001:db8::10, checksum included', () => {
    const expected = hex(`
      87 00 1c0b 00000000                  # NS, code 0, checksum, reserved
      20010db8000000000000000000000010     # target 2001:db8::10
      01 01 020000000001                   # Source LL option: 1 unit, 02:00:00:00:00:01
    `);
    const message: NdpMessage = {
      kind: 'neighbor-solicitation',
      code: 0,
      target: VIP6,
      sourceLinkAddress: CLIENT_MAC,
    };
    const bytes = encodeNdp(message, { source: CLIENT6, destination: solicitedNodeAddress(VIP6) });
    assert.deepEqual(bytes, expected);
    assert.deepEqual(bytes, icmpv6Of(LINUX_NEIGHBOR_SOLICITATION));
  });

  it('leaves the checksum 0 for the kernel when no addresses are given', () => {
    const bytes = encodeNdp({ kind: 'neighbor-solicitation', code: 0, target: VIP6 });
    assert.deepEqual(bytes, hex('87 00 0000 00000000 20010db8000000000000000000000010'));
  });

  it('writes the R, S and O flags', () => {
    const flags = (router: boolean, solicited: boolean, override: boolean): number =>
      encodeNdp({ kind: 'neighbor-advertisement', code: 0, target: VIP6, router, solicited, override })[4]!;
    assert.equal(flags(true, false, false), 0x80);
    assert.equal(flags(false, true, false), 0x40);
    assert.equal(flags(false, false, true), 0x20);
    assert.equal(flags(true, true, true), 0xe0);
  });

  it('refuses fields of the wrong size', () => {
    assert.throws(
      () => encodeNdp({ kind: 'neighbor-solicitation', code: 0, target: VIP6.subarray(0, 4) }),
      RangeError,
    );
    assert.throws(
      () =>
        encodeNdp({
          kind: 'neighbor-solicitation',
          code: 0,
          target: VIP6,
          sourceLinkAddress: Buffer.alloc(8),
        }),
      RangeError,
    );
    assert.throws(() => encodeNdp({ kind: 'neighbor-solicitation', code: 256, target: VIP6 }), RangeError);
  });
});

describe('buildUnsolicitedNeighborAdvertisement', () => {
  it('builds the message Linux multicasts for its own address, byte for byte', () => {
    const na = buildUnsolicitedNeighborAdvertisement(VIP6, NODE_MAC);
    const expected = hex(`
      88 00 f90b 20000000                  # NA, code 0, checksum, flags O=1 (R=0, S=0)
      20010db8000000000000000000000010     # target = VIP
      02 01 020000000002                   # Target LL option: our MAC
    `);
    assert.deepEqual(na.message, expected);
    assert.deepEqual(na.message, icmpv6Of(LINUX_UNSOLICITED_ADVERTISEMENT));
    assert.deepEqual(na.source, VIP6);
    assert.deepEqual(na.destination, ALL_NODES);
  });

  it('is the captured frame once wrapped in IPv6 and Ethernet', () => {
    const na = buildUnsolicitedNeighborAdvertisement(VIP6, NODE_MAC);
    const frame = encodeEthernet({
      destination: ipv6MulticastMac(na.destination),
      source: NODE_MAC,
      etherType: ETHERTYPE_IPV6,
      payload: encodeIpv6({
        trafficClass: 0,
        flowLabel: 0,
        nextHeader: NEXT_HEADER_ICMPV6,
        hopLimit: 255,
        source: na.source,
        destination: na.destination,
        payload: na.message,
      }),
    });
    assert.deepEqual(frame, LINUX_UNSOLICITED_ADVERTISEMENT);
  });
});

describe('decodeNdp rejects malformed messages', () => {
  const ns = '87 00 0000 00000000 20010db8000000000000000000000010';
  const cases: [string, string, RegExp][] = [
    ['3 bytes', '87 00 00', /3 bytes, shorter than its 4-byte header/],
    ['another ICMPv6 type', '80 00 0000 00000000', /type 128 is neither/],
    [
      'an NS shorter than 24 bytes',
      '87 00 0000 00000000 20010db8',
      /Neighbor Solicitation is 12 bytes, shorter than the 24/,
    ],
    [
      'an option of length 0',
      `${ns} 01 00 020000000001`,
      /option source link-layer address at byte 24 has length 0/,
    ],
    [
      'an option running past the end',
      `${ns} 0e 02 a29d34675101`,
      /option type 14 at byte 24 claims 16 bytes, only 8 remain/,
    ],
    ['a single stray byte after the options', `${ns} 01 01 020000000001 00`, /truncated option at byte 32/],
    [
      'a link-layer option of 2 units',
      `${ns} 01 02 020000000001 0000000000000000`,
      /has length 2, expected 1 for an Ethernet/,
    ],
    [
      'an NA with a bad option',
      '88 00 0000 60000000 20010db8000000000000000000000010 02 00',
      /Neighbor Advertisement option target link-layer address at byte 24 has length 0/,
    ],
  ];
  for (const [name, bytes, error] of cases) {
    it(`rejects ${name}`, () => {
      const decoded = decodeNdp(hex(bytes));
      assert.ok(!decoded.ok);
      assert.match(decoded.error, error);
    });
  }

  it('keeps the first of two source link-layer options, as Linux does', () => {
    const decoded = decodeNdp(hex(`${ns} 01 01 020000000001 01 01 020000000009`));
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.value.message.sourceLinkAddress, CLIENT_MAC);
  });

  it('skips unknown options of any length, and ignores reserved bits', () => {
    const decoded = decodeNdp(
      hex(`87 00 0000 ffffffff 20010db8000000000000000000000010 c8 02 ${'00'.repeat(14)} 01 01 020000000001`),
    );
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.value.message, {
      kind: 'neighbor-solicitation',
      code: 0,
      target: VIP6,
      sourceLinkAddress: CLIENT_MAC,
    });
  });
});

describe('NDP codec properties', () => {
  const links = { sourceLinkAddress: macArb, targetLinkAddress: macArb };
  const solicitationArb = fc.record(
    {
      kind: fc.constant('neighbor-solicitation' as const),
      code: fc.integer({ min: 0, max: 255 }),
      target: ipv6Arb,
      ...links,
    },
    { requiredKeys: ['kind', 'code', 'target'] },
  );
  const advertisementArb = fc.record(
    {
      kind: fc.constant('neighbor-advertisement' as const),
      code: fc.integer({ min: 0, max: 255 }),
      router: fc.boolean(),
      solicited: fc.boolean(),
      override: fc.boolean(),
      target: ipv6Arb,
      ...links,
    },
    { requiredKeys: ['kind', 'code', 'router', 'solicited', 'override', 'target'] },
  );
  const messageArb: fc.Arbitrary<NdpMessage> = fc.oneof(solicitationArb, advertisementArb);

  it('round-trips: decode(encode(message)) is the message', () => {
    fc.assert(
      fc.property(messageArb, (message) => {
        const decoded = decodeNdp(encodeNdp(message));
        assert.ok(decoded.ok);
        assert.deepEqual(decoded.value.message, { ...message });
      }),
    );
  });

  it('computes checksums that verify', () => {
    fc.assert(
      fc.property(messageArb, ipv6Arb, ipv6Arb, (message, source, destination) => {
        assert.ok(verifyIcmpv6Checksum(source, destination, encodeNdp(message, { source, destination })));
      }),
    );
  });

  it('never throws on random or damaged messages, and explains each rejection on one line', () => {
    const bytesArb = fc.oneof(
      anyBytes(80),
      anyBytes(64).map((rest) => Buffer.concat([Buffer.from([135]), rest])),
      mutated(messageArb.map((m) => encodeNdp(m))),
    );
    fc.assert(
      fc.property(bytesArb, (bytes) => {
        const decoded = decodeNdp(bytes);
        if (!decoded.ok) assert.doesNotMatch(decoded.error, /\n/);
      }),
      { numRuns: 3000 },
    );
  });
});
