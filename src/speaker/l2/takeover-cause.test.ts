import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failoverSeconds, takeoverCause } from './takeover-cause.js';

const base = {
  self: 'node-2',
  live: new Set(['node-2', 'node-3']),
  eligible: new Set(['node-1', 'node-2']),
  now: 10_000,
};

describe('takeover cause', () => {
  it('tells a first announcement, a dead or cut-off node, a node shutting down, an ineligible node and a rebalance apart', () => {
    assert.equal(
      takeoverCause({ ...base, previous: undefined, departure: undefined }),
      'first announcement of this Service',
    );
    assert.match(
      takeoverCause({
        ...base,
        previous: 'node-1',
        departure: { member: 'node-1', cause: 'timeout', silentSince: 0 },
      }),
      /took over from node-1, whose speaker stopped answering heartbeats/,
    );
    assert.match(
      takeoverCause({
        ...base,
        previous: 'node-1',
        departure: { member: 'node-1', cause: 'leaving', silentSince: 0 },
      }),
      /node-1, whose speaker is shutting down/,
    );
    assert.match(
      takeoverCause({ ...base, previous: 'node-3', departure: undefined }),
      /node-3, which may no longer announce it \(NetworkUnavailable/,
    );
    assert.match(
      takeoverCause({
        ...base,
        live: new Set(['node-1', 'node-2']),
        previous: 'node-1',
        departure: undefined,
      }),
      /placement moved it/,
    );
  });

  it('names a restart of the previous speaker, while it is recent', () => {
    const restarted = { member: 'node-3', cause: 'restart' as const, silentSince: 9_000 };
    assert.match(
      takeoverCause({ ...base, previous: 'node-3', departure: restarted }),
      /took over from node-3, whose speaker restarted/,
    );
    assert.match(
      takeoverCause({ ...base, now: 9_000 + 60_000, previous: 'node-3', departure: restarted }),
      /node-3, which may no longer announce it/,
      'a restart a minute ago explains nothing',
    );
  });

  it('measures a failover from the last heartbeat heard, and none for a graceful hand-over', () => {
    assert.equal(failoverSeconds({ member: 'node-1', cause: 'timeout', silentSince: 1000 }, 1350), 0.35);
    assert.equal(failoverSeconds({ member: 'node-1', cause: 'leaving', silentSince: 1000 }, 1350), undefined);
    assert.equal(failoverSeconds({ member: 'node-1', cause: 'restart', silentSince: 1000 }, 1350), undefined);
    assert.equal(failoverSeconds(undefined, 1350), undefined);
  });
});
