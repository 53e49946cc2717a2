import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { avlHeightBound, IntervalSet } from './interval-set.js';

const setOf = (...intervals: [bigint, bigint][]): IntervalSet => {
  const s = new IntervalSet();
  for (const [first, last] of intervals) s.add(first, last);
  return s;
};

const listOf = (s: IntervalSet): [bigint, bigint][] => [...s.intervals()];

/** Checks the invariants a user of the set relies on, independently of the class's own checker. */
function assertWellFormed(s: IntervalSet): void {
  s.assertInvariants();
  const list = listOf(s);
  for (const [i, [first, last]] of list.entries()) {
    assert.ok(first <= last, `[${first}, ${last}] is reversed`);
    const next = list[i + 1];
    if (next)
      assert.ok(last + 1n < next[0], `[${first}, ${last}] and [${next[0]}, ${next[1]}] overlap or touch`);
  }
  assert.equal(s.intervalCount, list.length);
  assert.equal(
    s.size,
    list.reduce((total, [first, last]) => total + last - first + 1n, 0n),
  );
  assert.ok(
    s.height <= avlHeightBound(s.intervalCount),
    `height ${s.height} > ${avlHeightBound(s.intervalCount)}`,
  );
}

describe('IntervalSet basics', () => {
  it('starts empty', () => {
    const s = new IntervalSet();
    assert.equal(s.size, 0n);
    assert.equal(s.intervalCount, 0);
    assert.equal(s.height, 0);
    assert.equal(s.has(0n), false);
    assert.equal(s.firstAbsentFrom(7n), 7n);
    assert.equal(s.firstPresentFrom(0n), undefined);
    assert.deepEqual(listOf(s), []);
  });

  it('adds a single value when last is omitted, and counts it once', () => {
    const s = new IntervalSet();
    assert.equal(s.add(5n), 1n);
    assert.equal(s.add(5n), 0n);
    assert.deepEqual(listOf(s), [[5n, 5n]]);
    assert.equal(s.size, 1n);
  });

  it('rejects reversed intervals on add and delete', () => {
    const s = new IntervalSet();
    assert.throws(() => s.add(5n, 4n), RangeError);
    assert.throws(() => s.delete(5n, 4n), RangeError);
  });

  it('holds any bigint, including negative ones', () => {
    const s = setOf([-10n, -5n]);
    assert.equal(s.has(-7n), true);
    assert.equal(s.firstAbsentFrom(-10n), -4n);
    assert.equal(s.firstPresentFrom(-100n), -10n);
  });

  it('clear empties the set', () => {
    const s = setOf([1n, 3n], [10n, 20n]);
    s.clear();
    assert.equal(s.size, 0n);
    assert.deepEqual(listOf(s), []);
    assert.equal(s.add(2n), 1n);
  });
});

describe('IntervalSet.add merges', () => {
  it('an interval adjacent on the left or the right', () => {
    const s = setOf([10n, 20n]);
    assert.equal(s.add(21n, 25n), 5n);
    assert.equal(s.add(5n, 9n), 5n);
    assert.deepEqual(listOf(s), [[5n, 25n]]);
  });

  it('a value that bridges two intervals into one', () => {
    const s = setOf([0n, 9n], [11n, 20n]);
    assert.equal(s.intervalCount, 2);
    assert.equal(s.add(10n), 1n);
    assert.deepEqual(listOf(s), [[0n, 20n]]);
  });

  it('an overlapping interval, counting only the new values', () => {
    const s = setOf([10n, 20n]);
    assert.equal(s.add(15n, 25n), 5n);
    assert.equal(s.add(5n, 12n), 5n);
    assert.deepEqual(listOf(s), [[5n, 25n]]);
  });

  it('a contained interval as a no-op', () => {
    const s = setOf([10n, 20n]);
    assert.equal(s.add(12n, 18n), 0n);
    assert.equal(s.add(10n, 20n), 0n);
    assert.deepEqual(listOf(s), [[10n, 20n]]);
  });

  it('an interval covering several, swallowing them', () => {
    const s = setOf([0n, 1n], [5n, 6n], [10n, 11n], [30n, 31n]);
    assert.equal(s.add(1n, 10n), 12n - 6n);
    assert.deepEqual(listOf(s), [
      [0n, 11n],
      [30n, 31n],
    ]);
  });

  it('keeps a gap of one value between intervals apart', () => {
    const s = setOf([0n, 4n], [6n, 9n]);
    assert.deepEqual(listOf(s), [
      [0n, 4n],
      [6n, 9n],
    ]);
    assert.equal(s.has(5n), false);
  });
});

