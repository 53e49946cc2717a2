import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ARP_REPLY, ARP_REQUEST, decodeArp, encodeArp, encodeArpFrame } from './arp.js';
import { ARP_IGNORE_REASONS, type ArpDecision, respondToArp } from './arp-responder.js';
import { decodeEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4, encodeEthernet } from './ethernet.js';
import { BROADCAST_MAC } from './mac.js';
import {
  type AnnouncementLookup,
  type L2Interface,
  PACKET_TYPES,
  type PacketType,
  type VipAnnouncement,
} from './responder-context.js';
import { anyBytes, ipv4Arb, macArb, mutated, unicastMacArb } from './testdata/arbitraries.js';
import {
  ARPING_GRATUITOUS_REPLY,
  ARPING_REQUEST,
  CLIENT_MAC,
  LINUX_ARP_REPLY,
  NODE_MAC,
} from './testdata/lab-captures.js';

const hex = (text: string): Buffer => Buffer.from(text.replaceAll(/\s+/g, ''), 'hex');
const ETH0: L2Interface = { name: 'eth0', index: 2, mac: NODE_MAC };
const VIP = hex('cb00710a');
const CLIENT_IP = hex('c0000264');

/** Announces 203.0.113.10 on eth0 only; records what it was asked. */
function lookupFor(table: Record<string, VipAnnouncement> = { '203.0.113.10@eth0': 'announce' }) {
  const asked: string[] = [];
  const lookup: AnnouncementLookup = (vip, interfaceName) => {
    asked.push(`${vip}@${interfaceName}`);
    return table[`${vip}@${interfaceName}`] ?? 'not-owned';
  };
  return { lookup, asked };
}

const requestFrame = (
  overrides: {
    destination?: Buffer;
    source?: Buffer;
    operation?: number;
    senderMac?: Buffer;
    senderIp?: Buffer;
    targetIp?: Buffer;
  } = {},
): Buffer =>
  encodeArpFrame(overrides.destination ?? BROADCAST_MAC, overrides.source ?? CLIENT_MAC, {
    operation: overrides.operation ?? ARP_REQUEST,
    senderMac: overrides.senderMac ?? CLIENT_MAC,
    senderIp: overrides.senderIp ?? CLIENT_IP,
    targetMac: Buffer.alloc(6),
    targetIp: overrides.targetIp ?? VIP,
  });

