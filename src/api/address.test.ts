import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  AddressError,
  countNonBuggyIPv4,
  familyBits,
  familyMax,
  formatIP,
  formatRange,
  type IPAddr,
  type IPFamily,
  type IPRange,
  isBuggyIPv4,
  normalizeRanges,
  parseAddressEntry,
  parseIP,
  rangePrefixLength,
  rangeSize,
  rangesOverlap,
  subtractRanges,
  tryParseIP,
} from './address.js';

const v4 = (text: string): bigint => parseIP(text).value;
const v6 = (text: string): bigint => parseIP(text).value;
const range = (family: IPFamily, first: bigint, last: bigint): IPRange => ({ family, first, last });
const R4 = (first: number, last: number): IPRange => range('IPv4', BigInt(first), BigInt(last));
const R6 = (first: number, last: number): IPRange => range('IPv6', BigInt(first), BigInt(last));

/** Asserts `fn` throws an AddressError whose one-line message matches `pattern`. */
function assertAddressError(fn: () => unknown, pattern: RegExp | string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AddressError, `expected an AddressError, got ${String(e)}`);
    assert.equal(e.name, 'AddressError');
    assert.doesNotMatch(e.message, /[\r\n]/);
    if (typeof pattern === 'string') assert.equal(e.message, pattern);
    else assert.match(e.message, pattern);
    return true;
  });
}

