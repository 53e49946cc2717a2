import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ranksAbove } from './hash.js';
import { type Proposer, stableAssignment } from './stable-assignment.js';

const NAMES = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'];

/** Proposers with random candidate subsets and scores, and random room per node. */
const instance = fc.record({
  proposers: fc.array(
    fc
      .subarray([0, 1, 2, 3, 4, 5], { minLength: 1 })
      .chain((nodes) =>
        fc
          .array(fc.integer({ min: 0, max: 1_000 }), { minLength: nodes.length, maxLength: nodes.length })
          .map((scores) => ({ nodes, scores })),
      ),
    { maxLength: 40 },
  ),
  room: fc.array(fc.integer({ min: 0, max: 8 }), { minLength: NAMES.length, maxLength: NAMES.length }),
});

const keyed = (list: { nodes: number[]; scores: number[] }[]): Proposer[] =>
  list.map((p, i) => ({ ...p, key: `ip-${String(i).padStart(3, '0')}` }));

/** Does `node` prefer holding proposer `a` to holding `b`? (The module's rule, restated.) */
function nodePrefers(a: Proposer, aScore: number, b: Proposer, bScore: number): boolean {
  if (a.nodes.length !== b.nodes.length) return a.nodes.length < b.nodes.length;
  return aScore !== bScore ? aScore > bScore : a.key < b.key;
}

describe('stableAssignment', () => {
  it('respects room and leaves no blocking pair (the matching is stable)', () => {
    fc.assert(
      fc.property(instance, ({ proposers: raw, room }) => {
        const proposers = keyed(raw);
        const owner = stableAssignment(proposers, NAMES, room);
        const held = NAMES.map((_, n) => proposers.flatMap((_, i) => (owner[i] === n ? [i] : [])));
        held.forEach((list, n) => {
          assert.ok(list.length <= room[n]!, `${NAMES[n]} holds ${list.length} > ${room[n]}`);
        });
        proposers.forEach((p, i) => {
          const at = owner[i]!;
          const atPos = p.nodes.indexOf(at);
          for (const [j, n] of p.nodes.entries()) {
            // Only nodes the proposer ranks above its current one (or any node, if it is unplaced).
            if (at >= 0 && !ranksAbove(p.scores[j]!, NAMES[n]!, p.scores[atPos]!, NAMES[at]!)) continue;
            const holders = held[n]!;
            assert.ok(holders.length >= room[n]!, `${p.key} prefers ${NAMES[n]}, which has room`);
            const scoreAt = (k: number) => proposers[k]!.scores[proposers[k]!.nodes.indexOf(n)]!;
            const worse = holders.find((k) => nodePrefers(p, p.scores[j]!, proposers[k]!, scoreAt(k)));
            assert.equal(worse, undefined, `${NAMES[n]} would rather hold ${p.key}`);
          }
        });
      }),
      { numRuns: 500 },
    );
  });

  it('does not depend on the order of the proposers', () => {
    fc.assert(
      fc.property(instance, fc.nat(), ({ proposers: raw, room }, seed) => {
        const proposers = keyed(raw);
        const order = proposers
          .map((_, i) => i)
          .sort((a, b) => ((a * 7919 + seed) % 97) - ((b * 7919 + seed) % 97) || a - b);
        const direct = stableAssignment(proposers, NAMES, room);
        const shuffled = stableAssignment(
          order.map((i) => proposers[i]!),
          NAMES,
          room,
        );
        order.forEach((i, k) => {
          assert.equal(shuffled[k], direct[i]);
        });
      }),
      { numRuns: 300 },
    );
  });
});
