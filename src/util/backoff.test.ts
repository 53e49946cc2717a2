import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff } from './backoff.js';

const take = (b: Backoff, n: number): number[] => Array.from({ length: n }, () => b.next());

describe('Backoff', () => {
  it('without jitter, grows by the factor and caps at max', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 }, () => 0.5);
    assert.deepEqual(take(b, 7), [100, 200, 400, 800, 1000, 1000, 1000]);
    assert.equal(b.attempts, 7);
  });

  it('uses factor 2 by default and honours another factor', () => {
    assert.deepEqual(take(new Backoff({ initialMs: 10, maxMs: 1e9, jitter: 0 }), 4), [10, 20, 40, 80]);
    assert.deepEqual(
      take(new Backoff({ initialMs: 10, maxMs: 1e9, factor: 3, jitter: 0 }), 4),
      [10, 30, 90, 270],
    );
  });

  it('with random = 1 every delay is the full base delay', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5 }, () => 1);
    assert.deepEqual(take(b, 6), [100, 200, 400, 800, 1000, 1000]);
  });

  it('with random = 0 every delay is base * (1 - jitter)', () => {
    assert.deepEqual(
      take(new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5 }, () => 0), 6),
      [50, 100, 200, 400, 500, 500],
    );
    assert.deepEqual(
      take(new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.2 }, () => 0), 3),
      [80, 160, 320],
    );
  });

  it('defaults to 50% jitter', () => {
    assert.equal(new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0).next(), 50);
    assert.equal(new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0.5).next(), 75);
  });

  it('jittered delays stay within [base * (1 - jitter), base] and never exceed max', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const b = new Backoff({ initialMs: 50, maxMs: 3000, factor: 2, jitter: 0.3 }, random);
    for (let i = 0; i < 20; i++) {
      const base = Math.min(3000, 50 * 2 ** i);
      const d = b.next();
      assert.ok(d >= base * 0.7 && d <= base, `attempt ${i}: ${d} outside [${base * 0.7}, ${base}]`);
    }
  });

  it('reset() starts again from the initial delay', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    take(b, 5);
    assert.equal(b.attempts, 5);
    b.reset();
    assert.equal(b.attempts, 0);
    assert.deepEqual(take(b, 2), [100, 200]);
  });

  it('does not overflow after very many failures', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    take(b, 2000);
    assert.equal(b.next(), 1000);
  });
});