/** The WHATWG URL parser as an independent IPv6 implementation: its canonical text, or undefined. */
function urlIPv6(text: string): string | undefined {
  try {
    return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

describe('familyBits and familyMax', () => {
  it('give the width and the highest address of each family', () => {
    assert.equal(familyBits('IPv4'), 32);
    assert.equal(familyBits('IPv6'), 128);
    assert.equal(familyMax('IPv4'), 0xffff_ffffn);
    assert.equal(familyMax('IPv6'), 2n ** 128n - 1n);
  });
});

describe('parseIP accepts', () => {
  it('IPv4 in four-part decimal', () => {
    assert.deepEqual(parseIP('192.0.2.1'), { family: 'IPv4', value: 0xc000_0201n });
    assert.deepEqual(parseIP('0.0.0.0'), { family: 'IPv4', value: 0n });
    assert.deepEqual(parseIP('255.255.255.255'), { family: 'IPv4', value: 0xffff_ffffn });
    assert.equal(v4('203.0.113.10'), (203n << 24n) | (113n << 8n) | 10n);
  });

  it('every RFC 4291 text form of IPv6, in either case', () => {
    const cases: [string, string][] = [
      ['ABCD:EF01:2345:6789:ABCD:EF01:2345:6789', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789'],
      ['2001:DB8:0:0:8:800:200C:417A', '2001:db8::8:800:200c:417a'],
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['FF01:0:0:0:0:0:0:101', 'ff01::101'],
      ['FF01::101', 'ff01::101'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
      ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
      ['2001:0DB8:0000:CD30:0000:0000:0000:0000', '2001:db8:0:cd30::'],
      ['0:0:0:0:0:0:13.1.68.3', '::d01:4403'],
      ['::13.1.68.3', '::d01:4403'],
      ['0:0:0:0:0:FFFF:129.144.52.38', '::ffff:129.144.52.38'],
      ['::FFFF:129.144.52.38', '::ffff:129.144.52.38'],
      ['::ffff:c000:201', '::ffff:192.0.2.1'],
      ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
      ['2001:db8::192.0.2.1', '2001:db8::c000:201'],
    ];
    for (const [text, canonical] of cases) {
      const addr = parseIP(text);
      assert.equal(addr.family, 'IPv6', text);
      assert.equal(formatIP(addr), canonical, text);
    }
  });

  it('trims surrounding whitespace', () => {
    assert.deepEqual(parseIP('  192.0.2.1\n'), parseIP('192.0.2.1'));
    assert.deepEqual(parseIP('\t2001:db8::1 '), parseIP('2001:db8::1'));
  });

  it('tells IPv4 from IPv4-mapped IPv6', () => {
    assert.equal(parseIP('192.0.2.1').family, 'IPv4');
    assert.deepEqual(parseIP('::ffff:192.0.2.1'), { family: 'IPv6', value: 0xffff_c000_0201n });
  });
});

describe('parseIP rejects, saying why in one line', () => {
  const cases: [string, RegExp][] = [
    ['', /^IP address is empty; expected one like 192\.0\.2\.1 or 2001:db8::1$/],
    ['   ', /empty/],
    ['1.2.3', /^"1\.2\.3" is not a valid IPv4 address: it has 3 parts, expected 4 like 192\.0\.2\.1$/],
    ['1.2.3.4.5', /it has 5 parts, expected 4/],
    ['1.2.3.4.', /it has 5 parts/],
    ['010.1.1.1', /^"010\.1\.1\.1" is not a valid IPv4 address: part "010" has a leading zero/],
    ['1.2.3.00', /part "00" has a leading zero/],
    ['0x1.1.1.1', /part "0x1" is not a decimal number/],
    ['+1.2.3.4', /part "\+1" is not a decimal number/],
    ['1.2.3.-4', /part "-4" is not a decimal number/],
    ['1.2.3.4e0', /part "4e0" is not a decimal number/],
    ['١.٢.٣.٤', /part "١" is not a decimal number/],
    ['256.1.1.1', /part "256" is out of range 0-255/],
    ['1.2.3.99999999999999999999', /out of range 0-255/],
    ['1..2.3', /it has an empty part/],
    ['3232235777', /^"3232235777" is not an IP address; expected one like 192\.0\.2\.1 or 2001:db8::1$/],
    ['localhost', /is not an IP address/],
    ['fe80::1%eth0', /^"fe80::1%eth0" has a zone id \("%eth0"\); zones are not allowed here, remove it$/],
    ['192.0.2.1%1', /zone id/],
    ['10.0.0.0/8', /^"10\.0\.0\.0\/8" looks like a CIDR; expected a single address$/],
    ['1::2::3', /^"1::2::3" is not a valid IPv6 address: "::" may appear only once$/],
    ['1:::2', /it contains ":::"/],
    [':::', /it contains ":::"/],
    [':1:2:3:4:5:6:7', /it starts with a single ":"/],
    [':1::', /it starts with a single ":"/],
    ['1:2:3:4:5:6:7:', /it ends with a single ":"/],
    ['::1:', /it ends with a single ":"/],
    [':', /it has an empty group/],
    ['12345::', /group "12345" is not 1 to 4 hex digits/],
    ['00000::1', /group "00000" is not 1 to 4 hex digits/],
    ['g::', /"g" is not a hex digit, ":" or "\."/],
    ['[::1]', /"\[" is not a hex digit/],
    [':: 1', /" " is not a hex digit/],
    ['1:2:3:4:5:6:7', /it has 7 groups, expected 8/],
    ['1:2:3:4:5:6:7:8:9', /it has 9 groups, expected 8/],
    ['1:2:3:4:5:6:7:1.2.3.4', /it has 9 groups, expected 8/],
    ['1:2:3:4:5:6:7:8::', /8 groups besides "::", which must stand for at least one zero group/],
    ['::1:2:3:4:5:6:7:8', /8 groups besides "::"/],
    ['1:2:3:4::5:6:7:8', /8 groups besides "::"/],
    ['1:2:3:4:5:6::1.2.3.4', /8 groups besides "::"/],
    ['::1.2.3', /embedded IPv4 "1\.2\.3" is not a valid IPv4 address: it has 3 parts/],
    ['::ffff:010.0.2.1', /embedded IPv4 "010\.0\.2\.1" .*leading zero/],
    ['::ffff:1.2.3.256', /part "256" is out of range/],
    ['1.2.3.4::', /an embedded IPv4 address may only be the last 32 bits/],
    ['::1.2.3.4:5', /an embedded IPv4 address may only be the last 32 bits/],
  ];
  for (const [text, pattern] of cases) {
    it(JSON.stringify(text), () => {
      assertAddressError(() => parseIP(text), pattern);
      assert.equal(tryParseIP(text), undefined);
    });
  }

  it('quotes the text as JSON, so a message stays on one line whatever was typed', () => {
    assertAddressError(() => parseIP('192.0.2.1\nfoo'), /^"192\.0\.2\.1\\nfoo" is not a valid IPv4 address/);
  });
});

describe('formatIP', () => {
  it('writes IPv4 as a dotted quad', () => {
    assert.equal(formatIP({ family: 'IPv4', value: 0xc000_0201n }), '192.0.2.1');
    assert.equal(formatIP({ family: 'IPv4', value: 0n }), '0.0.0.0');
  });

  it('follows RFC 5952: lower case, no leading zeros, longest zero run, first on ties, no single-group ::', () => {
    const cases: [string, string][] = [
      ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:DB8::AAAA', '2001:db8::aaaa'],
      ['0:1:0:1:0:1:0:1', '0:1:0:1:0:1:0:1'],
      ['1:0:0:2:0:0:0:0', '1:0:0:2::'],
      ['0:0:1:0:0:1:0:0', '::1:0:0:1:0:0'],
      ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ];
    for (const [text, canonical] of cases) assert.equal(formatIP(parseIP(text)), canonical, text);
  });

  it('writes IPv4-mapped addresses (::ffff:0:0/96) in mixed notation, as RFC 5952 section 5 recommends', () => {
    assert.equal(formatIP(parseIP('0:0:0:0:0:ffff:c000:201')), '::ffff:192.0.2.1');
    assert.equal(formatIP(parseIP('::ffff:0:0')), '::ffff:0.0.0.0');
    // Neighbours of that prefix are plain hex.
    assert.equal(formatIP(parseIP('::c000:201')), '::c000:201');
    assert.equal(formatIP(parseIP('::1:ffff:c000:201')), '::1:ffff:c000:201');
    assert.equal(formatIP(parseIP('0:0:0:0:ffff:0:0:1')), '::ffff:0:0:1');
  });

  it('rejects values outside the family', () => {
    assertAddressError(
      () => formatIP({ family: 'IPv4', value: 2n ** 32n }),
      /out of range for an IPv4 address/,
    );
    assertAddressError(() => formatIP({ family: 'IPv6', value: -1n }), /out of range for an IPv6 address/);
  });
});

const ipv4Value = fc.bigInt({ min: 0n, max: familyMax('IPv4') });
// Half of the groups zero, so that zero runs of every length and position come up.
const ipv6Value = fc.oneof(
  fc.bigInt({ min: 0n, max: familyMax('IPv6') }),
  fc
    .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
    .map((groups) => groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n)),
  fc.bigInt({ min: 0n, max: 0xffff_ffffn }).map((v) => 0xffff_0000_0000n | v),
);
const anyAddr: fc.Arbitrary<IPAddr> = fc.oneof(
  ipv4Value.map((value) => ({ family: 'IPv4' as const, value })),
  ipv6Value.map((value) => ({ family: 'IPv6' as const, value })),
);

/** Any RFC 4291 spelling of an IPv6 value: case, zero padding, which zero run "::" stands for, dotted tail. */
const ipv6Spelling = (value: bigint): fc.Arbitrary<string> =>
  fc.record({ upper: fc.boolean(), pad: fc.boolean(), dotted: fc.boolean(), pick: fc.nat() }).map((o) => {
    const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => Number((value >> s) & 0xffffn));
    const hexCount = o.dotted ? 6 : 8;
    const hex = groups.slice(0, hexCount).map((g) => {
      const h = o.pad ? g.toString(16).padStart(4, '0') : g.toString(16);
      return o.upper ? h.toUpperCase() : h;
    });
    const tail = o.dotted
      ? [[groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join('.')]
      : [];
    const runs: [number, number][] = [];
    for (let i = 0; i < hexCount; i++) {
      for (let j = i; j < hexCount && groups[j] === 0; j++) runs.push([i, j + 1]);
    }
    const run = runs[o.pick % (runs.length + 1)];
    if (!run) return [...hex, ...tail].join(':');
    return `${hex.slice(0, run[0]).join(':')}::${[...hex.slice(run[1]), ...tail].join(':')}`;
  });

describe('parseIP and formatIP properties', () => {
  it('formatIP then parseIP gives back the address, both families', () => {
    fc.assert(
      fc.property(anyAddr, (addr) => {
        assert.deepEqual(parseIP(formatIP(addr)), addr);
      }),
      { numRuns: 2000 },
    );
  });

  it('parseIP then formatIP gives back canonical text', () => {
    fc.assert(
      fc.property(anyAddr, (addr) => {
        const text = formatIP(addr);
        assert.equal(formatIP(parseIP(text)), text);
      }),
    );
  });

  it('IPv4 text is what node:net accepts as IPv4', () => {
    fc.assert(fc.property(ipv4Value, (value) => assert.ok(isIPv4(formatIP({ family: 'IPv4', value })))));
  });

  it('IPv6 canonical text matches the WHATWG URL serializer (outside the mixed-notation prefix)', () => {
    fc.assert(
      fc.property(ipv6Value, (value) => {
        const text = formatIP({ family: 'IPv6', value });
        if (value >> 32n === 0xffffn) assert.match(text, /^::ffff:\d+\.\d+\.\d+\.\d+$/);
        else assert.equal(text, urlIPv6(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('every spelling of an IPv6 address parses to the same value', () => {
    const spelled = ipv6Value.chain((value) => ipv6Spelling(value).map((text) => ({ value, text })));
    fc.assert(
      fc.property(spelled, ({ value, text }) => {
        assert.deepEqual(parseIP(text), { family: 'IPv6', value }, text);
        assert.ok(isIPv6(text), text);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts exactly what node:net and the URL parser accept, on mangled addresses', () => {
    // Start from valid spellings and delete, insert or replace characters, so most inputs are near misses.
    const alphabet = fc.constantFrom(...'0123456789abcdefABCDEFg:.:.'.split(''));
    const edit = fc.record({
      at: fc.nat(),
      op: fc.constantFrom('delete', 'insert', 'replace'),
      char: alphabet,
    });
    const text = fc.oneof(
      ipv6Value.chain(ipv6Spelling),
      ipv4Value.map((value) => formatIP({ family: 'IPv4', value })),
    );
    const mangled = fc.tuple(text, fc.array(edit, { minLength: 1, maxLength: 3 })).map(([t, edits]) =>
      edits.reduce((s, e) => {
        const at = e.at % (s.length + 1);
        if (e.op === 'insert') return s.slice(0, at) + e.char + s.slice(at);
        return s.slice(0, at) + (e.op === 'replace' ? e.char : '') + s.slice(at + 1);
      }, t),
    );
    fc.assert(
      fc.property(mangled, (s) => {
        const ours = tryParseIP(s);
        if (s.includes(':')) {
          assert.equal(ours !== undefined, isIPv6(s), `${s}: node:net says ${isIPv6(s)}`);
          const url = urlIPv6(s);
          assert.equal(ours !== undefined, url !== undefined, `${s}: URL says ${url}`);
          if (ours && url) assert.deepEqual(parseIP(url), ours);
        } else {
          assert.equal(ours !== undefined, isIPv4(s), `${s}: node:net says ${isIPv4(s)}`);
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('parseAddressEntry accepts', () => {
  it('CIDRs of both families, from /0 to a single address', () => {
    assert.deepEqual(
      parseAddressEntry('203.0.113.0/25'),
      range('IPv4', v4('203.0.113.0'), v4('203.0.113.127')),
    );
    assert.deepEqual(
      parseAddressEntry('203.0.113.9/32'),
      range('IPv4', v4('203.0.113.9'), v4('203.0.113.9')),
    );
    assert.deepEqual(parseAddressEntry('0.0.0.0/0'), range('IPv4', 0n, familyMax('IPv4')));
    assert.deepEqual(
      parseAddressEntry('2001:db8::/64'),
      range('IPv6', v6('2001:db8::'), v6('2001:db8::ffff:ffff:ffff:ffff')),
    );
    assert.deepEqual(
      parseAddressEntry('2001:db8::1/128'),
      range('IPv6', v6('2001:db8::1'), v6('2001:db8::1')),
    );
    assert.deepEqual(parseAddressEntry('::/0'), range('IPv6', 0n, familyMax('IPv6')));
    assert.deepEqual(
      parseAddressEntry('::ffff:192.0.2.0/120'),
      range('IPv6', v6('::ffff:192.0.2.0'), v6('::ffff:192.0.2.255')),
    );
  });

  it('ranges, with or without spaces around "-"', () => {
    const expected = range('IPv4', v4('203.0.113.10'), v4('203.0.113.20'));
    assert.deepEqual(parseAddressEntry('203.0.113.10-203.0.113.20'), expected);
    assert.deepEqual(parseAddressEntry(' 203.0.113.10 - 203.0.113.20 '), expected);
    assert.deepEqual(
      parseAddressEntry('2001:db8::1-2001:db8::ff'),
      range('IPv6', v6('2001:db8::1'), v6('2001:db8::ff')),
    );
    assert.deepEqual(
      parseAddressEntry('203.0.113.10-203.0.113.10'),
      range('IPv4', v4('203.0.113.10'), v4('203.0.113.10')),
    );
  });

  it('a single address as a /32 or /128', () => {
    assert.deepEqual(parseAddressEntry('203.0.113.7'), range('IPv4', v4('203.0.113.7'), v4('203.0.113.7')));
    assert.deepEqual(parseAddressEntry(' 2001:db8::1 '), range('IPv6', v6('2001:db8::1'), v6('2001:db8::1')));
  });
});

describe('parseAddressEntry rejects, saying why in one line', () => {
  const cases: [string, RegExp | string][] = [
    ['203.0.113.5/24', '"203.0.113.5/24" has host bits set; did you mean 203.0.113.0/24?'],
    ['2001:db8::1/64', '"2001:db8::1/64" has host bits set; did you mean 2001:db8::/64?'],
    ['0.0.0.1/0', '"0.0.0.1/0" has host bits set; did you mean 0.0.0.0/0?'],
    [
      '203.0.113.20-203.0.113.10',
      '"203.0.113.20-203.0.113.10" is reversed: 203.0.113.20 comes after 203.0.113.10; write 203.0.113.10-203.0.113.20',
    ],
    [
      '2001:db8::2 - 2001:db8::1',
      /^"2001:db8::2 - 2001:db8::1" is reversed: 2001:db8::2 comes after 2001:db8::1/,
    ],
    [
      '203.0.113.1-2001:db8::1',
      '"203.0.113.1-2001:db8::1" mixes IPv4 and IPv6; both ends of a range must be the same family',
    ],
    ['192.0.2.1-::ffff:192.0.2.9', /mixes IPv4 and IPv6/],
    ['', /^address entry is empty; expected a CIDR \(203\.0\.113\.0\/25\), a range .* or a single address$/],
    [' \t ', /address entry is empty/],
    ['foo', /^"foo" is not an address entry; expected a CIDR/],
    ['/24', '"/24" is missing the address before "/"'],
    ['203.0.113.0/', '"203.0.113.0/" is missing the prefix length after "/"'],
    ['203.0.113.0/33', '"203.0.113.0/33" has prefix length 33, but IPv4 allows 0-32'],
    ['2001:db8::/129', '"2001:db8::/129" has prefix length 129, but IPv6 allows 0-128'],
    ['2001:db8::/99999999999999999999', /has prefix length 99999999999999999999, but IPv6 allows 0-128/],
    [
      '203.0.113.0/024',
      /has prefix length "024"; expected a decimal number 0-32 without sign or leading zeros/,
    ],
    ['203.0.113.0/+24', /has prefix length "\+24"/],
    ['203.0.113.0/-1', /has prefix length "-1"/],
    ['203.0.113.0/1e1', /has prefix length "1e1"/],
    ['2001:db8::/0x40', /has prefix length "0x40"; expected a decimal number 0-128/],
    ['203.0.113.0 / 24', '"203.0.113.0 / 24" has spaces around "/"; write 203.0.113.0/24'],
    ['203.0.113.0/24/25', '"203.0.113.0/24/25" has more than one "/"'],
    ['1.0.0.0/8-2.0.0.0', /mixes a CIDR \("\/"\) and a range \("-"\); write one or the other/],
    ['203.0.113.10-', '"203.0.113.10-" is missing the last address after "-"'],
    ['-203.0.113.10', '"-203.0.113.10" is missing the first address before "-"'],
    ['1.2.3.4-1.2.3.5-1.2.3.6', /has more than one "-"/],
    [
      '203.0.113.300/24',
      '"203.0.113.300/24": "203.0.113.300" is not a valid IPv4 address: part "300" is out of range 0-255',
    ],
    ['203.0.113.1-203.0.113', /^"203\.0\.113\.1-203\.0\.113": "203\.0\.113" is not a valid IPv4 address/],
    ['fe80::1%eth0', /zones are not allowed/],
    ['fe80::%eth0/64', /zones are not allowed/],
    ['fe80::1%eth0-fe80::2', /zones are not allowed/],
    ['010.0.0.0/8', /leading zero/],
  ];
  for (const [text, pattern] of cases) {
    it(JSON.stringify(text), () => assertAddressError(() => parseAddressEntry(text), pattern));
  }
});

describe('formatRange, rangePrefixLength and rangeSize', () => {
  it('write a single address bare, an aligned block as a CIDR, anything else as first-last', () => {
    assert.equal(formatRange(parseAddressEntry('203.0.113.7')), '203.0.113.7');
    assert.equal(formatRange(parseAddressEntry('2001:db8::1/128')), '2001:db8::1');
    assert.equal(formatRange(parseAddressEntry('203.0.113.0/25')), '203.0.113.0/25');
    assert.equal(formatRange(parseAddressEntry('203.0.113.2-203.0.113.3')), '203.0.113.2/31');
    assert.equal(formatRange(parseAddressEntry('203.0.113.1-203.0.113.2')), '203.0.113.1-203.0.113.2');
    assert.equal(formatRange(parseAddressEntry('203.0.113.0-203.0.113.2')), '203.0.113.0-203.0.113.2');
    assert.equal(formatRange(parseAddressEntry('0.0.0.0-255.255.255.255')), '0.0.0.0/0');
    assert.equal(formatRange(parseAddressEntry('::/0')), '::/0');
    assert.equal(formatRange(parseAddressEntry('2001:db8::-2001:db8::ffff')), '2001:db8::/112');
    assert.equal(formatRange(parseAddressEntry('2001:db8::1-2001:db8::ffff')), '2001:db8::1-2001:db8::ffff');
  });

  it('rangePrefixLength is defined only for aligned power-of-two blocks', () => {
    assert.equal(rangePrefixLength(parseAddressEntry('203.0.113.64/26')), 26);
    assert.equal(rangePrefixLength(parseAddressEntry('203.0.113.9')), 32);
    assert.equal(rangePrefixLength(parseAddressEntry('2001:db8::9')), 128);
    assert.equal(rangePrefixLength(parseAddressEntry('203.0.113.64-203.0.113.126')), undefined);
    assert.equal(rangePrefixLength(parseAddressEntry('203.0.113.32-203.0.113.95')), undefined);
  });

  it('rangeSize counts inclusive ends, to 2^128', () => {
    assert.equal(rangeSize(parseAddressEntry('203.0.113.0/24')), 256n);
    assert.equal(rangeSize(parseAddressEntry('203.0.113.7')), 1n);
    assert.equal(rangeSize(parseAddressEntry('2001:db8::/64')), 2n ** 64n);
    assert.equal(rangeSize(parseAddressEntry('::/0')), 2n ** 128n);
  });

  it('parseAddressEntry reads back what formatRange writes', () => {
    const anyRange = fc.oneof(
      fc.tuple(ipv4Value, ipv4Value).map(([a, b]) => (b < a ? range('IPv4', b, a) : range('IPv4', a, b))),
      fc.tuple(ipv6Value, ipv6Value).map(([a, b]) => (b < a ? range('IPv6', b, a) : range('IPv6', a, b))),
      // Aligned blocks, which come out as CIDRs.
      fc.tuple(anyAddr, fc.integer({ min: 0, max: 128 })).map(([addr, length]) => {
        const hostBits = BigInt(familyBits(addr.family) - (length % (familyBits(addr.family) + 1)));
        const first = (addr.value >> hostBits) << hostBits;
        return range(addr.family, first, first + (1n << hostBits) - 1n);
      }),
    );
    fc.assert(
      fc.property(anyRange, (r) => assert.deepEqual(parseAddressEntry(formatRange(r)), r)),
      { numRuns: 2000 },
    );
  });
});

describe('rangesOverlap', () => {
  it('is true when the ranges share an address, within one family', () => {
    assert.equal(rangesOverlap(R4(10, 20), R4(20, 30)), true);
    assert.equal(rangesOverlap(R4(10, 20), R4(12, 13)), true);
    assert.equal(rangesOverlap(R4(12, 13), R4(10, 20)), true);
    assert.equal(rangesOverlap(R4(10, 20), R4(10, 20)), true);
    assert.equal(rangesOverlap(R4(10, 20), R4(21, 30)), false);
    assert.equal(rangesOverlap(R4(21, 30), R4(10, 20)), false);
  });

  it('is false across families, even for the same numbers', () => {
    assert.equal(rangesOverlap(R4(10, 20), R6(10, 20)), false);
  });
});

describe('isBuggyIPv4 and countNonBuggyIPv4', () => {
  it('flags addresses ending in .0 or .255', () => {
    assert.equal(isBuggyIPv4(v4('203.0.113.0')), true);
    assert.equal(isBuggyIPv4(v4('203.0.113.255')), true);
    assert.equal(isBuggyIPv4(v4('203.0.113.1')), false);
    assert.equal(isBuggyIPv4(v4('203.0.113.254')), false);
    assert.equal(isBuggyIPv4(v4('203.0.0.128')), false);
  });

  it('counts the usable addresses of common blocks', () => {
    const count = (entry: string): bigint => {
      const r = parseAddressEntry(entry);
      return countNonBuggyIPv4(r.first, r.last);
    };
    assert.equal(count('203.0.113.0/24'), 254n);
    assert.equal(count('198.18.0.0/15'), 512n * 254n);
    assert.equal(count('203.0.113.0/25'), 127n);
    assert.equal(count('203.0.113.255'), 0n);
    assert.equal(count('203.0.113.254-203.0.114.1'), 2n);
    assert.equal(count('0.0.0.0/0'), 2n ** 32n - 2n * 2n ** 24n);
    assert.equal(countNonBuggyIPv4(10n, 9n), 0n);
  });

  it('agrees with counting one by one', () => {
    const span = fc.tuple(ipv4Value, fc.integer({ min: -1, max: 1500 }));
    fc.assert(
      fc.property(span, ([first, length]) => {
        const last = first + BigInt(length);
        let expected = 0n;
        for (let v = first; v <= last; v++) if (!isBuggyIPv4(v)) expected++;
        assert.equal(countNonBuggyIPv4(first, last), expected);
      }),
      { numRuns: 500 },
    );
  });
});

// Range arithmetic against a plain set of "family:value" keys over a small universe.
const SMALL = 300;
const smallRange = fc
  .tuple(fc.constantFrom<IPFamily>('IPv4', 'IPv6'), fc.nat(SMALL), fc.nat(SMALL), fc.nat(20))
  .map(([family, a, b, short]) =>
    // Half of them short, so that adjacency and one-address gaps come up often.
    short % 2 === 0
      ? range(family, BigInt(a), BigInt(Math.min(SMALL, a + short)))
      : range(family, BigInt(Math.min(a, b)), BigInt(Math.max(a, b))),
  );
const smallRanges = fc.array(smallRange, { maxLength: 12 });

const keysOf = (ranges: readonly IPRange[]): Set<string> => {
  const keys = new Set<string>();
  for (const r of ranges) for (let v = r.first; v <= r.last; v++) keys.add(`${r.family}:${v}`);
  return keys;
};

/** The sorted, merged ranges of a key set: the expected output of normalizeRanges and subtractRanges. */
function rangesOfKeys(keys: Set<string>): IPRange[] {
  const out: IPRange[] = [];
  for (const family of ['IPv4', 'IPv6'] as const) {
    for (let v = 0n; v <= BigInt(SMALL); v++) {
      if (!keys.has(`${family}:${v}`)) continue;
      const prev = out.at(-1);
      if (prev && prev.family === family && prev.last + 1n === v) prev.last = v;
      else out.push(range(family, v, v));
    }
  }
  return out;
}

describe('normalizeRanges', () => {
  it('sorts IPv4 before IPv6 and merges overlapping and adjacent ranges, leaving gaps', () => {
    assert.deepEqual(normalizeRanges([R6(1, 2), R4(20, 30), R4(5, 10), R4(11, 12), R4(25, 40), R4(42, 42)]), [
      R4(5, 12),
      R4(20, 40),
      R4(42, 42),
      R6(1, 2),
    ]);
  });

  it('keeps the same numbers of different families apart', () => {
    assert.deepEqual(normalizeRanges([R6(0, 10), R4(0, 10)]), [R4(0, 10), R6(0, 10)]);
  });

  it('does not modify its input', () => {
    const input = [R4(5, 10), R4(0, 6)];
    const copy = structuredClone(input);
    normalizeRanges(input);
    assert.deepEqual(input, copy);
  });

  it('drops empty ranges (first > last)', () => {
    assert.deepEqual(normalizeRanges([R4(5, 4), R4(1, 1)]), [R4(1, 1)]);
  });

  it('agrees with a set of addresses', () => {
    fc.assert(
      fc.property(smallRanges, (ranges) => {
        assert.deepEqual(normalizeRanges(ranges), rangesOfKeys(keysOf(ranges)));
      }),
      { numRuns: 500 },
    );
  });
});

describe('subtractRanges', () => {
  it('cuts holes out of the middle and the ends, within one family only', () => {
    assert.deepEqual(subtractRanges([R4(0, 100)], [R4(10, 20), R4(0, 0), R4(95, 200), R6(30, 40)]), [
      R4(1, 9),
      R4(21, 94),
    ]);
  });

  it('handles a hole spanning several ranges and mixed families', () => {
    assert.deepEqual(subtractRanges([R6(0, 5), R4(0, 5), R4(10, 15), R4(20, 25)], [R4(3, 22), R6(5, 5)]), [
      R4(0, 2),
      R4(23, 25),
      R6(0, 4),
    ]);
  });

  it('returns everything when there are no holes, and nothing when all is covered', () => {
    assert.deepEqual(subtractRanges([R4(5, 6), R4(0, 4)], []), [R4(0, 6)]);
    assert.deepEqual(subtractRanges([R4(5, 6), R6(0, 4)], [R4(0, 10), R6(0, 4)]), []);
  });

  it('works on real pools: a /24 minus its gateway and a reserved range', () => {
    const pool = [parseAddressEntry('203.0.113.0/24')];
    const excludes = ['203.0.113.1', '203.0.113.200-203.0.113.255'].map(parseAddressEntry);
    assert.deepEqual(subtractRanges(pool, excludes).map(formatRange), [
      '203.0.113.0',
      '203.0.113.2-203.0.113.199',
    ]);
  });

  it('agrees with set difference', () => {
    fc.assert(
      fc.property(smallRanges, smallRanges, (ranges, holes) => {
        const keys = keysOf(ranges);
        for (const key of keysOf(holes)) keys.delete(key);
        assert.deepEqual(subtractRanges(ranges, holes), rangesOfKeys(keys));
      }),
      { numRuns: 500 },
    );
  });
});
