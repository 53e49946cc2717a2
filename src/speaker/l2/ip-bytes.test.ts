import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ipToText,
  ipv4ToText,
  ipv6ToText,
  isMulticastIpv6,
  isUnspecifiedIpv6,
  parseIpBytes,
} from './ip-bytes.js';
import { ipv4Arb, ipv6Arb } from './testdata/arbitraries.js';

const hex = (text: string): Buffer => Buffer.from(text, 'hex');

describe('IP bytes and text', () => {
  it('formats IPv4 as a dotted quad and IPv6 as RFC 5952 text', () => {
    assert.equal(ipv4ToText(hex('cb00710a')), '203.0.113.10');
    assert.equal(ipv6ToText(hex('20010db8000000000000000000000010')), '2001:db8::10');
    assert.equal(ipToText(hex('c0000264')), '192.0.2.100');
    assert.equal(ipToText(hex('ff0200000000000000000001ff000010')), 'ff02::1:ff00:10');
  });

  it('parses text into bytes and canonical text', () => {
    assert.deepEqual(parseIpBytes('2001:DB8:0:0::10'), {
      ok: true,
      value: { family: 'IPv6', bytes: hex('20010db8000000000000000000000010'), text: '2001:db8::10' },
    });
    assert.deepEqual(parseIpBytes('203.0.113.10'), {
      ok: true,
      value: { family: 'IPv4', bytes: hex('cb00710a'), text: '203.0.113.10' },
    });
  });

  it('rejects what is not a single address, with the reason from the address parser', () => {
    for (const text of ['', '203.0.113.010', '203.0.113.0/24', 'fe80::1%eth0', 'vip']) {
      const parsed = parseIpBytes(text);
      assert.ok(!parsed.ok, text);
      assert.doesNotMatch(parsed.error, /\n/);
    }
  });

  it('round-trips every address through text, in a form Node accepts', () => {
    fc.assert(
      fc.property(fc.oneof(ipv4Arb, ipv6Arb), (bytes) => {
        const text = ipToText(bytes);
        assert.ok(bytes.length === 4 ? isIPv4(text) : isIPv6(text), text);
        const parsed = parseIpBytes(text);
        assert.ok(parsed.ok);
        assert.deepEqual(parsed.value.bytes, bytes);
        assert.equal(parsed.value.text, text);
      }),
    );
  });

  it('classifies the unspecified and multicast IPv6 addresses', () => {
    assert.ok(isUnspecifiedIpv6(Buffer.alloc(16)));
    assert.ok(!isUnspecifiedIpv6(Buffer.alloc(4)));
    assert.ok(isMulticastIpv6(hex('ff020000000000000000000000000001')));
    assert.ok(!isMulticastIpv6(hex('20010db8000000000000000000000010')));
  });
});
