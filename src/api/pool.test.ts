import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatRange } from './address.js';
import { formatFieldError } from './field-errors.js';
import type { IPAddressPoolSpec } from './ip-address-pool.js';
import { findOverlaps, type Pool, parsePool } from './pool.js';

const parse = (spec: Partial<IPAddressPoolSpec>, name = 'p', creationTimestamp = '2026-01-01T00:00:00Z') =>
  parsePool({ metadata: { name, creationTimestamp }, spec: spec as IPAddressPoolSpec });

function errorsOf(spec: Partial<IPAddressPoolSpec>): string[] {
  const r = parse(spec);
  assert.ok(!r.ok, 'expected the pool to be invalid');
  return r.errors.map(formatFieldError);
}

function valid(spec: Partial<IPAddressPoolSpec>, name = 'p', createdAt?: string): Pool {
  const r = parse(spec, name, createdAt);
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatFieldError).join('; '));
  return r.pool;
}

describe('parsePool', () => {
  it('applies the defaults and takes every address form, both families in one pool', () => {
    const p = valid({
      addresses: ['203.0.113.0/25', '203.0.113.200 - 203.0.113.210', '198.51.100.7', '2001:db8::/64'],
    });
    assert.equal(p.autoAssign, true);
    assert.equal(p.avoidBuggyIPs, false);
    assert.equal(p.holdDownMs, 0);
    assert.equal(p.pinned, false);
    assert.deepEqual(p.ranges.map(formatRange), [
      '198.51.100.7',
      '203.0.113.0/25',
      '203.0.113.200-203.0.113.210',
      '2001:db8::/64',
    ]);
    assert.deepEqual(p.capacity, { IPv4: 128n + 11n + 1n, IPv6: 2n ** 64n });
  });

  it('takes excludes out of the ranges and the capacity', () => {
    const p = valid({
      addresses: ['203.0.113.0/24'],
      excludes: ['203.0.113.0/28', '203.0.113.255'],
      avoidBuggyIPs: true,
    });
    assert.deepEqual(p.ranges.map(formatRange), ['203.0.113.16-203.0.113.254']);
    assert.equal(p.capacity.IPv4, 239n);
  });

  it('names the field and the problem for every mistake, all at once', () => {
    const errors = errorsOf({
      addresses: ['203.0.113.5/24', '203.0.113.20-203.0.113.10', '198.51.100.1-2001:db8::1', 'banana'],
      excludes: ['192.0.2.1'],
      reuseHoldDown: '10 minutes',
      serviceAllocation: {
        priority: -1,
        namespaces: ['a', 'a'],
        serviceSelectors: [{ matchExpressions: [{ key: 'app', operator: 'In', values: [] }] }],
      },
    });
    const expect = [
      /^spec\.addresses\[0\]: .*host bits set; did you mean 203\.0\.113\.0\/24\?/,
      /^spec\.addresses\[1\]: .*reversed/,
      /^spec\.addresses\[2\]: .*mixes IPv4 and IPv6/,
      /^spec\.addresses\[3\]: .*banana/,
      /^spec\.excludes\[0\]: "192\.0\.2\.1" is not inside the pool's addresses/,
      /^spec\.reuseHoldDown: invalid duration/,
      /^spec\.serviceAllocation\.priority: must be a whole number >= 0/,
      /^spec\.serviceAllocation\.namespaces\[1\]: "a" is listed twice/,
      /^spec\.serviceAllocation\.serviceSelectors\[0\]: /,
    ];
    for (const re of expect)
      assert.ok(
        errors.some((e) => re.test(e)),
        `${re} in\n${errors.join('\n')}`,
      );
    assert.equal(errors.length, expect.length, errors.join('\n'));
  });

  it('rejects an empty address list and entries overlapping inside one pool', () => {
    assert.match(errorsOf({ addresses: [] })[0]!, /^spec\.addresses: must list at least one/);
    assert.match(
      errorsOf({ addresses: ['203.0.113.0/24', '203.0.113.128/25'] })[0]!,
      /^spec\.addresses\[1\]: "203\.0\.113\.128\/25" overlaps spec\.addresses\[0\]/,
    );
  });

  it('a serviceAllocation with only a priority pins the pool for every Service', () => {
    const p = valid({ addresses: ['203.0.113.0/24'], serviceAllocation: { priority: 3 } });
    assert.equal(p.pinned, true);
    assert.equal(p.priority, 3);
    assert.equal(p.namespaces, undefined);
    assert.equal(p.serviceSelectors, undefined);
  });
});

describe('findOverlaps', () => {
  it('marks the younger of two overlapping pools, whatever the order, across entry kinds', () => {
    const old = valid({ addresses: ['203.0.113.0/24'] }, 'old', '2026-01-01T00:00:00Z');
    const young = valid(
      { addresses: ['198.51.100.0/24', '203.0.113.250-203.0.114.3'] },
      'young',
      '2026-02-01T00:00:00Z',
    );
    const apart = valid({ addresses: ['203.0.114.4/30', '2001:db8::/64'] }, 'apart', '2026-03-01T00:00:00Z');
    for (const order of [
      [old, young, apart],
      [apart, young, old],
    ]) {
      const overlaps = findOverlaps(order);
      assert.deepEqual([...overlaps.keys()], ['young']);
      assert.equal(overlaps.get('young')?.other, 'old');
    }
  });

  it('does not confuse families or adjacent ranges', () => {
    const a = valid({ addresses: ['203.0.113.0/25'] }, 'a');
    const b = valid({ addresses: ['203.0.113.128/25', '::cb00:7100/120'] }, 'b');
    assert.equal(findOverlaps([a, b]).size, 0);
  });
});
