import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatFieldError } from './field-errors.js';
import type { L2AdvertisementSpec } from './l2-advertisement.js';
import {
  interfacesFor,
  type L2Ad,
  l2Scope,
  nodeSelected,
  parseL2Advertisement,
  preferenceWeight,
} from './l2-policy.js';

function ad(name: string, spec: L2AdvertisementSpec): L2Ad {
  const parsed = parseL2Advertisement({ metadata: { name }, spec });
  if (!parsed.ok) throw new Error(parsed.errors.map(formatFieldError).join('; '));
  return parsed.ad;
}

const errorsOf = (spec: unknown) => {
  const parsed = parseL2Advertisement({ metadata: { name: 'x' }, spec: spec as L2AdvertisementSpec });
  return parsed.ok ? [] : parsed.errors.map(formatFieldError);
};

const pool = (name: string, labels: Record<string, string> = {}) => ({ name, labels });
const svc = (labels: Record<string, string> = {}, sharesAddress = false) => ({ labels, sharesAddress });

describe('L2Advertisement validation', () => {
  it('accepts an empty spec (every pool, node and interface)', () => {
    assert.deepEqual(errorsOf({}), []);
    assert.deepEqual(errorsOf(undefined), []);
  });

  it('names each bad field: duplicate pools, bad selectors, duplicate selectors, bad interface names', () => {
    assert.deepEqual(
      errorsOf({
        ipAddressPools: ['a', 'a', ''],
        nodeSelectors: [{ matchLabels: { zone: 'x' } }, { matchLabels: { zone: 'x' } }],
        ipAddressPoolSelectors: [{ matchExpressions: [{ key: 'k', operator: 'Bogus' }] }],
        interfaces: ['eth0', 'eth0', 'a/b', 'much-too-long-name0'],
      }),
      [
        'spec.ipAddressPools[1]: "a" is listed twice',
        'spec.ipAddressPools[2]: must be a non-empty string, not ""',
        'spec.ipAddressPoolSelectors[0]: unknown operator "Bogus" for key "k"',
        'spec.nodeSelectors[1]: duplicates an earlier selector',
        'spec.interfaces[1]: "eth0" is listed twice',
        `spec.interfaces[2]: "a/b" is not a Linux interface name (1-15 characters, no '/', ':' or spaces)`,
        `spec.interfaces[3]: "much-too-long-name0" is not a Linux interface name (1-15 characters, no '/', ':' or spaces)`,
      ],
    );
  });

  it('checks preferredNodeSelectors: weights 1 to 100, valid selectors, and adds matching weights per node', () => {
    assert.deepEqual(
      errorsOf({
        preferredNodeSelectors: [
          { weight: 0, preference: {} },
          { weight: 101, preference: {} },
          { weight: 5, preference: { matchExpressions: [{ key: 'k', operator: 'Bogus' }] } },
        ],
      }),
      [
        'spec.preferredNodeSelectors[0].weight: must be a whole number from 1 to 100',
        'spec.preferredNodeSelectors[1].weight: must be a whole number from 1 to 100',
        'spec.preferredNodeSelectors[2].preference: unknown operator "Bogus" for key "k"',
      ],
    );
    const a = ad('a', {
      nodeSelectors: [{ matchLabels: { lb: 'yes' } }],
      preferredNodeSelectors: [
        { weight: 30, preference: { matchLabels: { zone: 'a' } } },
        { weight: 20, preference: { matchLabels: { ssd: 'yes' } } },
      ],
    });
    const b = ad('b', {
      preferredNodeSelectors: [{ weight: 5, preference: { matchLabels: { zone: 'a' } } }],
    });
    assert.equal(preferenceWeight([a, b], { lb: 'yes', zone: 'a', ssd: 'yes' }), 55);
    assert.equal(
      preferenceWeight([a, b], { zone: 'a', ssd: 'yes' }),
      5,
      "a's weights need a's nodeSelectors",
    );
    assert.equal(preferenceWeight([a, b], {}), 0);
  });
});

describe('which advertisements apply', () => {
  it('an advertisement naming no pool covers every pool; one naming pools covers those and selected ones', () => {
    const all = ad('all', {});
    const named = ad('named', {
      ipAddressPools: ['a'],
      ipAddressPoolSelectors: [{ matchLabels: { l2: 'yes' } }],
    });
    assert.equal(l2Scope([all], { pool: pool('z'), service: svc() }).announced, true);
    assert.equal(l2Scope([named], { pool: pool('a'), service: svc() }).announced, true);
    assert.equal(l2Scope([named], { pool: pool('b', { l2: 'yes' }), service: svc() }).announced, true);
    const none = l2Scope([named], { pool: pool('b'), service: svc() });
    assert.deepEqual(none, {
      announced: false,
      reason: 'NoL2Advertisement',
      message: 'no L2Advertisement covers pool b',
    });
  });

  it('serviceSelectors narrow the Services, and a sharing Service is not announced by a selective advertisement', () => {
    const web = ad('web-only', { serviceSelectors: [{ matchLabels: { app: 'web' } }] });
    assert.equal(l2Scope([web], { pool: pool('a'), service: svc({ app: 'web' }) }).announced, true);
    const other = l2Scope([web], { pool: pool('a'), service: svc({ app: 'db' }) });
    assert.equal(other.announced, false);
    assert.equal(
      !other.announced && other.message,
      'the L2Advertisements of pool a (web-only) do not select this Service',
    );
    const shared = l2Scope([web], { pool: pool('a'), service: svc({ app: 'web' }, true) });
    assert.equal(!shared.announced && shared.reason, 'SharedAddressWithServiceSelectors');
    // Without serviceSelectors, sharing is fine.
    assert.equal(l2Scope([ad('all', {})], { pool: pool('a'), service: svc({}, true) }).announced, true);
  });

  it('a node may announce when any applying advertisement selects it', () => {
    const rack1 = ad('rack1', { nodeSelectors: [{ matchLabels: { rack: '1' } }] });
    const rack2 = ad('rack2', { nodeSelectors: [{ matchLabels: { rack: '2' } }] });
    assert.equal(nodeSelected([rack1, rack2], { rack: '2' }), true);
    assert.equal(nodeSelected([rack1, rack2], { rack: '3' }), false);
    assert.equal(nodeSelected([ad('any', {})], {}), true);
  });

  it('interfaces are the union over the advertisements selecting the node; one without a list means all', () => {
    const a = ad('a', { interfaces: ['eth1', 'bond0'] });
    const b = ad('b', { interfaces: ['eth2'], nodeSelectors: [{ matchLabels: { rack: '1' } }] });
    assert.deepEqual(interfacesFor([a, b], { rack: '1' }), ['bond0', 'eth1', 'eth2']);
    assert.deepEqual(interfacesFor([a, b], { rack: '2' }), ['bond0', 'eth1']);
    assert.equal(interfacesFor([a, ad('all', {})], {}), 'all');
  });
});
