import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type DecideInput,
  decide,
  type LeaderElectionTimings,
  leaderElectionTimings,
  leaseDurationSeconds,
  type Observation,
  observe,
  releaseSpec,
} from './leader-election-core.js';
import { formatMicroTime } from './time.js';
import type { Lease } from './types.js';

const WALL = Date.UTC(2026, 0, 1);
const T0 = '2026-01-01T00:00:00.000000Z';

function lease(spec: Lease['spec']): Lease {
  return { metadata: { name: 'portico', namespace: 'kube-system', resourceVersion: '7' }, spec };
}

const held = (holder: string, extra: Lease['spec'] = {}) =>
  lease({
    holderIdentity: holder,
    leaseDurationSeconds: 15,
    acquireTime: T0,
    renewTime: T0,
    leaseTransitions: 3,
    ...extra,
  });

function input(overrides: Partial<DecideInput>): DecideInput {
  return {
    lease: undefined,
    identity: 'me',
    now: 1_000,
    wallNow: WALL,
    leaseDurationMs: 15_000,
    observed: undefined,
    ...overrides,
  };
}

test('formats timestamps as metav1.MicroTime', () => {
  assert.equal(formatMicroTime(WALL), T0);
  assert.equal(formatMicroTime(WALL + 1_234), '2026-01-01T00:00:01.234000Z');
});

test('rounds the written lease duration up to whole seconds', () => {
  assert.equal(leaseDurationSeconds(15_000), 15);
  assert.equal(leaseDurationSeconds(1_500), 2);
  assert.equal(leaseDurationSeconds(200), 1);
});

test('no lease: create it, holding it from now with no transitions', () => {
  const d = decide(input({ wallNow: WALL + 5_000 }));
  assert.equal(d.action, 'acquire');
  assert.ok(d.action === 'acquire' && d.create);
  assert.deepEqual(d.spec, {
    holderIdentity: 'me',
    leaseDurationSeconds: 15,
    acquireTime: '2026-01-01T00:00:05.000000Z',
    renewTime: '2026-01-01T00:00:05.000000Z',
    leaseTransitions: 0,
  });
});

test('a lease with no holder (released) is taken at once, counting a transition', () => {
  const released = lease({ ...releaseSpec(held('other').spec, WALL) });
  const d = decide(input({ lease: released }));
  assert.equal(d.action, 'acquire');
  assert.ok(d.action === 'acquire' && !d.create && d.previousHolder === '');
  assert.equal(d.spec.leaseTransitions, 4);
  assert.equal(d.spec.holderIdentity, 'me');
});

test('held by another and freshly observed: wait until a lease duration after our observation', () => {
  const d = decide(input({ lease: held('other'), now: 1_000 }));
  assert.equal(d.action, 'wait');
  assert.ok(d.action === 'wait');
  assert.equal(d.holder, 'other');
  assert.equal(d.expiresAt, 16_000);
  assert.equal(d.observed.at, 1_000);
});

test('held by another, unchanged for a lease duration since we first saw it: take it over', () => {
  const first = decide(input({ lease: held('other'), now: 1_000 }));
  const almost = decide(input({ lease: held('other'), now: 15_999, observed: first.observed }));
  assert.equal(almost.action, 'wait');
  const d = decide(input({ lease: held('other'), now: 16_000, observed: almost.observed }));
  assert.equal(d.action, 'acquire');
  assert.ok(d.action === 'acquire' && !d.create && d.previousHolder === 'other');
  assert.equal(d.spec.leaseTransitions, 4);
  assert.equal(d.spec.acquireTime, T0);
  assert.equal(d.spec.holderIdentity, 'me');
});

test('a renewal by the holder restarts our observation, however late it comes', () => {
  const first = decide(input({ lease: held('other'), now: 1_000 }));
  const renewed = held('other', { renewTime: '2026-01-01T00:00:14.000000Z' });
  const d = decide(input({ lease: renewed, now: 20_000, observed: first.observed }));
  assert.equal(d.action, 'wait');
  assert.ok(d.action === 'wait' && d.expiresAt === 35_000);
});

