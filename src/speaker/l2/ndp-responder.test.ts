import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { verifyIcmpv6Checksum } from './icmpv6-checksum.js';
import { decodeNdp, encodeNdp, type NeighborSolicitation } from './ndp.js';
import { ALL_NODES, solicitedNodeAddress } from './ndp-addresses.js';
import {
  type Icmpv6Metadata,
  NDP_IGNORE_REASONS,
  type NdpDecision,
  respondToNeighborSolicitation,
} from './ndp-responder.js';
import type { AnnouncementLookup, L2Interface, VipAnnouncement } from './responder-context.js';
import { anyBytes, ipv6Arb, macArb, mutated, unicastIpv6Arb } from './testdata/arbitraries.js';
import {
  CLIENT_MAC,
  ICMPV6_OFFSET,
  LINUX_DAD_SOLICITATION,
  LINUX_NEIGHBOR_ADVERTISEMENT,
  LINUX_NEIGHBOR_SOLICITATION,
  NODE_MAC,
} from './testdata/lab-captures.js';

const hex = (text: string): Buffer => Buffer.from(text.replaceAll(/\s+/g, ''), 'hex');
const ETH0: L2Interface = { name: 'eth0', index: 2, mac: NODE_MAC };
const VIP6 = hex('20010db8000000000000000000000010');
const CLIENT6 = hex('20010db8000000000000000000000001');
const UNSPECIFIED = Buffer.alloc(16);
const icmpv6Of = (frame: Buffer): Buffer => frame.subarray(ICMPV6_OFFSET);

function lookupFor(table: Record<string, VipAnnouncement> = { '2001:db8::10@eth0': 'announce' }) {
  const asked: string[] = [];
  const lookup: AnnouncementLookup = (vip, interfaceName) => {
    asked.push(`${vip}@${interfaceName}`);
    return table[`${vip}@${interfaceName}`] ?? 'not-owned';
  };
  return { lookup, asked };
}

const resolution: Icmpv6Metadata = {
  source: CLIENT6,
  destination: solicitedNodeAddress(VIP6),
  hopLimit: 255,
  interfaceIndex: 2,
};

const solicitation = (fields: Partial<NeighborSolicitation> = {}): Buffer =>
  encodeNdp({
    kind: 'neighbor-solicitation',
    code: 0,
    target: VIP6,
    sourceLinkAddress: CLIENT_MAC,
    ...fields,
  });

function replyOf(decision: NdpDecision) {
  assert.equal(decision.action, 'reply', JSON.stringify(decision));
  return decision;
}

