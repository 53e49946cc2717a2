import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../testing/fake-clock.js';
import {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  type RateLimiter,
} from './rate-limiter.js';

const whens = (limiter: RateLimiter, key: string, n: number) =>
  Array.from({ length: n }, () => limiter.when(key));

describe('ItemExponentialFailureRateLimiter', () => {
  it('doubles from 5 ms per failure and counts retries', () => {
    const limiter = new ItemExponentialFailureRateLimiter();
    assert.equal(limiter.retries('a'), 0);
    assert.deepEqual(whens(limiter, 'a', 5), [5, 10, 20, 40, 80]);
    assert.equal(limiter.retries('a'), 5);
  });

  it('tracks keys independently and forget resets one key only', () => {
    const limiter = new ItemExponentialFailureRateLimiter();
    whens(limiter, 'a', 3);
    assert.equal(limiter.when('b'), 5);
    limiter.forget('a');
    assert.equal(limiter.retries('a'), 0);
    assert.equal(limiter.retries('b'), 1);
    assert.equal(limiter.when('a'), 5);
    assert.equal(limiter.when('b'), 10);
  });

  it('caps at the configured maximum', () => {
    const limiter = new ItemExponentialFailureRateLimiter({ baseDelayMs: 1, maxDelayMs: 8 });
    assert.deepEqual(whens(limiter, 'a', 6), [1, 2, 4, 8, 8, 8]);
  });

  it('caps at 1000 s by default and stays finite after very many failures', () => {
    const limiter = new ItemExponentialFailureRateLimiter();
    const delays = whens(limiter, 'a', 2000);
    assert.equal(delays[17], 655_360);
    assert.equal(delays[18], 1_000_000);
    assert.equal(delays.at(-1), 1_000_000);
    assert.equal(limiter.retries('a'), 2000);
  });

  it('rejects nonsensical options', () => {
    assert.throws(() => new ItemExponentialFailureRateLimiter({ baseDelayMs: -1 }), RangeError);
    assert.throws(
      () => new ItemExponentialFailureRateLimiter({ baseDelayMs: 10, maxDelayMs: 5 }),
      RangeError,
    );
    assert.throws(() => new ItemExponentialFailureRateLimiter({ baseDelayMs: Number.NaN }), RangeError);
  });
});

describe('BucketRateLimiter', () => {
  it('lets a burst through, then spaces callers 1/qps apart', () => {
    const limiter = new BucketRateLimiter(new FakeClock(), { qps: 10, burst: 3 });
    assert.deepEqual(
      ['a', 'b', 'c', 'd', 'e'].map((k) => limiter.when(k)),
      [0, 0, 0, 100, 200],
    );
  });

  it('refills over time, but never beyond the burst', async () => {
    const clock = new FakeClock();
    const limiter = new BucketRateLimiter(clock, { qps: 10, burst: 3 });
    whens(limiter, 'x', 5); // two tokens in debt
    await clock.advance(200); // debt repaid
    assert.equal(limiter.when('x'), 100);
    await clock.advance(60_000);
    assert.deepEqual(whens(limiter, 'x', 4), [0, 0, 0, 100]);
  });

  it('has no per-key memory', () => {
    const limiter = new BucketRateLimiter(new FakeClock());
    limiter.when('a');
    assert.equal(limiter.retries('a'), 0);
  });

  it('defaults to 10 qps with a burst of 100', () => {
    const limiter = new BucketRateLimiter(new FakeClock());
    const delays = whens(limiter, 'a', 102);
    assert.ok(delays.slice(0, 100).every((d) => d === 0));
    assert.deepEqual(delays.slice(100), [100, 200]);
  });

  it('rejects nonsensical options', () => {
    assert.throws(() => new BucketRateLimiter(new FakeClock(), { qps: 0 }), RangeError);
    assert.throws(() => new BucketRateLimiter(new FakeClock(), { burst: 0 }), RangeError);
  });
});

describe('MaxOfRateLimiter', () => {
  it('returns the longest delay, and every limiter sees every failure', () => {
    const clock = new FakeClock();
    const limiter = new MaxOfRateLimiter(
      new ItemExponentialFailureRateLimiter({ baseDelayMs: 1 }),
      new BucketRateLimiter(clock, { qps: 100, burst: 2 }),
    );
    // exponential: 1, 2, 4, 8; bucket: 0, 0, 10, 20
    assert.deepEqual(whens(limiter, 'a', 4), [1, 2, 10, 20]);
    assert.equal(limiter.retries('a'), 4);
    limiter.forget('a');
    assert.equal(limiter.retries('a'), 0);
  });

  it('needs at least one limiter', () => {
    assert.throws(() => new MaxOfRateLimiter(), RangeError);
  });
});

describe('defaultControllerRateLimiter', () => {
  it('backs off per key and throttles overall once the burst of 100 is spent', () => {
    const limiter = defaultControllerRateLimiter(new FakeClock());
    const firstFailures = Array.from({ length: 100 }, (_, i) => limiter.when(`k${i}`));
    assert.ok(firstFailures.every((d) => d === 5));
    assert.equal(limiter.when('k100'), 100);
    assert.equal(limiter.retries('k0'), 1);
  });
});
