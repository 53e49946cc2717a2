import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from './duration.js';

test('parses the units leader-election flags use', () => {
  assert.equal(parseDuration('15s'), 15_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1m'), 60_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration(' 10s '), 10_000);
});

test('parses fractions and compound durations like Go', () => {
  assert.equal(parseDuration('1.5s'), 1_500);
  assert.equal(parseDuration('.5s'), 500);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('1h1m1s1ms'), 3_661_001);
});

test('rejects what is not a duration, with a one-line message', () => {
  for (const bad of ['', '15', '-1s', '1x', 's', '1s ms', '1.s', '1m30', 'ten seconds']) {
    assert.throws(
      () => parseDuration(bad),
      (err: Error) => err.message.startsWith('invalid duration') && !err.message.includes('\n'),
      bad,
    );
  }
});
