import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ARP_REPLY,
  ARP_REQUEST,
  type ArpPacket,
  buildArpReply,
  buildGratuitousArpReply,
  buildGratuitousArpRequest,
  decodeArp,
  encodeArp,
} from './arp.js';
import { decodeEthernet } from './ethernet.js';
import { anyBytes, ipv4Arb, macArb, mutated } from './testdata/arbitraries.js';
import {
  ARPING_GRATUITOUS_REPLY,
  ARPING_GRATUITOUS_REQUEST,
  ARPING_REQUEST,
  CLIENT_MAC,
  LINUX_ARP_REPLY,
  NODE_MAC,
} from './testdata/lab-captures.js';

const hex = (text: string): Buffer => Buffer.from(text.replaceAll(/\s+/g, ''), 'hex');
const VIP = hex('cb00710a'); // 203.0.113.10
const PADDING = Buffer.alloc(18);

function arpOf(frame: Buffer): ArpPacket {
  const ethernet = decodeEthernet(frame);
  assert.ok(ethernet.ok);
  const arp = decodeArp(ethernet.value.payload);
  assert.ok(arp.ok, arp.ok ? '' : arp.error);
  return arp.value;
}

describe('decodeArp', () => {
  it('decodes an arping request from 192.0.2.100 for 203.0.113.10, ignoring its padding', () => {
    assert.deepEqual(arpOf(ARPING_REQUEST), {
      operation: ARP_REQUEST,
      senderMac: CLIENT_MAC,
      senderIp: hex('c0000264'),
      targetMac: hex('000000000000'),
      targetIp: VIP,
    });
  });

  const header = '0001 0800 06 04 0001';
  const rest = '020000000001 c0000264 000000000000 cb00710a';
  const rejects: [string, string, RegExp][] = [
    ['a header cut short', '0001 0800 06', /5 bytes, shorter than the 8-byte fixed header/],
    ['a non-Ethernet hardware type', `0006 0800 06 04 0001 ${rest}`, /hardware type 6 is not Ethernet/],
    ['a non-IPv4 protocol type', `0001 86dd 06 04 0001 ${rest}`, /protocol type 0x86dd is not IPv4/],
    ['other address lengths', `0001 0800 06 10 0001 ${rest}`, /address lengths are 6\/16, expected 6\/4/],
    [
      'a body cut short',
      `${header} 020000000001 c0000264 000000000000 cb0071`,
      /27 bytes, shorter than the 28/,
    ],
  ];
  for (const [name, bytes, error] of rejects) {
    it(`rejects ${name}`, () => {
      const arp = decodeArp(hex(bytes));
      assert.ok(!arp.ok);
      assert.match(arp.error, error);
    });
  }

  it('decodes operations other than request and reply, for the caller to ignore', () => {
    const arp = decodeArp(hex(`0001 0800 06 04 0008 ${rest}`));
    assert.ok(arp.ok);
    assert.equal(arp.value.operation, 8);
  });
});

