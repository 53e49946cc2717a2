import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  bitString,
  boolean,
  decodeOid,
  encodeLength,
  explicit,
  generalizedTime,
  implicit,
  integer,
  namedBits,
  octetString,
  oid,
  printableString,
  readChildren,
  readTlv,
  sequence,
  set,
  utcTime,
  utf8String,
  x509Time,
} from './der.js';

const hex = (b: Buffer) => b.toString('hex');

describe('DER lengths', () => {
  it('uses the short form below 128 and the long form from 128', () => {
    assert.equal(hex(encodeLength(0)), '00');
    assert.equal(hex(encodeLength(127)), '7f');
    assert.equal(hex(encodeLength(128)), '8180');
    assert.equal(hex(encodeLength(255)), '81ff');
    assert.equal(hex(encodeLength(256)), '820100');
    assert.equal(hex(encodeLength(70000)), '83011170');
    assert.throws(() => encodeLength(-1), RangeError);
  });

  it('round-trips contents of every length form through the reader', () => {
    for (const size of [0, 1, 127, 128, 255, 256, 70000]) {
      const encoded = octetString(Buffer.alloc(size, 0xab));
      const read = readTlv(encoded);
      assert.equal(read.tag, 0x04);
      assert.equal(read.content.length, size);
      assert.equal(read.encoded.length, encoded.length);
    }
  });
});

describe('DER INTEGER', () => {
  const cases: [bigint | number, string][] = [
    [0, '020100'],
    [1, '020101'],
    [127, '02017f'],
    [128, '02020080'],
    [255, '020200ff'],
    [256, '02020100'],
    [65535, '020300ffff'],
    [2n ** 64n, '0209010000000000000000'],
    [2n ** 127n, '02110080000000000000000000000000000000'],
  ];
  for (const [value, expected] of cases) {
    it(`encodes ${value} minimally, positive`, () => assert.equal(hex(integer(value)), expected));
  }

  it('strips leading zero bytes from a magnitude and adds one back when the high bit is set', () => {
    assert.equal(hex(integer(Buffer.from([0, 0, 0x7f]))), '02017f');
    assert.equal(hex(integer(Buffer.from([0, 0, 0x80, 1]))), '0203008001');
    assert.equal(hex(integer(Buffer.alloc(3))), '020100');
    assert.equal(hex(integer(Buffer.alloc(0))), '020100');
  });

  it('refuses negative values', () => {
    assert.throws(() => integer(-1), RangeError);
  });

  it('encodes any non-negative bigint so that it reads back as the same value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 200n }), (n) => {
        const { content } = readTlv(integer(n));
        assert.ok(content.length === 1 || content[0] !== 0 || (content[1]! & 0x80) !== 0, 'minimal');
        assert.equal(content[0]! & 0x80, 0, 'positive');
        assert.equal(BigInt(`0x${content.toString('hex')}`), n);
      }),
    );
  });
});

describe('DER OBJECT IDENTIFIER', () => {
  it('encodes well-known OIDs as OpenSSL does', () => {
    assert.equal(hex(oid('2.5.4.3')), '0603550403');
    assert.equal(hex(oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
    assert.equal(hex(oid('1.3.6.1.5.5.7.3.1')), '06082b06010505070301');
    assert.equal(hex(oid('2.999.3')), '0603883703');
  });

  it('round-trips through decodeOid', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 1, 2),
        fc.nat({ max: 39 }),
        fc.array(fc.bigInt({ min: 0n, max: 2n ** 70n })),
        (a, b, rest) => {
          const dotted = [a, b, ...rest].join('.');
          assert.equal(decodeOid(readTlv(oid(dotted)).content), dotted);
        },
      ),
    );
  });

  it('refuses malformed text', () => {
    for (const bad of ['', '1', '3.1', '1.40', '1.2.', '1.02', 'a.b']) {
      assert.throws(() => oid(bad), /invalid OID/);
    }
  });
});

describe('DER strings, times and containers', () => {
  it('encodes strings and refuses characters a PrintableString cannot hold', () => {
    assert.equal(hex(utf8String('é')), '0c02c3a9');
    assert.equal(hex(printableString('US')), '13025553');
    assert.throws(() => printableString('a@b'), /not a PrintableString/);
  });

  it('writes UTCTime through 2049 and GeneralizedTime from 2050 (RFC 5280)', () => {
    const ascii = (b: Buffer) => readTlv(b).content.toString('ascii');
    assert.equal(ascii(utcTime(new Date('2026-03-04T05:06:07.890Z'))), '260304050607Z');
    assert.equal(readTlv(x509Time(new Date('2049-12-31T23:59:59Z'))).tag, 0x17);
    const y2050 = x509Time(new Date('2050-01-01T00:00:00Z'));
    assert.equal(readTlv(y2050).tag, 0x18);
    assert.equal(ascii(y2050), '20500101000000Z');
    assert.equal(readTlv(x509Time(new Date('1949-12-31T23:59:59Z'))).tag, 0x18);
    assert.equal(ascii(generalizedTime(new Date('9999-12-31T23:59:59Z'))), '99991231235959Z');
    assert.throws(() => utcTime(new Date('2050-01-01T00:00:00Z')), RangeError);
  });

  it('encodes BOOLEAN, BIT STRING, named bits and context tags', () => {
    assert.equal(hex(boolean(true)), '0101ff');
    assert.equal(hex(boolean(false)), '010100');
    assert.equal(hex(bitString(Buffer.from([0xab]))), '030200ab');
    assert.equal(hex(namedBits([0])), '03020780', 'digitalSignature');
    assert.equal(hex(namedBits([5, 6])), '03020106', 'keyCertSign + cRLSign');
    assert.equal(hex(namedBits([0, 8])), '0303078080', 'decipherOnly spills into a second byte');
    assert.equal(hex(namedBits([])), '030100');
    assert.equal(hex(explicit(0, integer(2))), 'a003020102');
    assert.equal(hex(implicit(2, Buffer.from('a'))), '820161');
  });

  it('sorts the elements of a SET OF and nests sequences', () => {
    assert.equal(hex(set(integer(2), integer(1))), '3106020101020102');
    const nested = sequence(integer(1), sequence(boolean(true)));
    assert.deepEqual(
      readChildren(readTlv(nested).content).map((c) => c.tag),
      [0x02, 0x30],
    );
  });
});

describe('DER reader', () => {
  it('rejects truncated, indefinite and over-long encodings with the offset', () => {
    assert.throws(() => readTlv(Buffer.from([0x30])), /truncated header/);
    assert.throws(() => readTlv(Buffer.from([0x30, 0x80])), /indefinite/);
    assert.throws(() => readTlv(Buffer.from([0x04, 0x05, 1, 2])), /runs past the end/);
    assert.throws(() => readTlv(Buffer.from([0x04, 0x85, 1, 1, 1, 1, 1])), /length too large/);
    assert.throws(() => readChildren(Buffer.from([0x02, 0x01, 0x00, 0x02])), /byte 3/);
  });

  it('never throws anything but an Error on random input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          readChildren(Buffer.from(bytes));
        } catch (err) {
          assert.ok(err instanceof Error && /malformed DER/.test(err.message));
        }
      }),
    );
  });
});
