import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIpRoutes } from './kernel-routes.js';

describe('kernel route parser', () => {
  it('reads the next hops of an ECMP route (iproute2 6.1, FRR with nexthop objects)', () => {
    const text = JSON.stringify([
      {
        dst: '203.0.113.10',
        nhid: 29,
        protocol: 'bgp',
        metric: 20,
        flags: [],
        nexthops: [
          { gateway: '192.0.2.11', dev: 'eth0', weight: 1, flags: [] },
          { gateway: '192.0.2.12', dev: 'eth0', weight: 1, flags: [] },
        ],
      },
    ]);
    assert.deepEqual(parseIpRoutes(text), [
      { gateway: '192.0.2.11', dev: 'eth0', weight: 1 },
      { gateway: '192.0.2.12', dev: 'eth0', weight: 1 },
    ]);
  });

  it('reads a single-next-hop route from its gateway field', () => {
    const text =
      '[{"dst":"2001:db8:0:100::10","gateway":"2001:db8:0:1::13","dev":"eth0","protocol":"bird","metric":32,"flags":[],"pref":"medium"}]';
    assert.deepEqual(parseIpRoutes(text), [{ gateway: '2001:db8:0:1::13', dev: 'eth0' }]);
  });

  it('reads no next hops when there is no route, or one that forwards nowhere', () => {
    assert.deepEqual(parseIpRoutes('[]'), []);
    assert.deepEqual(parseIpRoutes(''), []);
    assert.deepEqual(parseIpRoutes('[{"type":"blackhole","dst":"203.0.113.10","flags":[]}]'), []);
  });
});
