import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  compileLabelSelector,
  type LabelSelector,
  type LabelSelectorRequirement,
  parseLabelSelector,
  SelectorError,
  toRequirements,
} from './label-selector.js';

/** Asserts that `selector` matches exactly the label sets in `yes` and none in `no`. */
function check(selector: string, yes: (Record<string, string> | undefined)[], no: Record<string, string>[]) {
  const m = parseLabelSelector(selector);
  for (const labels of yes)
    assert.equal(m(labels), true, `"${selector}" should match ${JSON.stringify(labels)}`);
  for (const labels of no)
    assert.equal(m(labels), false, `"${selector}" should not match ${JSON.stringify(labels)}`);
}

describe('parseLabelSelector: string form', () => {
  it('empty and blank selectors match everything, including objects without labels', () => {
    check('', [{}, undefined, { a: 'b' }], []);
    check('   ', [{}, undefined, { a: 'b' }], []);
  });

  it('a=b and a==b require the key with exactly that value', () => {
    for (const s of ['a=b', 'a==b', 'a = b', ' a == b ']) {
      check(s, [{ a: 'b' }, { a: 'b', c: 'd' }], [{}, { a: 'c' }, { a: 'bb' }, { b: 'a' }, { A: 'b' }]);
    }
    assert.equal(parseLabelSelector('a=b')(undefined), false);
  });

  it('a= selects the empty value, not a missing key', () => {
    check('a=', [{ a: '' }], [{}, { a: 'x' }]);
  });

  it('a!=b matches objects without the key, as Kubernetes does', () => {
    check('a!=b', [{}, { a: 'c' }, { x: 'b' }, undefined], [{ a: 'b' }, { a: 'b', x: 'y' }]);
  });

  it('in and notin take a parenthesised set; notin matches objects without the key', () => {
    check('a in (x, y)', [{ a: 'x' }, { a: 'y' }], [{}, { a: 'z' }, { a: 'x, y' }, { b: 'x' }]);
    check('a notin (x)', [{}, { a: 'y' }, { b: 'x' }, undefined], [{ a: 'x' }]);
    check('a notin (x,y)', [{ a: 'z' }], [{ a: 'x' }, { a: 'y' }]);
    check('a in(x)', [{ a: 'x' }], [{ a: 'y' }]);
    check('a  in  (  x  ,  y  )', [{ a: 'y' }], [{ a: ' y' }]);
  });

  it('bare keys test existence; !key tests absence', () => {
    check('a', [{ a: '' }, { a: 'anything' }], [{}, { b: 'a' }]);
    check('!a', [{}, { b: 'a' }, undefined], [{ a: '' }, { a: 'x' }]);
    check('! a', [{}], [{ a: 'x' }]);
  });

  it('commas AND requirements together, and commas inside a set do not split terms', () => {
    check(
      'app=web,tier in (fe, be),!legacy,env!=prod',
      [
        { app: 'web', tier: 'fe' },
        { app: 'web', tier: 'be', env: 'dev' },
      ],
      [
        { app: 'web', tier: 'db' },
        { app: 'web', tier: 'fe', legacy: 'true' },
        { app: 'web', tier: 'fe', env: 'prod' },
        { tier: 'fe' },
      ],
    );
    check(' a = b , c ', [{ a: 'b', c: '' }], [{ a: 'b' }, { c: 'x' }]);
  });

  it('accepts prefixed keys and the value characters Kubernetes allows', () => {
    check('example.com/app=my-app_1.2', [{ 'example.com/app': 'my-app_1.2' }], [{ app: 'my-app_1.2' }]);
    check(
      'app.kubernetes.io/name in (a.b, C_d)',
      [{ 'app.kubernetes.io/name': 'C_d' }],
      [{ 'app.kubernetes.io/name': 'c_d' }],
    );
  });

  it('does not treat inherited properties as labels', () => {
    check('constructor', [{ constructor: 'x' }], [{}]);
    check('!toString', [{}], [{ toString: 'y' }]);
  });

  it('rejects garbage with a SelectorError', () => {
    const bad = [
      'a=b=c',
      'a==b==c',
      'a!=b!',
      'a b',
      'a=b c',
      '=b',
      '!=b',
      '!',
      'a,,b',
      'a,',
      ',a',
      'a in x',
      'a in (x',
      'a in (x y)',
      'a in ((x))',
      'a notin x,y)',
      '(a)',
      'a)',
      '!a=b',
      '-a',
      'a-',
      'a/b/c',
      '/a',
      'Example.com/a',
      `${'k'.repeat(64)}`,
      `${'p'.repeat(254)}/a`,
      `a=${'v'.repeat(64)}`,
      'a=-v',
      'a=v_',
      'a in (ok, -bad)',
    ];
    for (const s of bad) {
      assert.throws(() => parseLabelSelector(s), SelectorError, `"${s}" should be rejected`);
    }
  });

  it('accepts keys and values right at the length limits', () => {
    const name = 'k'.repeat(63);
    const value = 'v'.repeat(63);
    check(`${name}=${value}`, [{ [name]: value }], [{ [name]: 'v' }]);
    const prefix = `${'p'.repeat(63)}.${'q'.repeat(63)}.${'r'.repeat(63)}.${'s'.repeat(61)}`;
    assert.equal(prefix.length, 253);
    check(`${prefix}/a`, [{ [`${prefix}/a`]: '' }], [{ a: '' }]);
  });

  it('error messages are one line and quote the offending text', () => {
    try {
      parseLabelSelector('a=b,c d');
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof SelectorError);
      assert.equal(err.name, 'SelectorError');
      assert.match(err.message, /c d/);
      assert.doesNotMatch(err.message, /\n/);
    }
  });
});

