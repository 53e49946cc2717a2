import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { icmpv6Checksum, verifyIcmpv6Checksum, withIcmpv6Checksum } from './icmpv6-checksum.js';
import { anyBytes, ipv6Arb } from './testdata/arbitraries.js';
import {
  ICMPV6_OFFSET,
  LINUX_DAD_SOLICITATION,
  LINUX_NEIGHBOR_ADVERTISEMENT,
  LINUX_NEIGHBOR_SOLICITATION,
  LINUX_UNSOLICITED_ADVERTISEMENT,
} from './testdata/lab-captures.js';

/** Source, destination and ICMPv6 message of a captured Ethernet + IPv6 frame. */
const parts = (frame: Buffer) => ({
  source: frame.subarray(22, 38),
  destination: frame.subarray(38, 54),
  message: frame.subarray(ICMPV6_OFFSET),
});

const captures = {
  'neighbor solicitation': LINUX_NEIGHBOR_SOLICITATION,
  'solicited neighbor advertisement': LINUX_NEIGHBOR_ADVERTISEMENT,
  'DAD solicitation from ::': LINUX_DAD_SOLICITATION,
  'unsolicited neighbor advertisement': LINUX_UNSOLICITED_ADVERTISEMENT,
};

describe('ICMPv6 checksum', () => {
  for (const [name, frame] of Object.entries(captures)) {
    it(`matches the checksum Linux put on a captured ${name}`, () => {
      const { source, destination, message } = parts(frame);
      assert.equal(icmpv6Checksum(source, destination, message), message.readUInt16BE(2));
      assert.ok(verifyIcmpv6Checksum(source, destination, message));
    });
  }

  it('fails verification when any byte of the message or the addresses changes', () => {
    const { source, destination, message } = parts(LINUX_NEIGHBOR_SOLICITATION);
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(2), (at, flip, where) => {
        const copies = [Buffer.from(source), Buffer.from(destination), Buffer.from(message)];
        const target = copies[where]!;
        target[at % target.length]! ^= flip;
        assert.ok(!verifyIcmpv6Checksum(copies[0]!, copies[1]!, copies[2]!));
      }),
    );
  });

  it('handles odd lengths by padding with a zero byte', () => {
    const src = Buffer.alloc(16);
    const dst = Buffer.alloc(16);
    const odd = Buffer.from([0x80, 0, 0, 0, 0xab]);
    const even = Buffer.from([0x80, 0, 0, 0, 0xab, 0]);
    // Same words, but the upper-layer length in the pseudo-header differs by one.
    assert.equal(icmpv6Checksum(src, dst, odd), (icmpv6Checksum(src, dst, even) + 1) & 0xffff);
  });

  it('produces messages that verify, for any addresses and content', () => {
    fc.assert(
      fc.property(
        ipv6Arb,
        ipv6Arb,
        anyBytes(200).filter((m) => m.length >= 4),
        (source, destination, message) => {
          assert.ok(
            verifyIcmpv6Checksum(source, destination, withIcmpv6Checksum(source, destination, message)),
          );
        },
      ),
    );
  });

  it('does not verify a message too short to hold a checksum', () => {
    assert.ok(!verifyIcmpv6Checksum(Buffer.alloc(16), Buffer.alloc(16), Buffer.from([0x87, 0, 0])));
  });
});
