import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ALL_NODES,
  ipv6MulticastMac,
  isSolicitedNodeAddress,
  isSolicitedNodeAddressOf,
  solicitedNodeAddress,
} from './ndp-addresses.js';
import { ipv6Arb } from './testdata/arbitraries.js';

const hex = (text: string): Buffer => Buffer.from(text, 'hex');
const VIP6 = hex('20010db8000000000000000000000010');

describe('NDP multicast addresses', () => {
  it('derives ff02::1:ff00:10 and 33:33:ff:00:00:10 from 2001:db8::10', () => {
    const group = solicitedNodeAddress(VIP6);
    assert.deepEqual(group, hex('ff0200000000000000000001ff000010'));
    assert.deepEqual(ipv6MulticastMac(group), hex('3333ff000010'));
  });

  it('keeps the low 24 bits of the target', () => {
    assert.deepEqual(
      solicitedNodeAddress(hex('20010db8000000000000000000abcdef')),
      hex('ff0200000000000000000001ffabcdef'),
    );
  });

  it('maps ff02::1 to 33:33:00:00:00:01', () => {
    assert.deepEqual(ALL_NODES, hex('ff020000000000000000000000000001'));
    assert.deepEqual(ipv6MulticastMac(ALL_NODES), hex('333300000001'));
  });

  it('recognises a solicited-node group, and whose it is', () => {
    fc.assert(
      fc.property(ipv6Arb, ipv6Arb, (target, other) => {
        const group = solicitedNodeAddress(target);
        assert.ok(isSolicitedNodeAddress(group));
        assert.ok(isSolicitedNodeAddressOf(group, target));
        assert.equal(isSolicitedNodeAddressOf(group, other), target.subarray(13).equals(other.subarray(13)));
      }),
    );
    assert.ok(!isSolicitedNodeAddress(ALL_NODES));
    assert.ok(!isSolicitedNodeAddress(VIP6));
    assert.ok(!isSolicitedNodeAddressOf(solicitedNodeAddress(VIP6), Buffer.alloc(4)));
  });
});