test("the holder's own lease duration, as written in the lease, decides its expiry", () => {
  const short = held('other', { leaseDurationSeconds: 2 });
  const seen = observe(short, 0, undefined);
  assert.equal(decide(input({ lease: short, now: 1_999, observed: seen })).action, 'wait');
  assert.equal(decide(input({ lease: short, now: 2_000, observed: seen })).action, 'acquire');
  const none = held('other', { leaseDurationSeconds: null });
  assert.equal(
    decide(input({ lease: none, now: 14_999, observed: observe(none, 0, undefined) })).action,
    'wait',
  );
});

test('held by us: renew, keeping acquireTime and the transition count', () => {
  const d = decide(input({ lease: held('me'), wallNow: WALL + 2_000 }));
  assert.equal(d.action, 'renew');
  assert.deepEqual(d.spec, {
    holderIdentity: 'me',
    leaseDurationSeconds: 15,
    acquireTime: T0,
    renewTime: '2026-01-01T00:00:02.000000Z',
    leaseTransitions: 3,
  });
});

test('clock skew: a remote renewTime far in the future or the past does not matter', () => {
  for (const renewTime of ['2099-01-01T00:00:00.000000Z', '1999-01-01T00:00:00.000000Z']) {
    const skewed = held('other', { renewTime, acquireTime: renewTime });
    const first = decide(input({ lease: skewed, now: 50_000 }));
    assert.equal(first.action, 'wait', renewTime);
    const later = decide(input({ lease: skewed, now: 64_999, observed: first.observed }));
    assert.equal(later.action, 'wait', renewTime);
    const expired = decide(input({ lease: skewed, now: 65_000, observed: later.observed }));
    assert.equal(expired.action, 'acquire', renewTime);
  }
});

test('observations key on the spec only, ignoring metadata, field order and null vs absent', () => {
  const a = held('other');
  const b: Lease = {
    metadata: { name: 'portico', resourceVersion: '8' },
    spec: {
      leaseTransitions: 3,
      renewTime: T0,
      acquireTime: T0,
      leaseDurationSeconds: 15,
      holderIdentity: 'other',
    },
  };
  const first: Observation = observe(a, 1, undefined);
  assert.equal(observe(b, 2, first), first);
  assert.equal(observe(lease({ holderIdentity: null }), 3, observe(lease({}), 1, undefined)).at, 1);
  assert.equal(observe(held('other', { leaseTransitions: 4 }), 5, first).at, 5);
});

test('release gives the lease up so a follower takes it at once, keeping the transition count', () => {
  const spec = releaseSpec(held('me').spec, WALL + 3_000);
  assert.deepEqual(spec, {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: '2026-01-01T00:00:03.000000Z',
    renewTime: '2026-01-01T00:00:03.000000Z',
    leaseTransitions: 3,
  });
  const follower = decide(input({ identity: 'other', lease: lease(spec), observed: undefined }));
  assert.equal(follower.action, 'acquire');
  assert.equal(follower.spec.leaseTransitions, 4);
});

test('timings: client-go defaults, and its checks as one-line errors', () => {
  assert.deepEqual(leaderElectionTimings(), {
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
  });
  const fast = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };
  assert.deepEqual(leaderElectionTimings(fast), fast);
  assert.equal(leaderElectionTimings({ leaseDurationMs: undefined }).leaseDurationMs, 15_000);
  const bad: [Partial<LeaderElectionTimings>, RegExp][] = [
    [{ leaseDurationMs: 10_000 }, /lease duration must be greater than the renew deadline/],
    [{ retryPeriodMs: 9_000 }, /renew deadline must be greater than the retry period × 1.2/],
    [{ renewDeadlineMs: 2_400 }, /retry period × 1.2/],
    [{ retryPeriodMs: 0 }, /greater than zero/],
    [{ leaseDurationMs: Number.NaN }, /greater than zero/],
  ];
  for (const [given, message] of bad) {
    assert.throws(
      () => leaderElectionTimings(given),
      (err: Error) => message.test(err.message) && !err.message.includes('\n'),
    );
  }
});
