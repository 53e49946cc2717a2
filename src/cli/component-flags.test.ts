import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBindAddress, parseComponentFlags } from './component-flags.js';
import { CliError } from './connect.js';

const controller = { metricsPort: 7472, leaderElect: true, leaseName: 'portico-controller' };
const speaker = { metricsPort: 7473, leaderElect: false, leaseName: '' };

const rejects = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(
    fn,
    (err: unknown) => err instanceof CliError && err.exitCode === 2 && pattern.test(err.message),
  );

describe('component flags', () => {
  it('defaults to client-go leader election timings and the component metrics port', () => {
    const flags = parseComponentFlags([], controller);
    assert.deepEqual(flags.leaderElection, {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      namespace: undefined,
      name: 'portico-controller',
    });
    assert.equal(flags.leaderElect, true);
    assert.deepEqual(flags.metricsBindAddress, { host: '0.0.0.0', port: 7472 });
  });

  it('takes durations as flags', () => {
    const flags = parseComponentFlags(
      [
        '--leader-elect-lease-duration=4s',
        '--leader-elect-renew-deadline',
        '3s',
        '--leader-elect-retry-period=500ms',
        '--leader-elect=false',
      ],
      controller,
    );
    assert.equal(flags.leaderElection.leaseDurationMs, 4000);
    assert.equal(flags.leaderElection.renewDeadlineMs, 3000);
    assert.equal(flags.leaderElection.retryPeriodMs, 500);
    assert.equal(flags.leaderElect, false);
  });

  it('rejects inconsistent or malformed values with one line and exit code 2', () => {
    rejects(
      () => parseComponentFlags(['--leader-elect-lease-duration=5s'], controller),
      /greater than the renew/,
    );
    rejects(() => parseComponentFlags(['--leader-elect-retry-period=soon'], controller), /retry-period/);
    rejects(() => parseComponentFlags(['--leader-elect=maybe'], controller), /true or false/);
    rejects(() => parseComponentFlags(['--leader-elect=true'], speaker), /leader-elect/);
    rejects(() => parseComponentFlags(['--bogus'], speaker), /bogus/);
  });

  it('parses bind addresses', () => {
    assert.deepEqual(parseBindAddress(':9100'), { host: '0.0.0.0', port: 9100 });
    assert.deepEqual(parseBindAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseBindAddress('[::1]:8080'), { host: '::1', port: 8080 });
    rejects(() => parseBindAddress('9100'), /must look like/);
    rejects(() => parseBindAddress(':70000'), /must look like/);
  });
});