describe('compileLabelSelector: structured form', () => {
  it('empty selector, null and undefined match everything', () => {
    for (const sel of [{}, { matchLabels: {}, matchExpressions: [] }, null, undefined]) {
      const m = compileLabelSelector(sel);
      assert.equal(m({}), true);
      assert.equal(m(undefined), true);
      assert.equal(m({ a: 'b' }), true);
    }
  });

  it('matchLabels requires every pair', () => {
    const m = compileLabelSelector({ matchLabels: { app: 'web', tier: 'fe' } });
    assert.equal(m({ app: 'web', tier: 'fe', extra: 'x' }), true);
    assert.equal(m({ app: 'web' }), false);
    assert.equal(m({ app: 'web', tier: 'be' }), false);
    assert.equal(m(undefined), false);
  });

  it('matchExpressions with each operator', () => {
    const cases: [
      LabelSelectorRequirement,
      Record<string, string>[],
      (Record<string, string> | undefined)[],
    ][] = [
      [
        { key: 'a', operator: 'In', values: ['x', 'y'] },
        [{ a: 'x' }, { a: 'y' }],
        [{}, { a: 'z' }, undefined],
      ],
      [{ key: 'a', operator: 'NotIn', values: ['x'] }, [{}, { a: 'y' }], [{ a: 'x' }]],
      [{ key: 'a', operator: 'Exists' }, [{ a: '' }, { a: 'x' }], [{}, { b: 'a' }, undefined]],
      [{ key: 'a', operator: 'DoesNotExist' }, [{}, { b: 'a' }], [{ a: '' }]],
    ];
    for (const [expr, yes, no] of cases) {
      const m = compileLabelSelector({ matchExpressions: [expr] });
      for (const l of yes)
        assert.equal(m(l), true, `${JSON.stringify(expr)} should match ${JSON.stringify(l)}`);
      for (const l of no)
        assert.equal(m(l), false, `${JSON.stringify(expr)} should not match ${JSON.stringify(l)}`);
    }
    assert.equal(
      compileLabelSelector({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x'] }] })(undefined),
      true,
    );
  });

  it('matchLabels and matchExpressions are ANDed', () => {
    const m = compileLabelSelector({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['fe'] },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    });
    assert.equal(m({ app: 'web', tier: 'fe' }), true);
    assert.equal(m({ app: 'db', tier: 'fe' }), false);
    assert.equal(m({ app: 'web', tier: 'fe', legacy: '1' }), false);
    assert.equal(m({ app: 'web' }), false);
  });

  it('rejects invalid selectors when compiling, not when matching', () => {
    const bad: [LabelSelector, RegExp][] = [
      [{ matchExpressions: [{ key: 'a', operator: 'In' }] }, /at least one value/],
      [{ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, /at least one value/],
      [{ matchExpressions: [{ key: 'a', operator: 'NotIn', values: [] }] }, /at least one value/],
      [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, /takes no values/],
      [{ matchExpressions: [{ key: 'a', operator: 'DoesNotExist', values: ['x'] }] }, /takes no values/],
      [
        {
          matchExpressions: [
            { key: 'a', operator: 'Equals' as LabelSelectorRequirement['operator'], values: ['x'] },
          ],
        },
        /unknown operator "Equals"/,
      ],
      [{ matchExpressions: [{ key: 'bad key', operator: 'Exists' }] }, /invalid label key "bad key"/],
      [{ matchExpressions: [{ key: '', operator: 'Exists' }] }, /invalid label key ""/],
      [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['no spaces'] }] }, /invalid label value/],
      [{ matchLabels: { 'bad key': 'x' } }, /invalid label key "bad key"/],
      [{ matchLabels: { a: 'bad value' } }, /invalid label value "bad value"/],
    ];
    for (const [sel, message] of bad) {
      assert.throws(
        () => compileLabelSelector(sel),
        (err: unknown) => {
          assert.ok(err instanceof SelectorError, `${JSON.stringify(sel)} threw ${String(err)}`);
          assert.match(err.message, message);
          return true;
        },
      );
    }
  });

  it('toRequirements turns matchLabels into single-valued In requirements', () => {
    assert.deepEqual(
      toRequirements({ matchLabels: { a: 'b' }, matchExpressions: [{ key: 'c', operator: 'Exists' }] }),
      [
        { key: 'a', operator: 'In', values: ['b'] },
        { key: 'c', operator: 'Exists' },
      ],
    );
  });

  it('property: matchLabels m matches labels L iff every entry of m is in L', () => {
    const key = fc.constantFrom('a', 'b', 'c', 'app', 'example.com/x');
    const value = fc.constantFrom('', '1', '2', 'web');
    const labels = fc.dictionary(key, value, { maxKeys: 5 });
    fc.assert(
      fc.property(labels, labels, (m, l) => {
        const expected = Object.entries(m).every(([k, v]) => Object.hasOwn(l, k) && l[k] === v);
        assert.equal(compileLabelSelector({ matchLabels: m })(l), expected);
        // The string form of the same equalities agrees with the structured form.
        const text = Object.entries(m)
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        assert.equal(parseLabelSelector(text)(l), expected);
      }),
      { numRuns: 500 },
    );
  });

  it('property: a matchLabels selector always matches its own labels and any superset', () => {
    const key = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?$/);
    const value = fc.stringMatching(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,8}[A-Za-z0-9])?)?$/);
    fc.assert(
      fc.property(
        fc.dictionary(key, value, { maxKeys: 6 }),
        fc.dictionary(key, value, { maxKeys: 4 }),
        (m, extra) => {
          const matcher = compileLabelSelector({ matchLabels: m });
          assert.equal(matcher(m), true);
          assert.equal(matcher({ ...extra, ...m }), true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
