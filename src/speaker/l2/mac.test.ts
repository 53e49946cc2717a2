import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BROADCAST_MAC,
  formatMac,
  isBroadcastMac,
  isMulticastMac,
  isUnicastMac,
  isZeroMac,
  parseMac,
  ZERO_MAC,
} from './mac.js';
import { anyBytes, macArb } from './testdata/arbitraries.js';

describe('parseMac / formatMac', () => {
  it('parses the colon form in either case and formats it in lower case', () => {
    const parsed = parseMac('02:00:5E:10:0a:FF');
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value, Buffer.from([0x02, 0x00, 0x5e, 0x10, 0x0a, 0xff]));
    assert.equal(formatMac(parsed.value), '02:00:5e:10:0a:ff');
  });

  for (const text of [
    '',
    '02:00:5e:10:00',
    '02:00:5e:10:00:01:02',
    '02-00-5e-10-00-01',
    '2:0:5e:10:0:1',
    'zz:00:5e:10:00:01',
    ' 02:00:5e:10:00:01',
  ]) {
    it(`rejects ${JSON.stringify(text)} with a one-line reason`, () => {
      const parsed = parseMac(text);
      assert.ok(!parsed.ok);
      assert.match(parsed.error, /is not a MAC address/);
      assert.doesNotMatch(parsed.error, /\n/);
    });
  }

  it('round-trips every MAC', () => {
    fc.assert(
      fc.property(macArb, (mac) => {
        const parsed = parseMac(formatMac(mac));
        assert.ok(parsed.ok);
        assert.deepEqual(parsed.value, mac);
      }),
    );
  });

  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string(), (text) => void parseMac(text)));
  });

  it('refuses to format anything but 6 bytes', () => {
    assert.throws(() => formatMac(Buffer.alloc(5)), RangeError);
  });
});

describe('MAC classes', () => {
  it('knows broadcast, multicast, zero and unicast', () => {
    const mac = (text: string): Buffer => {
      const parsed = parseMac(text);
      assert.ok(parsed.ok);
      return parsed.value;
    };
    assert.ok(isBroadcastMac(BROADCAST_MAC));
    assert.ok(isMulticastMac(BROADCAST_MAC));
    assert.ok(isMulticastMac(mac('33:33:ff:00:00:10')));
    assert.ok(isMulticastMac(mac('01:00:5e:00:00:01')));
    assert.ok(!isMulticastMac(mac('02:00:00:00:00:01')));
    assert.ok(isZeroMac(ZERO_MAC));
    assert.ok(isUnicastMac(mac('02:00:00:00:00:01')));
    assert.ok(!isUnicastMac(ZERO_MAC));
    assert.ok(!isUnicastMac(BROADCAST_MAC));
    assert.ok(!isUnicastMac(mac('33:33:00:00:00:01')));
  });

  it('says no for anything that is not 6 bytes', () => {
    fc.assert(
      fc.property(
        anyBytes(12).filter((bytes) => bytes.length !== 6),
        (bytes) =>
          !isBroadcastMac(bytes) && !isMulticastMac(bytes) && !isZeroMac(bytes) && !isUnicastMac(bytes),
      ),
    );
  });
});
