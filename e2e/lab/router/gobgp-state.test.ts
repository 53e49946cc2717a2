import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGobgpNeighbors, parseGobgpRib } from './gobgp-state.js';

// Trimmed from gobgp 3.10 in the lab.
const family = (afi: number, received?: number) => ({
  config: { family: { afi, safi: 1 }, enabled: true },
  state: {
    family: { afi, safi: 1 },
    enabled: true,
    ...(received === undefined ? {} : { received, accepted: received }),
  },
});
const NEIGHBORS = JSON.stringify([
  {
    conf: { local_asn: 64500, peer_asn: 64512, peer_group: 'nodes', type: 1 },
    state: { neighbor_address: '192.0.2.13', peer_asn: 64512, session_state: 6, router_id: '192.0.2.13' },
    afi_safis: [family(1, 1), family(2)],
  },
  {
    conf: { local_asn: 64500, peer_asn: 64512 },
    state: { neighbor_address: '2001:db8:0:1::12', session_state: 3 },
    afi_safis: [family(1), family(2)],
  },
]);

const attrs = (nexthop: string) => [
  { type: 1, value: 0 },
  { type: 2, as_paths: [{ segment_type: 2, num: 1, asns: [64512] }] },
  nexthop.includes(':')
    ? { type: 14, nexthop, afi: 2, safi: 1, value: [{ prefix: '2001:db8:0:100::10/128' }] }
    : { type: 3, nexthop },
];

describe('GoBGP state parsers', () => {
  it('reads neighbours with named FSM states and received prefixes', () => {
    assert.deepEqual(parseGobgpNeighbors(NEIGHBORS), [
      { address: '192.0.2.13', state: 'Established', prefixesReceived: 1 },
      { address: '2001:db8:0:1::12', state: 'Active', prefixesReceived: 0 },
    ]);
  });

  it('reads no neighbours from null, and state names as well as numbers', () => {
    assert.deepEqual(parseGobgpNeighbors('null\n'), []);
    const named = JSON.stringify([
      { state: { neighbor_address: '192.0.2.11', session_state: 'ESTABLISHED' } },
    ]);
    assert.equal(parseGobgpNeighbors(named)[0]?.state, 'Established');
  });

  it('reads paths with the NEXT_HOP (v4) or MP_REACH next hop (v6)', () => {
    const v4 = JSON.stringify({
      '203.0.113.10/32': [
        {
          nlri: { prefix: '203.0.113.10/32' },
          best: true,
          attrs: attrs('192.0.2.13'),
          'neighbor-ip': '192.0.2.13',
        },
        {
          nlri: { prefix: '203.0.113.10/32' },
          best: false,
          attrs: attrs('192.0.2.12'),
          'neighbor-ip': '192.0.2.12',
        },
      ],
    });
    assert.deepEqual(parseGobgpRib(v4), [
      { prefix: '203.0.113.10/32', nextHop: '192.0.2.13', peer: '192.0.2.13', asPath: [64512], best: true },
      { prefix: '203.0.113.10/32', nextHop: '192.0.2.12', peer: '192.0.2.12', asPath: [64512], best: false },
    ]);
    const v6 = JSON.stringify({
      '2001:db8:0:100::10/128': [
        { best: true, attrs: attrs('2001:db8:0:1::11'), 'neighbor-ip': '2001:db8:0:1::11' },
      ],
    });
    assert.equal(parseGobgpRib(v6)[0]?.nextHop, '2001:db8:0:1::11');
    assert.deepEqual(parseGobgpRib('{}\n'), []);
  });
});
