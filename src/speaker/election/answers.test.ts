import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AnswerInput, claimsOf, decideAnswers, eligibilityLookup, type PeerClaims } from './answers.js';
import { type IpEligibility, place } from './placement.js';

const IP = '198.51.100.20';
const demands: IpEligibility[] = [{ ip: IP, eligible: ['a', 'b', 'c'] }];

/** The owner of IP among a, b, c, found rather than assumed, so the tests do not depend on the hash. */
const placement = place({ ips: demands, live: ['a', 'b', 'c'], mode: 'revertive' });
const owner = placement.assignments.get(IP)!.owner!;
const others = ['a', 'b', 'c'].filter((n) => n !== owner);
const [other1, other2] = others as [string, string];

function input(overrides: Partial<AnswerInput>): AnswerInput {
  return {
    self: owner,
    placement,
    answering: new Set(),
    peers: others.map((node) => ({ node, claims: new Set(), hearsUs: true })),
    isEligible: eligibilityLookup(demands),
    ...overrides,
  };
}

const peer = (node: string, claims: string[], hearsUs = true): PeerClaims => ({
  node,
  claims: new Set(claims),
  hearsUs,
});

describe('decideAnswers', () => {
  it('starts an IP it owns that nobody claims (failover)', () => {
    const d = decideAnswers(input({}));
    assert.deepEqual([...d.answer], [IP]);
    assert.deepEqual(d.start, [IP]);
    assert.deepEqual(d.stop, []);
  });

  it('stops at once an IP it answers but no longer owns', () => {
    const d = decideAnswers(input({ self: other1, answering: new Set([IP]) }));
    assert.deepEqual([...d.answer], []);
    assert.deepEqual(d.stop, [IP]);
  });

  it('waits for a live eligible claimant to release before starting (break-before-make)', () => {
    const d = decideAnswers(input({ peers: [peer(other1, [IP]), peer(other2, [])] }));
    assert.deepEqual([...d.answer], []);
    assert.deepEqual(d.held, [{ ip: IP, reason: 'waitingForRelease', holder: other1 }]);
    const released = decideAnswers(input({ peers: [peer(other1, []), peer(other2, [])] }));
    assert.deepEqual(released.start, [IP]);
  });

  it('takes over at once from a claimant that is no longer eligible', () => {
    const narrowed: IpEligibility[] = [{ ip: IP, eligible: [owner, other2] }];
    const d = decideAnswers(input({ peers: [peer(other1, [IP])], isEligible: eligibilityLookup(narrowed) }));
    assert.deepEqual(d.start, [IP]);
  });

  it('keeps answering an IP it owns even while a peer still claims it', () => {
    const d = decideAnswers(input({ answering: new Set([IP]), peers: [peer(other1, [IP])] }));
    assert.deepEqual([...d.answer], [IP]);
    assert.deepEqual(d.start, []);
  });

  it('yields an IP to a claimant that does not hear us (one-way link)', () => {
    const d = decideAnswers(input({ answering: new Set([IP]), peers: [peer(other1, [IP], false)] }));
    assert.deepEqual([...d.answer], []);
    assert.deepEqual(d.stop, [IP]);
    assert.deepEqual(d.held, [{ ip: IP, reason: 'yieldedToPeerThatCannotHearUs', holder: other1 }]);
    assert.deepEqual([...claimsOf(d)], [IP], 'a yielded IP stays claimed, so nobody else takes it');
  });

  it('claims only what it answers when it waits for a release', () => {
    const d = decideAnswers(input({ peers: [peer(other1, [IP])] }));
    assert.equal(d.held[0]?.reason, 'waitingForRelease');
    assert.deepEqual([...claimsOf(d)], []);
  });

  it('eligibilityLookup intersects an IP listed twice and matches any spelling', () => {
    const isEligible = eligibilityLookup([
      { ip: '2001:db8::1', eligible: ['a', 'b'] },
      { ip: '2001:DB8:0::1', eligible: ['b', 'c'] },
    ]);
    assert.equal(isEligible('2001:db8::1', 'b'), true);
    assert.equal(isEligible('2001:db8::1', 'a'), false);
    assert.equal(isEligible('2001:db8::2', 'b'), false);
  });
});