describe('IntervalSet.delete splits', () => {
  it('the middle of an interval into two', () => {
    const s = setOf([0n, 100n]);
    assert.equal(s.delete(40n, 60n), 21n);
    assert.deepEqual(listOf(s), [
      [0n, 39n],
      [61n, 100n],
    ]);
    assert.equal(s.size, 80n);
  });

  it('either end of an interval', () => {
    const s = setOf([0n, 100n]);
    assert.equal(s.delete(0n), 1n);
    assert.equal(s.delete(95n, 200n), 6n);
    assert.deepEqual(listOf(s), [[1n, 94n]]);
  });

  it('a whole interval exactly', () => {
    const s = setOf([0n, 5n], [10n, 15n]);
    assert.equal(s.delete(10n, 15n), 6n);
    assert.deepEqual(listOf(s), [[0n, 5n]]);
  });

  it('nothing when the range holds no value', () => {
    const s = setOf([0n, 5n], [10n, 15n]);
    assert.equal(s.delete(6n, 9n), 0n);
    assert.equal(s.delete(16n, 1000n), 0n);
    assert.equal(s.delete(-5n, -1n), 0n);
    assert.deepEqual(listOf(s), [
      [0n, 5n],
      [10n, 15n],
    ]);
  });

  it('across several intervals, trimming the outer ones', () => {
    const s = setOf([0n, 5n], [10n, 15n], [20n, 25n], [30n, 35n]);
    assert.equal(s.delete(3n, 22n), 3n + 6n + 3n);
    assert.deepEqual(listOf(s), [
      [0n, 2n],
      [23n, 25n],
      [30n, 35n],
    ]);
  });
});

describe('IntervalSet queries at boundaries', () => {
  const s = setOf([10n, 20n], [30n, 30n]);

  it('has', () => {
    const expected = new Map([
      [9n, false],
      [10n, true],
      [20n, true],
      [21n, false],
      [29n, false],
      [30n, true],
      [31n, false],
    ]);
    for (const [value, present] of expected) assert.equal(s.has(value), present, `has(${value})`);
  });

  it('firstAbsentFrom', () => {
    const expected = new Map([
      [0n, 0n],
      [9n, 9n],
      [10n, 21n],
      [15n, 21n],
      [20n, 21n],
      [21n, 21n],
      [30n, 31n],
      [31n, 31n],
    ]);
    for (const [from, absent] of expected) assert.equal(s.firstAbsentFrom(from), absent, `from ${from}`);
  });

  it('firstPresentFrom', () => {
    const expected = new Map<bigint, bigint | undefined>([
      [0n, 10n],
      [10n, 10n],
      [15n, 15n],
      [20n, 20n],
      [21n, 30n],
      [30n, 30n],
      [31n, undefined],
    ]);
    for (const [from, present] of expected) assert.equal(s.firstPresentFrom(from), present, `from ${from}`);
  });

  it('countIn', () => {
    assert.equal(s.countIn(0n, 100n), 12n);
    assert.equal(s.countIn(15n, 30n), 7n);
    assert.equal(s.countIn(21n, 29n), 0n);
    assert.equal(s.countIn(20n, 20n), 1n);
    assert.equal(s.countIn(30n, 10n), 0n);
  });
});

