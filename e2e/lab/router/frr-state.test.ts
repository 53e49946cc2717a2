import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFrrBfdPeers, parseFrrRoute, parseFrrSummary } from './frr-state.js';

// Trimmed from FRR 8.4.4 in the lab: three nodes, each with a v4 and a v6 session.
const peer = (state: string, pfxRcd: number) => ({ dynamicPeer: true, remoteAs: 64512, state, pfxRcd });
const SUMMARY = JSON.stringify({
  ipv4Unicast: {
    routerId: '192.0.2.1',
    as: 64500,
    peers: {
      '192.0.2.11': peer('Established', 1),
      '192.0.2.12': peer('Established', 1),
      '2001:db8:0:1::11': peer('Established', 0),
    },
  },
  ipv6Unicast: {
    peers: {
      '192.0.2.11': peer('Established', 0),
      '192.0.2.12': peer('Established', 0),
      '2001:db8:0:1::11': peer('Established', 1),
    },
  },
});

describe('FRR state parsers', () => {
  it('merges a session’s address families into one peer, summing received prefixes', () => {
    assert.deepEqual(parseFrrSummary(SUMMARY), [
      { address: '192.0.2.11', state: 'Established', prefixesReceived: 1 },
      { address: '192.0.2.12', state: 'Established', prefixesReceived: 1 },
      { address: '2001:db8:0:1::11', state: 'Established', prefixesReceived: 1 },
    ]);
  });

  it('reads no peers from an empty summary, and non-established states as such', () => {
    assert.deepEqual(parseFrrSummary('{\n}\n'), []);
    const text = JSON.stringify({ ipv4Unicast: { peers: { '192.0.2.13': { state: 'Active' } } } });
    assert.deepEqual(parseFrrSummary(text), [
      { address: '192.0.2.13', state: 'Active', prefixesReceived: 0 },
    ]);
  });

  it('reads BFD peers with their state and timers', () => {
    const text = JSON.stringify([
      {
        peer: '192.0.2.13',
        status: 'up',
        'receive-interval': 100,
        'detect-multiplier': 3,
        interface: 'eth0',
      },
      { peer: '192.0.2.12', status: 'down', 'receive-interval': 100, 'detect-multiplier': 3 },
    ]);
    assert.deepEqual(parseFrrBfdPeers(text), [
      { peer: '192.0.2.13', state: 'Up', intervalMs: 100, multiplier: 3 },
      { peer: '192.0.2.12', state: 'Down', intervalMs: 100, multiplier: 3 },
    ]);
  });

  it('reads a prefix’s paths with the next hop FRR uses (the global one for IPv6)', () => {
    const path = (ip: string, best: boolean) => ({
      aspath: { string: '64512', segments: [{ type: 'as-sequence', list: [64512] }], length: 1 },
      multipath: true,
      ...(best ? { bestpath: { overall: true, selectionReason: 'Older Path' } } : {}),
      nexthops: [
        { ip, afi: 'ipv6', scope: 'global', used: true },
        { ip: 'fe80::b007:a4ff:fe3c:f4ef', afi: 'ipv6', scope: 'link-local' },
      ],
      peer: { peerId: ip, routerId: '192.0.2.11', type: 'external' },
    });
    const text = JSON.stringify({
      prefix: '2001:db8:0:100::10/128',
      paths: [path('2001:db8:0:1::11', true), path('2001:db8:0:1::12', false)],
    });
    assert.deepEqual(parseFrrRoute(text), [
      {
        prefix: '2001:db8:0:100::10/128',
        nextHop: '2001:db8:0:1::11',
        peer: '2001:db8:0:1::11',
        asPath: [64512],
        best: true,
        multipath: true,
      },
      {
        prefix: '2001:db8:0:100::10/128',
        nextHop: '2001:db8:0:1::12',
        peer: '2001:db8:0:1::12',
        asPath: [64512],
        best: false,
        multipath: true,
      },
    ]);
  });

  it('reads no paths for a prefix the router does not have', () => {
    assert.deepEqual(parseFrrRoute('{\n}\n'), []);
  });
});