describe('respondToArp', () => {
  it('answers a captured broadcast arping request for an owned VIP with the reply Linux would send', () => {
    const { lookup, asked } = lookupFor();
    const decision = respondToArp(ARPING_REQUEST, ETH0, lookup, 'broadcast');
    assert.equal(decision.action, 'reply');
    assert.equal(decision.vip, '203.0.113.10');
    assert.deepEqual(decision.frame, Buffer.concat([LINUX_ARP_REPLY, Buffer.alloc(18)]));
    assert.deepEqual(asked, ['203.0.113.10@eth0']);
  });

  it('answers a request unicast to our MAC (a neighbor re-checking its entry)', () => {
    const decision = respondToArp(requestFrame({ destination: NODE_MAC }), ETH0, lookupFor().lookup, 'host');
    assert.equal(decision.action, 'reply');
  });

  it('answers an ARP probe from 0.0.0.0 (RFC 5227), back to the prober, as Linux does', () => {
    const decision = respondToArp(requestFrame({ senderIp: hex('00000000') }), ETH0, lookupFor().lookup);
    assert.equal(decision.action, 'reply');
    const frame = decodeEthernet(decision.frame);
    assert.ok(frame.ok);
    assert.deepEqual(frame.value.destination, CLIENT_MAC);
    const arp = decodeArp(frame.value.payload);
    assert.ok(arp.ok);
    assert.deepEqual(arp.value.targetIp, hex('00000000'));
  });

  const silent: [string, () => ArpDecision, ArpDecision][] = [
    [
      'a frame our own socket sent',
      () => respondToArp(ARPING_REQUEST, ETH0, lookupFor().lookup, 'outgoing'),
      { action: 'ignore', reason: 'own-frame' },
    ],
    [
      'a frame from our own MAC',
      () => respondToArp(requestFrame({ source: NODE_MAC }), ETH0, lookupFor().lookup),
      { action: 'ignore', reason: 'own-frame' },
    ],
    [
      'a frame the kernel marked for another host',
      () => respondToArp(ARPING_REQUEST, ETH0, lookupFor().lookup, 'other-host'),
      { action: 'ignore', reason: 'other-host' },
    ],
    [
      'a frame still carrying a VLAN tag',
      () =>
        respondToArp(
          encodeEthernet({
            destination: BROADCAST_MAC,
            source: CLIENT_MAC,
            vlanIds: [100],
            etherType: ETHERTYPE_ARP,
            payload: decodeEthernetPayload(ARPING_REQUEST),
          }),
          ETH0,
          lookupFor().lookup,
        ),
      { action: 'ignore', reason: 'vlan-tagged' },
    ],
    [
      'an IPv4 frame',
      () =>
        respondToArp(
          encodeEthernet({
            destination: NODE_MAC,
            source: CLIENT_MAC,
            etherType: ETHERTYPE_IPV4,
            payload: Buffer.alloc(28),
          }),
          ETH0,
          lookupFor().lookup,
        ),
      { action: 'ignore', reason: 'not-arp' },
    ],
    [
      'a request unicast to another MAC',
      () => respondToArp(requestFrame({ destination: hex('020000000009') }), ETH0, lookupFor().lookup),
      { action: 'ignore', reason: 'not-addressed-to-us' },
    ],
    [
      'a frame too short for an Ethernet header',
      () => respondToArp(ARPING_REQUEST.subarray(0, 10), ETH0, lookupFor().lookup),
      {
        action: 'ignore',
        reason: 'malformed',
        detail: 'Ethernet frame is 10 bytes, shorter than the 14-byte header',
      },
    ],
    [
      'a truncated ARP packet',
      () => respondToArp(ARPING_REQUEST.subarray(0, 30), ETH0, lookupFor().lookup),
      {
        action: 'ignore',
        reason: 'malformed',
        detail: 'ARP packet is 16 bytes, shorter than the 28 bytes Ethernet/IPv4 needs',
      },
    ],
    [
      "another host's gratuitous reply",
      () => respondToArp(ARPING_GRATUITOUS_REPLY, { ...ETH0, mac: hex('020000000007') }, lookupFor().lookup),
      { action: 'ignore', reason: 'reply', vip: '203.0.113.10' },
    ],
    [
      'an InARP request',
      () => respondToArp(requestFrame({ operation: 8 }), ETH0, lookupFor().lookup),
      { action: 'ignore', reason: 'unsupported-operation', vip: '203.0.113.10' },
    ],
    [
      'a request whose sender MAC is multicast',
      () => respondToArp(requestFrame({ senderMac: hex('010000000001') }), ETH0, lookupFor().lookup),
      { action: 'ignore', reason: 'invalid-sender', vip: '203.0.113.10' },
    ],
    [
      'a request for an address this node does not own',
      () => respondToArp(requestFrame({ targetIp: hex('cb00710b') }), ETH0, lookupFor().lookup),
      { action: 'ignore', reason: 'not-owned', vip: '203.0.113.11' },
    ],
    [
      'a request on an interface the advertisement does not allow',
      () =>
        respondToArp(
          requestFrame(),
          ETH0,
          lookupFor({ '203.0.113.10@eth0': 'interface-not-allowed' }).lookup,
        ),
      { action: 'ignore', reason: 'interface-not-allowed', vip: '203.0.113.10' },
    ],
  ];

  for (const [name, decide, expected] of silent) {
    it(`stays silent on ${name}`, () => assert.deepEqual(decide(), expected));
  }

  it('has an example above for every ignore reason', () => {
    const seen = new Set(
      silent.map(([, , expected]) => (expected.action === 'ignore' ? expected.reason : '')),
    );
    assert.deepEqual([...seen].sort(), [...ARP_IGNORE_REASONS].sort());
  });

  it('does not consult ownership for frames it drops earlier', () => {
    const { lookup, asked } = lookupFor();
    respondToArp(requestFrame({ destination: hex('020000000009') }), ETH0, lookup);
    respondToArp(ARPING_GRATUITOUS_REPLY, { ...ETH0, mac: hex('020000000007') }, lookup);
    assert.deepEqual(asked, []);
  });
});