describe('IntervalSet with huge values', () => {
  const base = 0x2001_0db8_0000_0000_0000_0000_0000_0000n;
  const slash64 = 2n ** 64n;

  it('holds a fully allocated IPv6 /64 as one interval', () => {
    const s = new IntervalSet();
    assert.equal(s.add(base, base + slash64 - 1n), slash64);
    assert.equal(s.intervalCount, 1);
    assert.equal(s.size, slash64);
    assert.equal(s.firstAbsentFrom(base), base + slash64);
    assert.equal(s.delete(base + 5n), 1n);
    assert.equal(s.firstAbsentFrom(base), base + 5n);
    assert.equal(s.intervalCount, 2);
    assert.equal(s.countIn(base, base + slash64), slash64 - 1n);
  });
});

describe('IntervalSet.intervals()', () => {
  it('throws when the set changes during iteration', () => {
    const s = setOf([0n, 1n], [5n, 6n], [10n, 11n]);
    const it = s.intervals();
    assert.deepEqual(it.next().value, [0n, 1n]);
    s.add(20n);
    assert.throws(() => it.next(), /changed during iteration/);
  });

  it('keeps going through operations that change nothing', () => {
    const s = setOf([0n, 1n], [5n, 6n], [10n, 11n]);
    const seen: [bigint, bigint][] = [];
    for (const interval of s.intervals()) {
      seen.push(interval);
      s.add(0n, 1n);
      s.delete(100n, 200n);
    }
    assert.deepEqual(seen, [
      [0n, 1n],
      [5n, 6n],
      [10n, 11n],
    ]);
  });
});

describe('IntervalSet stays balanced at scale', () => {
  it('100,000 alternating single values: one interval each, logarithmic height, then merged and emptied', () => {
    const n = 100_000;
    const s = new IntervalSet();
    for (let i = 0; i < n; i++) assert.equal(s.add(BigInt(2 * i)), 1n);
    assert.equal(s.intervalCount, n);
    assert.equal(s.size, BigInt(n));
    assert.ok(s.height <= avlHeightBound(n), `height ${s.height} > ${avlHeightBound(n)}`);
    assert.ok(s.height <= 24);
    s.assertInvariants();

    // Filling every gap merges everything into one interval.
    for (let i = 0; i < n - 1; i++) s.add(BigInt(2 * i + 1));
    assert.equal(s.intervalCount, 1);
    assert.deepEqual(listOf(s), [[0n, BigInt(2 * n - 2)]]);

    // Taking the even values out again splits it back into n - 1 single values.
    for (let i = 0; i < n; i++) assert.equal(s.delete(BigInt(2 * i)), 1n);
    assert.equal(s.intervalCount, n - 1);
    assert.ok(s.height <= avlHeightBound(n - 1), `height ${s.height} > ${avlHeightBound(n - 1)}`);
    s.assertInvariants();

    // Deleting from both ends towards the middle keeps the tree balanced all the way down.
    for (let i = 0; i < n - 1; i++) {
      const odd = i % 2 === 0 ? i + 1 : 2 * n - 2 - i;
      assert.equal(s.delete(BigInt(odd)), 1n);
      if (i % 10_000 === 0) {
        assert.ok(s.height <= avlHeightBound(s.intervalCount));
        s.assertInvariants();
      }
    }
    assert.equal(s.size, 0n);
    assert.equal(s.intervalCount, 0);
    assert.equal(s.height, 0);
  });
});

// Model-based: every operation on the set must agree with a plain Set<bigint> on a small universe.
const UNIVERSE = 200;

type Op =
  | { kind: 'add' | 'delete' | 'countIn'; first: number; last: number }
  | { kind: 'has' | 'firstAbsentFrom' | 'firstPresentFrom'; value: number }
  | { kind: 'clear' };

