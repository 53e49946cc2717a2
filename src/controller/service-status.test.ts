import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIP } from '../api/address.js';
import type { Service } from '../k8s/types.js';
import { ALLOCATED_CONDITION, clearedStatus, desiredStatus, statusAddresses } from './service-status.js';

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-02T00:00:00Z';

function svc(status: Service['status'] = {}): Service {
  return {
    metadata: { name: 's', namespace: 'ns', resourceVersion: '7', generation: 2 },
    spec: { type: 'LoadBalancer' },
    status,
  };
}

const served = {
  addresses: [parseIP('203.0.113.5'), parseIP('2001:db8::5')],
  served: true,
  reason: 'IPAllocated',
  message: 'Assigned',
};

describe('desiredStatus', () => {
  it('writes the addresses with ipMode VIP and our condition, keeping other conditions and unknown fields', () => {
    const other = {
      type: 'example.com/Ready',
      status: 'True' as const,
      reason: 'R',
      message: 'm',
      lastTransitionTime: T0,
    };
    // A field a newer API server has and this version does not know survives the update.
    const current = svc({ conditions: [other], future: { x: 1 } } as Service['status']);
    assert.deepEqual(desiredStatus(current, served, T1), {
      future: { x: 1 },
      loadBalancer: {
        ingress: [
          { ip: '203.0.113.5', ipMode: 'VIP' },
          { ip: '2001:db8::5', ipMode: 'VIP' },
        ],
      },
      conditions: [
        other,
        {
          type: ALLOCATED_CONDITION,
          status: 'True',
          reason: 'IPAllocated',
          message: 'Assigned',
          lastTransitionTime: T1,
          observedGeneration: 2,
        },
      ],
    });
  });

  it('writes nothing when the status already says it, and keeps the transition time while the status holds', () => {
    const cond = {
      type: ALLOCATED_CONDITION,
      status: 'True' as const,
      reason: 'IPAllocated',
      message: 'Assigned',
      lastTransitionTime: T0,
    };
    const current = svc({
      loadBalancer: {
        ingress: [
          { ip: '203.0.113.5', ipMode: 'VIP' },
          { ip: '2001:db8::5', ipMode: 'VIP' },
        ],
      },
      conditions: [cond],
    });
    assert.equal(desiredStatus(current, served, T1), undefined);
    const reworded = desiredStatus(current, { ...served, message: 'Assigned again' }, T1);
    assert.equal(reworded?.conditions?.[0]?.lastTransitionTime, T0);
    assert.equal(reworded?.conditions?.[0]?.message, 'Assigned again');
    assert.equal(reworded?.loadBalancer, current.status?.loadBalancer, 'the ingress is kept as it is');
  });

  it('a pending Service gets no ingress and a False condition', () => {
    const current = svc({ loadBalancer: { ingress: [{ ip: '203.0.113.5' }] } });
    const status = desiredStatus(
      current,
      { addresses: [], served: false, reason: 'PoolExhausted', message: 'full' },
      T1,
    );
    assert.deepEqual(status?.loadBalancer, {});
    assert.equal(status?.conditions?.[0]?.status, 'False');
    assert.equal(status?.conditions?.[0]?.reason, 'PoolExhausted');
  });
});

describe('clearedStatus', () => {
  it('removes our ingress and condition, and touches nothing on a Service we never wrote', () => {
    const ours = svc({
      loadBalancer: { ingress: [{ ip: '203.0.113.5' }] },
      conditions: [
        {
          type: ALLOCATED_CONDITION,
          status: 'True',
          reason: 'IPAllocated',
          message: 'm',
          lastTransitionTime: T0,
        },
      ],
    });
    assert.deepEqual(clearedStatus(ours), { loadBalancer: {}, conditions: undefined });
    assert.equal(clearedStatus(svc({ loadBalancer: { ingress: [{ ip: '192.0.2.9' }] } })), undefined);
  });
});

describe('statusAddresses', () => {
  it('reads the IPs, skipping hostnames and junk', () => {
    const s = svc({
      loadBalancer: { ingress: [{ ip: '203.0.113.5' }, { hostname: 'lb.example' }, { ip: 'nonsense' }] },
    });
    assert.deepEqual(statusAddresses(s), [parseIP('203.0.113.5')]);
  });
});
