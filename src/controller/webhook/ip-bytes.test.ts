import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bytesToIp, ipToBytes } from './ip-bytes.js';

describe('IP address bytes', () => {
  it('parses IPv4 and IPv6 forms into network-order bytes', () => {
    assert.equal(ipToBytes('192.0.2.1').toString('hex'), 'c0000201');
    assert.equal(ipToBytes('::1').toString('hex'), `${'0'.repeat(30)}01`);
    assert.equal(ipToBytes('::').toString('hex'), '0'.repeat(32));
    assert.equal(ipToBytes('2001:db8::').toString('hex'), `20010db8${'0'.repeat(24)}`);
    assert.equal(ipToBytes('2001:DB8:0:0:0:0:0:1').toString('hex'), `20010db8${'0'.repeat(22)}01`);
    assert.equal(ipToBytes('::ffff:192.0.2.1').toString('hex'), `${'0'.repeat(20)}ffffc0000201`);
  });

  it('refuses what is not an address, with the text in the message', () => {
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.256',
      '01.2.3.4',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7::8',
      '12345::',
      'fe80::1%eth0',
      '1.2.3.4::',
      'example.com',
    ]) {
      assert.throws(
        () => ipToBytes(bad),
        new RegExp(`"${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" is not`),
      );
    }
  });

  it('formats IPv6 as RFC 5952 says', () => {
    assert.equal(bytesToIp(ipToBytes('2001:0db8:0000:0000:0000:0000:0000:0001')), '2001:db8::1');
    assert.equal(bytesToIp(ipToBytes('2001:db8:0:1:0:0:0:1')), '2001:db8:0:1::1', 'the longer zero run');
    assert.equal(bytesToIp(ipToBytes('2001:db8:0:1:1:1:1:1')), '2001:db8:0:1:1:1:1:1', 'one zero is not ::');
    assert.equal(bytesToIp(ipToBytes('::')), '::');
  });

  it('agrees with node:net and round-trips every address', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
        const bytes = ipToBytes(ip);
        assert.equal(bytes.length, isIP(ip) === 4 ? 4 : 16);
        assert.deepEqual(ipToBytes(bytesToIp(bytes)), bytes);
      }),
    );
  });
});
