import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { advanceHandover, beginHandover, claimedByLivePeers } from './handover.js';
import type { MembershipView, MemberView } from './types.js';

const ips = ['198.51.100.1', '198.51.100.2', '2001:db8::3'];

describe('hand-over', () => {
  it('keeps answering each IP until a live peer claims it', () => {
    let h = beginHandover(ips, 1_000, 2_000);
    assert.equal(h.deadline, 3_000);
    let step = advanceHandover(h, new Set(), 1_050);
    assert.deepEqual(step.release, []);
    assert.equal(step.done, false);
    step = advanceHandover(h, new Set(['198.51.100.2', '203.0.113.99']), 1_100);
    assert.deepEqual(step.release, ['198.51.100.2']);
    h = step.handover;
    assert.deepEqual([...h.holding], ['198.51.100.1', '2001:db8::3']);
    step = advanceHandover(h, new Set(['198.51.100.1', '2001:db8::3']), 1_120);
    assert.deepEqual(step.release, ['198.51.100.1', '2001:db8::3']);
    assert.equal(step.done, true);
  });

  it('releases whatever nobody claimed at the deadline', () => {
    const h = beginHandover(ips, 0, 500);
    assert.deepEqual(advanceHandover(h, new Set(), 499).release, []);
    const step = advanceHandover(h, new Set(), 500);
    assert.deepEqual(step.release, ips);
    assert.equal(step.done, true);
  });

  it('is done at once with nothing to hand over, and rejects a negative grace', () => {
    assert.equal(advanceHandover(beginHandover([], 0), new Set(), 0).done, true);
    assert.throws(() => beginHandover(ips, 0, -1), /grace must be >= 0 ms/);
  });

  it('counts only the claims of live peers as taken over', () => {
    const peer = (name: string, state: MemberView['state'], claims: string[]): MemberView => ({
      name,
      state,
      incarnation: 1,
      lastHeardAt: 0,
      direct: true,
      hearsUs: true,
      minority: false,
      claims: new Set(claims),
    });
    const view: MembershipView = {
      self: 'me',
      status: 'leaving',
      minority: false,
      live: ['a'],
      peers: [
        peer('a', 'alive', ['198.51.100.1']),
        peer('b', 'down', ['198.51.100.2']),
        peer('c', 'left', ['2001:db8::3']),
      ],
    };
    assert.deepEqual([...claimedByLivePeers(view)], ['198.51.100.1']);
  });
});