const value = fc.integer({ min: 0, max: UNIVERSE });
const span = fc.oneof(
  fc.tuple(value, fc.integer({ min: 0, max: 8 })).map(([first, length]) => ({
    first,
    last: Math.min(UNIVERSE, first + length),
  })),
  fc.tuple(value, value).map(([a, b]) => ({ first: Math.min(a, b), last: Math.max(a, b) })),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: span.map((s) => ({ kind: 'add' as const, ...s })), weight: 6 },
  { arbitrary: span.map((s) => ({ kind: 'delete' as const, ...s })), weight: 4 },
  { arbitrary: span.map((s) => ({ kind: 'countIn' as const, ...s })), weight: 1 },
  { arbitrary: value.map((v) => ({ kind: 'has' as const, value: v })), weight: 2 },
  { arbitrary: value.map((v) => ({ kind: 'firstAbsentFrom' as const, value: v })), weight: 2 },
  { arbitrary: value.map((v) => ({ kind: 'firstPresentFrom' as const, value: v })), weight: 2 },
  { arbitrary: fc.constant({ kind: 'clear' as const }), weight: 1 },
);

function modelIntervals(model: Set<bigint>): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  for (const v of [...model].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const last = out.at(-1);
    if (last && last[1] + 1n === v) last[1] = v;
    else out.push([v, v]);
  }
  return out;
}

function apply(s: IntervalSet, model: Set<bigint>, op: Op): void {
  switch (op.kind) {
    case 'add':
    case 'delete': {
      let changed = 0n;
      for (let v = BigInt(op.first); v <= BigInt(op.last); v++) {
        if (model.has(v) === (op.kind === 'delete')) changed++;
        if (op.kind === 'add') model.add(v);
        else model.delete(v);
      }
      assert.equal(s[op.kind](BigInt(op.first), BigInt(op.last)), changed, `${op.kind} count`);
      break;
    }
    case 'countIn': {
      let count = 0n;
      for (let v = BigInt(op.first); v <= BigInt(op.last); v++) if (model.has(v)) count++;
      assert.equal(s.countIn(BigInt(op.first), BigInt(op.last)), count);
      break;
    }
    case 'has':
      assert.equal(s.has(BigInt(op.value)), model.has(BigInt(op.value)));
      break;
    case 'firstAbsentFrom': {
      let v = BigInt(op.value);
      while (model.has(v)) v++;
      assert.equal(s.firstAbsentFrom(BigInt(op.value)), v);
      break;
    }
    case 'firstPresentFrom': {
      let expected: bigint | undefined;
      for (let v = BigInt(op.value); v <= BigInt(UNIVERSE) && expected === undefined; v++) {
        if (model.has(v)) expected = v;
      }
      assert.equal(s.firstPresentFrom(BigInt(op.value)), expected);
      break;
    }
    case 'clear':
      s.clear();
      model.clear();
      break;
  }
}

describe('IntervalSet against a Set<bigint> model', () => {
  it('agrees on every operation and keeps its invariants after every step', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        const s = new IntervalSet();
        const model = new Set<bigint>();
        for (const op of ops) {
          apply(s, model, op);
          assertWellFormed(s);
          assert.deepEqual(listOf(s), modelIntervals(model));
          assert.equal(s.size, BigInt(model.size));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('stays balanced under long runs of single-value changes', () => {
    const single = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 2000 }));
    fc.assert(
      fc.property(fc.array(single, { minLength: 200, maxLength: 2000 }), (changes) => {
        const s = new IntervalSet();
        for (const [add, v] of changes) {
          if (add) s.add(BigInt(v));
          else s.delete(BigInt(v));
          assert.ok(s.height <= avlHeightBound(s.intervalCount));
        }
        s.assertInvariants();
      }),
      { numRuns: 50 },
    );
  });
});

describe('avlHeightBound', () => {
  it('matches the minimal-node AVL trees (Fibonacci trees) for small heights', () => {
    // The fewest nodes an AVL tree of height h can have: N(h) = N(h-1) + N(h-2) + 1.
    const fewest = [0, 1];
    for (let h = 2; h <= 30; h++) fewest.push(fewest[h - 1]! + fewest[h - 2]! + 1);
    for (let h = 1; h <= 30; h++) {
      assert.equal(avlHeightBound(fewest[h]!), h, `N(${h}) = ${fewest[h]}`);
      assert.equal(avlHeightBound(fewest[h]! - 1), h - 1, `N(${h}) - 1`);
    }
  });
});
