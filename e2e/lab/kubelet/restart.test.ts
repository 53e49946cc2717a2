import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  backoffCount,
  crashLoopMessage,
  goDuration,
  planRestart,
  restartDelayMs,
  shouldRestart,
} from './restart.js';

describe('shouldRestart', () => {
  it('follows the restartPolicy, Always by default', () => {
    const table: [Parameters<typeof shouldRestart>[0], number, boolean][] = [
      [undefined, 0, true],
      [undefined, 1, true],
      ['Always', 0, true],
      ['Always', 137, true],
      ['OnFailure', 0, false],
      ['OnFailure', 1, true],
      ['OnFailure', 143, true],
      ['Never', 0, false],
      ['Never', 2, false],
    ];
    for (const [policy, code, want] of table)
      assert.equal(shouldRestart(policy, code), want, `${policy} ${code}`);
  });
});

describe('restartDelayMs', () => {
  it('restarts at once, then doubles from 10 s up to 5 min', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6, 7, 100].map((n) => restartDelayMs(n));
    assert.deepEqual(delays, [0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  it('takes a smaller base and cap for the lab', () => {
    const delays = [0, 1, 2, 3, 4].map((n) => restartDelayMs(n, { baseMs: 100, maxMs: 500 }));
    assert.deepEqual(delays, [0, 100, 200, 400, 500]);
  });

  it('never decreases and stays within [0, max]', () => {
    fc.assert(
      fc.property(
        fc.nat(10_000),
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 1, max: 600_000 }),
        (n, baseMs, maxMs) => {
          const d = restartDelayMs(n, { baseMs, maxMs });
          assert.ok(d >= 0 && d <= maxMs && d <= restartDelayMs(n + 1, { baseMs, maxMs }));
        },
      ),
    );
  });
});

describe('back-off reset', () => {
  it('resets after a run of 10 minutes (2 × max), or 2 × a smaller max', () => {
    assert.equal(backoffCount(5, 0, 599_999), 5);
    assert.equal(backoffCount(5, 0, 600_000), 0);
    assert.equal(backoffCount(5, 0, 1000, { maxMs: 500 }), 0);
    assert.equal(backoffCount(5, 0, 999, { maxMs: 500 }), 5);
    assert.equal(backoffCount(5, 0, 999, { maxMs: 500, resetAfterMs: 2000 }), 5);
  });
});

describe('planRestart', () => {
  it('walks a crash loop: immediate, 10 s, 20 s, then starts over after a long run', () => {
    let count = 0;
    let t = 0;
    const delays: number[] = [];
    for (const ran of [1000, 1000, 1000, 700_000, 1000]) {
      const plan = planRestart('Always', {
        exitCode: 1,
        startedAt: t,
        finishedAt: t + ran,
        backoffCount: count,
      });
      assert.ok(plan.restart);
      delays.push(plan.delayMs);
      assert.equal(plan.at, t + ran + plan.delayMs);
      count = plan.backoffCount;
      t = plan.at;
    }
    assert.deepEqual(delays, [0, 10_000, 20_000, 0, 10_000]);
  });

  it('does not restart what the policy keeps stopped', () => {
    assert.deepEqual(
      planRestart('OnFailure', { exitCode: 0, startedAt: 0, finishedAt: 1, backoffCount: 0 }),
      {
        restart: false,
      },
    );
    assert.deepEqual(planRestart('Never', { exitCode: 1, startedAt: 0, finishedAt: 1, backoffCount: 3 }), {
      restart: false,
    });
  });
});

describe('messages', () => {
  it('formats durations as Go does', () => {
    const table: [number, string][] = [
      [0, '0s'],
      [250, '250ms'],
      [1500, '1.5s'],
      [10_000, '10s'],
      [80_000, '1m20s'],
      [300_000, '5m0s'],
      [3_723_000, '1h2m3s'],
    ];
    for (const [ms, want] of table) assert.equal(goDuration(ms), want);
  });

  it('says what the kubelet says in CrashLoopBackOff', () => {
    assert.equal(
      crashLoopMessage(20_000, 'echo', { name: 'echo-abc', namespace: 'demo', uid: 'u1' }),
      'back-off 20s restarting failed container=echo pod=echo-abc_demo(u1)',
    );
  });
});