describe('respondToNeighborSolicitation', () => {
  it('answers the captured Linux solicitation with exactly the advertisement Linux sends', () => {
    const { lookup, asked } = lookupFor();
    const reply = replyOf(
      respondToNeighborSolicitation(icmpv6Of(LINUX_NEIGHBOR_SOLICITATION), resolution, ETH0, lookup),
    );
    assert.equal(reply.vip, '2001:db8::10');
    assert.equal(reply.purpose, 'address-resolution');
    assert.deepEqual(reply.advertisement, {
      message: icmpv6Of(LINUX_NEIGHBOR_ADVERTISEMENT),
      source: VIP6,
      destination: CLIENT6,
    });
    assert.deepEqual(reply.destinationMac, CLIENT_MAC);
    assert.deepEqual(asked, ['2001:db8::10@eth0']);
  });

  it('answers unicast NUD probes without a Source LL option (metallb/metallb#2920)', () => {
    const reply = replyOf(
      respondToNeighborSolicitation(
        solicitation({ sourceLinkAddress: undefined }),
        { ...resolution, destination: VIP6 },
        ETH0,
        lookupFor().lookup,
      ),
    );
    assert.equal(reply.purpose, 'unreachability-detection');
    assert.deepEqual(reply.advertisement.destination, CLIENT6);
    assert.equal(reply.destinationMac, undefined);
    const na = decodeNdp(reply.advertisement.message);
    assert.ok(na.ok);
    assert.deepEqual(na.value.message, {
      kind: 'neighbor-advertisement',
      router: false,
      solicited: true,
      override: true,
      code: 0,
      target: VIP6,
      targetLinkAddress: NODE_MAC,
    });
  });

  it('defends an owned VIP against a DAD probe: S=0, O=1, to ff02::1 (RFC 4861 section 7.2.4)', () => {
    const reply = replyOf(
      respondToNeighborSolicitation(
        icmpv6Of(LINUX_DAD_SOLICITATION),
        { ...resolution, source: UNSPECIFIED },
        ETH0,
        lookupFor().lookup,
      ),
    );
    assert.equal(reply.purpose, 'duplicate-address-detection');
    assert.deepEqual(reply.advertisement.source, VIP6);
    assert.deepEqual(reply.advertisement.destination, ALL_NODES);
    assert.deepEqual(reply.destinationMac, hex('333300000001'));
    assert.deepEqual(
      reply.advertisement.message,
      hex('8800 f90b 20000000 20010db8000000000000000000000010 0201 020000000002'),
    );
  });

  const silent: [string, () => NdpDecision, NdpDecision][] = [
    [
      'a message from another interface',
      () =>
        respondToNeighborSolicitation(
          solicitation(),
          { ...resolution, interfaceIndex: 3 },
          ETH0,
          lookupFor().lookup,
        ),
      { action: 'ignore', reason: 'wrong-interface' },
    ],
    [
      'a solicitation that crossed a router (hop limit 254)',
      () =>
        respondToNeighborSolicitation(
          solicitation(),
          { ...resolution, hopLimit: 254 },
          ETH0,
          lookupFor().lookup,
        ),
      { action: 'ignore', reason: 'hop-limit-not-255' },
    ],
    [
      'a neighbor advertisement',
      () =>
        respondToNeighborSolicitation(
          icmpv6Of(LINUX_NEIGHBOR_ADVERTISEMENT),
          resolution,
          ETH0,
          lookupFor().lookup,
        ),
      { action: 'ignore', reason: 'not-neighbor-solicitation' },
    ],
    [
      'a solicitation with a zero-length option',
      () =>
        respondToNeighborSolicitation(
          Buffer.concat([solicitation({ sourceLinkAddress: undefined }), hex('0100')]),
          resolution,
          ETH0,
          lookupFor().lookup,
        ),
      {
        action: 'ignore',
        reason: 'malformed',
        detail: 'Neighbor Solicitation option source link-layer address at byte 24 has length 0',
      },
    ],
    [
      'metadata with a 4-byte source address',
      () =>
        respondToNeighborSolicitation(
          solicitation(),
          { ...resolution, source: hex('c0000264') },
          ETH0,
          lookupFor().lookup,
        ),
      { action: 'ignore', reason: 'malformed', detail: 'IPv6 source or destination address is not 16 bytes' },
    ],
    [
      'a solicitation with code 1',
      () => respondToNeighborSolicitation(solicitation({ code: 1 }), resolution, ETH0, lookupFor().lookup),
      { action: 'ignore', reason: 'nonzero-code' },
    ],
    [
      'a solicitation for a multicast target',
      () =>
        respondToNeighborSolicitation(
          solicitation({ target: ALL_NODES }),
          resolution,
          ETH0,
          lookupFor().lookup,
        ),
      { action: 'ignore', reason: 'multicast-target' },
    ],
    [
      'a solicitation from a multicast source',
      () =>
        respondToNeighborSolicitation(
          solicitation(),
          { ...resolution, source: ALL_NODES },
          ETH0,
          lookupFor().lookup,
        ),
      { action: 'ignore', reason: 'multicast-source', vip: '2001:db8::10' },
    ],
    [
      'a DAD probe carrying a Source LL option',
      () =>
        respondToNeighborSolicitation(
          solicitation(),
          { ...resolution, source: UNSPECIFIED },
          ETH0,
          lookupFor().lookup,
        ),
      { action: 'ignore', reason: 'dad-with-source-link-address', vip: '2001:db8::10' },
    ],
    [
      'a DAD probe not sent to the solicited-node group',
      () =>
        respondToNeighborSolicitation(
          icmpv6Of(LINUX_DAD_SOLICITATION),
          { ...resolution, source: UNSPECIFIED, destination: ALL_NODES },
          ETH0,
          lookupFor().lookup,
        ),
      { action: 'ignore', reason: 'dad-not-to-solicited-node', vip: '2001:db8::10' },
    ],
    [
      'a solicitation for an address this node does not own',
      () =>
        respondToNeighborSolicitation(
          solicitation({ target: CLIENT6 }),
          resolution,
          ETH0,
          lookupFor().lookup,
        ),
      { action: 'ignore', reason: 'not-owned', vip: '2001:db8::1' },
    ],
    [
      'a solicitation on an interface the advertisement does not allow',
      () =>
        respondToNeighborSolicitation(
          solicitation(),
          resolution,
          ETH0,
          lookupFor({ '2001:db8::10@eth0': 'interface-not-allowed' }).lookup,
        ),
      { action: 'ignore', reason: 'interface-not-allowed', vip: '2001:db8::10' },
    ],
  ];

  for (const [name, decide, expected] of silent) {
    it(`stays silent on ${name}`, () => assert.deepEqual(decide(), expected));
  }

  it('has an example above for every ignore reason', () => {
    const seen = new Set(
      silent.map(([, , expected]) => (expected.action === 'ignore' ? expected.reason : '')),
    );
    assert.deepEqual([...seen].sort(), [...NDP_IGNORE_REASONS].sort());
  });

  it('does not alias its inputs in the advertisement', () => {
    const source = Buffer.from(CLIENT6);
    const reply = replyOf(
      respondToNeighborSolicitation(solicitation(), { ...resolution, source }, ETH0, lookupFor().lookup),
    );
    source.fill(0);
    assert.deepEqual(reply.advertisement.destination, CLIENT6);
  });
});

