import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeDelay } from './delay.js';

describe('judgeDelay', () => {
  it('learns the baseline from the first heartbeat, whatever the clock offset', () => {
    assert.deepEqual(judgeDelay(undefined, 1_000_000, 5, 5, 300), {
      late: false,
      base: { least: -999_995, at: 5 },
    });
  });

  it('accepts up to the limit beyond the quickest delivery seen, and keeps the quickest', () => {
    const base = { least: 10, at: 0 };
    assert.deepEqual(judgeDelay(base, 0, 310, 0, 300), { late: false, base: { least: 10, at: 0 } });
    assert.deepEqual(judgeDelay(base, 0, 4, 0, 300), { late: false, base: { least: 4, at: 0 } });
    assert.deepEqual(judgeDelay(base, 0, 311, 0, 300), { late: true, byMs: 301 });
  });

  it('lets the baseline rise by 1 ms a second, for clocks that run at different rates', () => {
    const base = { least: 10, at: 0 };
    assert.equal(judgeDelay(base, 0, 320, 10_000, 300).late, false);
    assert.equal(judgeDelay(base, 0, 321, 10_000, 300).late, true);
  });
});
