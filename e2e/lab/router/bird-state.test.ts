import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBirdBfdSessions, parseBirdProtocols, parseBirdRoutes } from './bird-state.js';

// Trimmed from BIRD 2.0.12 in the lab.
const PROTOCOLS = `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     21:41:25.795

kernel4    Kernel     master4    up     21:41:25.795
  Channel ipv4
    State:          UP
    Routes:         0 imported, 1 exported, 0 preferred

nodes_v4   BGP        ---        start  21:41:25.795  Passive
  BGP state:          Passive
    Neighbor range:   192.0.2.0/24
    Neighbor AS:      64512
  Channel ipv4
    State:          DOWN

node_v4_1  BGP        ---        up     21:41:26.371  Established
  BGP state:          Established
    Neighbor address: 192.0.2.11
    Neighbor AS:      64512
    Local AS:         64500
  Channel ipv4
    State:          UP
    Table:          master4
    Routes:         1 imported, 0 exported, 1 preferred
    Route change stats:     received   rejected   filtered    ignored   accepted
      Import updates:              1          0          0          0          1
  Channel ipv6
    State:          DOWN

node_v6_2  BGP        ---        start  21:43:36.147  Active        Socket: Connection refused
  BGP state:          Active
    Neighbor address: 2001:db8:0:1::12
    Neighbor AS:      64512
    Connect delay:    1.808/5
    Last error:       BFD session down
`;

const BFD = `BIRD 2.0.12 ready.
bfd1:
IP address                Interface  State      Since         Interval  Timeout
192.0.2.12                eth0       Up         21:41:26.683    0.100    0.300
2001:db8:0:1::13          eth0       Down       21:41:31.098    1.000    0.000
`;

const ROUTES = `BIRD 2.0.12 ready.
Table master4:
203.0.113.10/32      unicast [node_v4_1 21:41:26.371] * (100) [AS64512i]
\tvia 192.0.2.11 on eth0
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 64512
\tBGP.next_hop: 192.0.2.11
\tBGP.local_pref: 100
                     unicast [node_v4_2 21:41:26.653] (100) [AS64512i]
\tvia 192.0.2.12 on eth0
\tType: BGP univ
\tBGP.as_path: 64512
\tBGP.next_hop: 192.0.2.12
`;

describe('BIRD state parsers', () => {
  const peers = parseBirdProtocols(PROTOCOLS);

  it('reads the BGP sessions with their state, skipping the listeners', () => {
    assert.deepEqual(peers, [
      { protocol: 'node_v4_1', address: '192.0.2.11', state: 'Established', prefixesReceived: 1 },
      { protocol: 'node_v6_2', address: '2001:db8:0:1::12', state: 'Active', prefixesReceived: 0 },
    ]);
  });

  it('reads BFD sessions with interval and multiplier', () => {
    assert.deepEqual(parseBirdBfdSessions(BFD), [
      { peer: '192.0.2.12', state: 'Up', intervalMs: 100, multiplier: 3 },
      { peer: '2001:db8:0:1::13', state: 'Down', intervalMs: 1000, multiplier: 0 },
    ]);
  });

  it('reads each path of a prefix with next hop, AS path, best flag and peer address', () => {
    assert.deepEqual(parseBirdRoutes(ROUTES, peers), [
      { prefix: '203.0.113.10/32', nextHop: '192.0.2.11', peer: '192.0.2.11', asPath: [64512], best: true },
      { prefix: '203.0.113.10/32', nextHop: '192.0.2.12', peer: undefined, asPath: [64512], best: false },
    ]);
  });

  it('reads nothing from "Network not found"', () => {
    assert.deepEqual(parseBirdRoutes('BIRD 2.0.12 ready.\nNetwork not found\n'), []);
  });
});
