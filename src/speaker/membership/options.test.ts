import assert from 'node:assert/strict';
import { it } from 'node:test';
import { DEFAULT_MEMBERSHIP_OPTIONS, membershipOptions } from './options.js';

it('membership options: defaults, overrides, and a one-line error for impossible timings', () => {
  assert.deepEqual(membershipOptions(), DEFAULT_MEMBERSHIP_OPTIONS);
  assert.deepEqual(membershipOptions({ intervalMs: 50, suspectAfterMs: 80, timeoutMs: 150 }), {
    ...DEFAULT_MEMBERSHIP_OPTIONS,
    intervalMs: 50,
    suspectAfterMs: 80,
    timeoutMs: 150,
  });
  assert.throws(
    () => membershipOptions({ timeoutMs: 120 }),
    /^RangeError: invalid membership options \(interval 100 ms, suspectAfter 150 ms, timeout 120 ms, .*\): the interval must be shorter than suspectAfter, and suspectAfter shorter than the timeout$/,
  );
  assert.throws(() => membershipOptions({ intervalMs: 1.5 }), /every option must be a non-negative integer/);
  assert.throws(
    () => membershipOptions({ maxDatagramBytes: 500 }),
    /maxDatagramBytes must be between 524 and 65507/,
  );
  assert.throws(() => membershipOptions({ relayFanout: 9 }), /relayFanout must be at most 8/);
});
