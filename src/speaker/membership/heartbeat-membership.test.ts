// Two heartbeat workers on loopback, with real UDP sockets and timers: they find each other, see each
// other's claims, and one notices the other's death within the timeout even while the main thread
// is blocked, which is why the loop lives in a worker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeartbeatMembership } from './heartbeat-membership.js';
import type { MembershipView } from './types.js';

const SECRET = 'portico-test-secret-0123456789';

function member(self: string, port: number, onView: (v: MembershipView) => void) {
  return new HeartbeatMembership({
    self,
    incarnation: Date.now(),
    secrets: [SECRET],
    options: {},
    bindAddress: '127.0.0.1',
    port,
    onView,
    onFatal: (err) => assert.fail(err),
  });
}

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('heartbeat membership in a worker thread', () => {
  it('two members see each other and their claims, and a dead one is noticed within about 300 ms though the main thread is blocked', async () => {
    // Both on 127.0.0.1 need distinct ports; peers are addressed by IP and the shared port, so run
    // the pair on two loopback addresses instead.
    let viewA: MembershipView | undefined;
    let viewB: MembershipView | undefined;
    const port = 20000 + (process.pid % 20000);
    const a = new HeartbeatMembership({
      self: 'node-a',
      incarnation: Date.now(),
      secrets: [SECRET],
      options: {},
      bindAddress: '127.0.0.1',
      port,
      onView: (v) => {
        viewA = v;
      },
      onFatal: (err) => assert.fail(err),
    });
    const b = new HeartbeatMembership({
      self: 'node-b',
      incarnation: Date.now(),
      secrets: [SECRET],
      options: {},
      bindAddress: '127.0.0.2',
      port,
      onView: (v) => {
        viewB = v;
      },
      onFatal: (err) => assert.fail(err),
    });
    try {
      await Promise.all([a.listening, b.listening]);
      a.setPeers([{ name: 'node-b', address: '127.0.0.2' }]);
      b.setPeers([{ name: 'node-a', address: '127.0.0.1' }]);
      b.setClaims(['203.0.113.10']);
      await until('both to be live', () =>
        viewA?.live.join() === 'node-a,node-b' && viewB?.live.join() === 'node-a,node-b' ? true : undefined,
      );
      await until('a to see b claim 203.0.113.10', () =>
        viewA?.peers.find((p) => p.name === 'node-b')?.claims.has('203.0.113.10') ? true : undefined,
      );

      const stoppedAt = performance.now();
      await b.stop();
      // Block the main thread for half a second: the worker must detect the death meanwhile.
      const busyUntil = performance.now() + 500;
      while (performance.now() < busyUntil) {
        // spin
      }
      const down = await until('a to see b down', () => {
        const peer = viewA?.peers.find((p) => p.name === 'node-b');
        return peer && peer.state === 'down' ? peer : undefined;
      });
      assert.deepEqual(viewA?.live, ['node-a']);
      assert.ok(down.lastHeardAt !== undefined);
      // The view arrived after the spin, but the worker decided within the timeout of the last heartbeat.
      assert.ok(performance.now() - stoppedAt < 1500);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('ignores a member whose secret differs', async () => {
    let viewA: MembershipView | undefined;
    const port = 20001 + (process.pid % 20000);
    const a = member('node-a', port, (v) => {
      viewA = v;
    });
    const b = new HeartbeatMembership({
      self: 'node-b',
      incarnation: Date.now(),
      secrets: ['another-secret-0123456789abcdef'],
      options: {},
      bindAddress: '127.0.0.2',
      port,
      onView: () => {},
      onFatal: (err) => assert.fail(err),
    });
    try {
      await Promise.all([a.listening, b.listening]);
      a.setPeers([{ name: 'node-b', address: '127.0.0.2' }]);
      b.setPeers([{ name: 'node-a', address: '127.0.0.1' }]);
      await new Promise((r) => setTimeout(r, 600));
      assert.deepEqual(viewA?.live ?? ['node-a'], ['node-a']);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