describe('respondToNeighborSolicitation properties', () => {
  /** Mostly `likely`, sometimes anything: enough answerable solicitations, and every way to fail. */
  const mostly = <T>(likely: fc.Arbitrary<T>, other: fc.Arbitrary<T>): fc.Arbitrary<T> =>
    fc.oneof({ arbitrary: likely, weight: 4 }, { arbitrary: other, weight: 1 });
  const nsArb = fc.record(
    {
      kind: fc.constant('neighbor-solicitation' as const),
      code: mostly(fc.constant(0), fc.integer({ min: 0, max: 255 })),
      target: mostly(fc.constant(VIP6), ipv6Arb),
      sourceLinkAddress: macArb,
    },
    { requiredKeys: ['kind', 'code', 'target'] },
  );
  const metadataArb: fc.Arbitrary<Icmpv6Metadata> = fc.record({
    source: mostly(fc.constantFrom(CLIENT6, UNSPECIFIED), fc.oneof(ipv6Arb, anyBytes(20))),
    destination: mostly(fc.constantFrom(solicitedNodeAddress(VIP6), VIP6), fc.oneof(ipv6Arb, anyBytes(20))),
    hopLimit: mostly(fc.constant(255), fc.integer({ min: 0, max: 255 })),
    interfaceIndex: mostly(fc.constant(2), fc.nat()),
  });
  const verdictArb = mostly(
    fc.constant<VipAnnouncement>('announce'),
    fc.constantFrom<VipAnnouncement>('not-owned', 'interface-not-allowed'),
  );

  it('never throws on random or damaged messages and metadata', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyBytes(80),
          nsArb.map((ns) => encodeNdp(ns)),
          mutated(nsArb.map((ns) => encodeNdp(ns))),
        ),
        metadataArb,
        verdictArb,
        (message, metadata, verdict) =>
          void respondToNeighborSolicitation(message, metadata, ETH0, () => verdict),
      ),
      { numRuns: 3000 },
    );
  });

  it('answers only valid solicitations for announced VIPs, always with our MAC, O=1 and a valid checksum', () => {
    let replies = 0;
    fc.assert(
      fc.property(nsArb, metadataArb, verdictArb, (ns, metadata, verdict) => {
        const decision = respondToNeighborSolicitation(encodeNdp(ns), metadata, ETH0, () => verdict);
        if (decision.action !== 'reply') return;
        replies++;
        const isDad = metadata.source.length === 16 && metadata.source.every((byte) => byte === 0);
        assert.equal(verdict, 'announce');
        assert.equal(metadata.hopLimit, 255);
        assert.equal(metadata.interfaceIndex, 2);
        assert.equal(ns.code, 0);
        assert.notEqual(ns.target[0], 0xff);
        assert.equal(isDad && ns.sourceLinkAddress !== undefined, false);
        const { message, source, destination } = decision.advertisement;
        assert.ok(verifyIcmpv6Checksum(source, destination, message));
        assert.deepEqual(source, ns.target);
        assert.deepEqual(destination, isDad ? ALL_NODES : metadata.source);
        const na = decodeNdp(message);
        assert.ok(na.ok);
        assert.deepEqual(na.value.message, {
          kind: 'neighbor-advertisement',
          router: false,
          solicited: !isDad,
          override: true,
          code: 0,
          target: ns.target,
          targetLinkAddress: NODE_MAC,
        });
      }),
      { numRuns: 3000 },
    );
    assert.ok(replies > 300, `only ${replies} of 3000 generated solicitations were answered`);
  });

  it('answers any unicast source asking for an owned VIP', () => {
    fc.assert(
      fc.property(unicastIpv6Arb, (source) => {
        const decision = respondToNeighborSolicitation(
          solicitation(),
          { ...resolution, source },
          ETH0,
          lookupFor().lookup,
        );
        assert.equal(decision.action, 'reply');
      }),
    );
  });
});