describe('respondToArp properties', () => {
  /** Mostly `likely`, sometimes anything: enough answerable requests, and every way to fail. */
  const mostly = <T>(likely: fc.Arbitrary<T>, other: fc.Arbitrary<T>): fc.Arbitrary<T> =>
    fc.oneof({ arbitrary: likely, weight: 4 }, { arbitrary: other, weight: 1 });
  const packetTypeArb = mostly(
    fc.constantFrom<PacketType | undefined>(undefined, 'broadcast', 'host'),
    fc.constantFrom<PacketType>(...PACKET_TYPES),
  );
  const requestArb = fc.record({
    destination: mostly(fc.constantFrom(BROADCAST_MAC, NODE_MAC), macArb),
    source: macArb,
    operation: mostly(fc.constant(ARP_REQUEST), fc.integer({ min: 0, max: 0xffff })),
    senderMac: mostly(unicastMacArb, macArb),
    senderIp: ipv4Arb,
    targetMac: macArb,
    targetIp: mostly(fc.constant(VIP), ipv4Arb),
  });
  const frameArb = requestArb.map(({ destination, source, ...arp }) =>
    encodeEthernet({ destination, source, etherType: ETHERTYPE_ARP, payload: encodeArp(arp) }),
  );
  const verdictArb = mostly(
    fc.constant<VipAnnouncement>('announce'),
    fc.constantFrom<VipAnnouncement>('not-owned', 'interface-not-allowed'),
  );

  it('never throws on random or damaged frames', () => {
    fc.assert(
      fc.property(
        fc.oneof(anyBytes(80), frameArb, mutated(frameArb)),
        packetTypeArb,
        verdictArb,
        (frame, packetType, verdict) => {
          const decision = respondToArp(frame, ETH0, () => verdict, packetType);
          if (decision.action === 'ignore' && decision.detail) assert.doesNotMatch(decision.detail, /\n/);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('replies exactly when a request reaches us for a VIP announced on this interface', () => {
    let replies = 0;
    fc.assert(
      fc.property(requestArb, packetTypeArb, verdictArb, (request, packetType, verdict) => {
        const { destination, source, ...arp } = request;
        const frame = encodeEthernet({
          destination,
          source,
          etherType: ETHERTYPE_ARP,
          payload: encodeArp(arp),
        });
        const decision = respondToArp(frame, ETH0, () => verdict, packetType);
        const shouldReply =
          verdict === 'announce' &&
          packetType !== 'outgoing' &&
          packetType !== 'other-host' &&
          !source.equals(NODE_MAC) &&
          (destination.equals(BROADCAST_MAC) || destination.equals(NODE_MAC)) &&
          arp.operation === ARP_REQUEST &&
          (arp.senderMac[0]! & 1) === 0 &&
          arp.senderMac.some((byte) => byte !== 0);
        assert.equal(decision.action, shouldReply ? 'reply' : 'ignore');
        if (decision.action !== 'reply') return;
        replies++;
        const reply = decodeEthernet(decision.frame);
        assert.ok(reply.ok);
        assert.equal(decision.frame.length, 60);
        assert.deepEqual(reply.value.destination, arp.senderMac);
        assert.deepEqual(reply.value.source, NODE_MAC);
        const answer = decodeArp(reply.value.payload);
        assert.ok(answer.ok);
        assert.equal(answer.value.operation, ARP_REPLY);
        assert.deepEqual(answer.value.senderIp, arp.targetIp);
      }),
      { numRuns: 2000 },
    );
    assert.ok(replies > 300, `only ${replies} of 2000 generated frames were answerable requests`);
  });
});

function decodeEthernetPayload(frame: Buffer): Buffer {
  const decoded = decodeEthernet(frame);
  assert.ok(decoded.ok);
  return decoded.value.payload;
}
