import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { expandWith } from './expand.js';

const vars = { A: 'alpha', B: 'beta', EMPTY: '', REF: '$(A)' };

describe('expandWith', () => {
  const cases: [string, string][] = [
    ['$(A)', 'alpha'],
    ['x-$(A)-$(B)-y', 'x-alpha-beta-y'],
    ['$(EMPTY)|', '|'],
    ['$(UNKNOWN)', '$(UNKNOWN)'],
    ['$$(A)', '$(A)'],
    ['$$$(A)', '$alpha'],
    ['$$', '$'],
    ['a$$b', 'a$b'],
    ['$', '$'],
    ['a$', 'a$'],
    ['$x', '$x'],
    ['$(A', '$(A'],
    ['$(A$(B)', '$(A$(B)'],
    ['$()', '$()'],
    ['$(REF)', '$(A)'],
    ['($(A))', '(alpha)'],
    ['$(A)$(B)', 'alphabeta'],
  ];
  for (const [input, want] of cases)
    it(`expands ${JSON.stringify(input)}`, () => {
      assert.equal(expandWith(input, vars), want);
    });

  it('does not see inherited properties as variables', () => {
    assert.equal(expandWith('$(toString)', {}), '$(toString)');
  });

  it('never throws, and is the identity on strings without `$(` or `$$`', () => {
    const text = fc.string({ unit: fc.constantFrom('$', '(', ')', 'A', 'B', 'x', ' ') });
    fc.assert(
      fc.property(fc.oneof(text, fc.string()), (s) => {
        const out = expandWith(s, vars);
        if (!s.includes('$(') && !s.includes('$$')) assert.equal(out, s);
      }),
      { numRuns: 2000 },
    );
  });

  it('is the identity when every reference is unknown and nothing is escaped', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        if (!s.includes('$$')) assert.equal(expandWith(s, {}), s);
      }),
    );
  });
});
