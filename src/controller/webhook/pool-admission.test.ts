import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IPAddressPool, IPAddressPoolSpec } from '../../api/ip-address-pool.js';
import type { AdmissionRequest } from './admission-review.js';
import { admitPool } from './pool-admission.js';

const pool = (name: string, spec: IPAddressPoolSpec, namespace = 'portico-system'): IPAddressPool => ({
  metadata: { name, namespace },
  spec,
});

const review = (
  object: IPAddressPool,
  operation: AdmissionRequest['operation'] = 'CREATE',
): AdmissionRequest => ({
  uid: 'u',
  kind: { group: 'portico.dev', version: 'v1alpha1', kind: 'IPAddressPool' },
  resource: { group: 'portico.dev', version: 'v1alpha1', resource: 'ipaddresspools' },
  operation,
  name: object.metadata.name,
  namespace: object.metadata.namespace,
  object,
});

describe('admitPool', () => {
  const existing = [pool('first', { addresses: ['203.0.113.0/25'] })];

  it('allows a valid pool, and an update of a pool to overlap its own old addresses', () => {
    assert.deepEqual(
      admitPool(review(pool('new', { addresses: ['203.0.113.128/25'] })), 'portico-system', existing),
      {
        allowed: true,
      },
    );
    const grown = pool('first', { addresses: ['203.0.113.0/24'] });
    assert.equal(admitPool(review(grown, 'UPDATE'), 'portico-system', existing).allowed, true);
  });

  it('refuses, with every problem named, a pool in the wrong namespace that overlaps another and is malformed', () => {
    const bad = pool('bad', { addresses: ['203.0.113.100-203.0.113.200', '198.51.100.9/24'] }, 'default');
    const r = admitPool(review(bad), 'portico-system', existing);
    assert.equal(r.allowed, false);
    assert.equal(r.code, 422);
    assert.match(r.message ?? '', /metadata\.namespace: IPAddressPools must be created in portico-system/);
    assert.match(
      r.message ?? '',
      /spec\.addresses\[0\]: "203\.0\.113\.100-203\.0\.113\.200" overlaps pool first \(203\.0\.113\.0\/25\)/,
    );
    assert.match(r.message ?? '', /spec\.addresses\[1\]: .*host bits set/);
  });

  it('lets deletes through and refuses a request without an object', () => {
    assert.equal(
      admitPool(review(pool('x', { addresses: [] }), 'DELETE'), 'portico-system', existing).allowed,
      true,
    );
    const empty = { ...review(pool('x', { addresses: [] })), object: undefined };
    assert.equal(admitPool(empty, 'portico-system', existing).allowed, false);
  });
});