describe('ARP frames the speaker sends', () => {
  const request = arpOf(ARPING_REQUEST);

  it('answers the arping request with exactly the reply Linux sends, padded to 60 bytes', () => {
    const expected = hex(
      `
      020000000001 020000000002 0806  # to the requester, from us, ARP
      0001 0800 06 04 0002            # Ethernet/IPv4, reply
      020000000002 cb00710a           # SHA = our MAC, SPA = VIP
      020000000001 c0000264           # THA = requester MAC, TPA = requester IP
    `.replaceAll(/#.*$/gm, ''),
    );
    const reply = buildArpReply(request, NODE_MAC);
    assert.deepEqual(reply, Buffer.concat([expected, PADDING]));
    assert.deepEqual(reply.subarray(0, 42), LINUX_ARP_REPLY);
  });

  it('builds the request-form gratuitous ARP with THA zero (RFC 5227 announcement)', () => {
    const expected = hex(
      `
      ffffffffffff 020000000002 0806  # broadcast, from us, ARP
      0001 0800 06 04 0001            # Ethernet/IPv4, request
      020000000002 cb00710a           # SHA = our MAC, SPA = VIP
      000000000000 cb00710a           # THA = zero, TPA = VIP
    `.replaceAll(/#.*$/gm, ''),
    );
    const garp = buildGratuitousArpRequest(VIP, NODE_MAC);
    assert.deepEqual(garp, Buffer.concat([expected, PADDING]));
    // arping -U differs only in THA (it sends ff:ff:ff:ff:ff:ff there) and pads to 58 bytes.
    assert.deepEqual(garp.subarray(0, 32), ARPING_GRATUITOUS_REQUEST.subarray(0, 32));
    assert.deepEqual(garp.subarray(38, 42), ARPING_GRATUITOUS_REQUEST.subarray(38, 42));
  });

  it('builds the reply-form gratuitous ARP with THA = SHA, which Linux accepts as gratuitous', () => {
    const expected = hex(
      `
      ffffffffffff 020000000002 0806  # broadcast, from us, ARP
      0001 0800 06 04 0002            # Ethernet/IPv4, reply
      020000000002 cb00710a           # SHA = our MAC, SPA = VIP
      020000000002 cb00710a           # THA = our MAC, TPA = VIP
    `.replaceAll(/#.*$/gm, ''),
    );
    const garp = buildGratuitousArpReply(VIP, NODE_MAC);
    assert.deepEqual(garp, Buffer.concat([expected, PADDING]));
    const decoded = arpOf(garp);
    assert.deepEqual(decoded.targetMac, decoded.senderMac);
    assert.notDeepEqual(arpOf(ARPING_GRATUITOUS_REPLY).targetMac, arpOf(ARPING_GRATUITOUS_REPLY).senderMac);
  });

  it('refuses a MAC or address of the wrong length', () => {
    assert.throws(
      () => buildGratuitousArpRequest(hex('20010db8000000000000000000000010'), NODE_MAC),
      RangeError,
    );
    assert.throws(() => buildGratuitousArpReply(VIP, NODE_MAC.subarray(0, 5)), RangeError);
    assert.throws(() => encodeArp({ ...request, operation: -1 }), RangeError);
  });
});

describe('ARP codec properties', () => {
  const packetArb = fc.record({
    operation: fc.oneof(fc.constantFrom(ARP_REQUEST, ARP_REPLY), fc.integer({ min: 0, max: 0xffff })),
    senderMac: macArb,
    senderIp: ipv4Arb,
    targetMac: macArb,
    targetIp: ipv4Arb,
  });

  it('round-trips: decode(encode(packet)) is the packet', () => {
    fc.assert(
      fc.property(packetArb, (packet) =>
        assert.deepEqual(decodeArp(encodeArp(packet)), { ok: true, value: { ...packet } }),
      ),
    );
  });

  it('never throws on random or damaged packets, and explains each rejection on one line', () => {
    fc.assert(
      fc.property(fc.oneof(anyBytes(64), mutated(packetArb.map(encodeArp))), (bytes) => {
        const arp = decodeArp(bytes);
        if (!arp.ok) assert.doesNotMatch(arp.error, /\n/);
      }),
      { numRuns: 2000 },
    );
  });

  it('builds replies that decode to what the requester needs', () => {
    fc.assert(
      fc.property(packetArb, macArb, (request, ourMac) => {
        const frame = decodeEthernet(buildArpReply(request, ourMac));
        assert.ok(frame.ok);
        assert.deepEqual(frame.value.destination, request.senderMac);
        assert.deepEqual(frame.value.source, ourMac);
        assert.deepEqual(decodeArp(frame.value.payload), {
          ok: true,
          value: {
            operation: ARP_REPLY,
            senderMac: ourMac,
            senderIp: request.targetIp,
            targetMac: request.senderMac,
            targetIp: request.senderIp,
          },
        });
      }),
    );
  });
});
