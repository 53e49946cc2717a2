import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIP } from '../api/address.js';
import type { Service } from '../k8s/types.js';
import {
  ALLOCATED_CONDITION,
  clearedStatus,
  type DesiredServiceStatus,
  desiredOutcome,
  desiredStatus,
  ingressWrittenBy,
  outcomeOf,
  statusAddresses,
} from './service-status.js';

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-02T00:00:00Z';
const US = 'portico-controller';

function svc(status: Service['status'] = {}, managedFields?: Service['metadata']['managedFields']): Service {
  return {
    metadata: { name: 's', namespace: 'ns', resourceVersion: '7', generation: 2, managedFields },
    spec: { type: 'LoadBalancer' },
    status,
  };
}

const served: DesiredServiceStatus = {
  addresses: [parseIP('203.0.113.5'), parseIP('2001:db8::5')],
  served: true,
  reason: 'IPAllocated',
  message: 'Assigned',
  explain: false,
};
const pending: DesiredServiceStatus = {
  addresses: [],
  served: false,
  reason: 'PoolExhausted',
  message: 'full',
  explain: true,
};
const other = {
  type: 'example.com/Ready',
  status: 'True' as const,
  reason: 'R',
  message: 'm',
  lastTransitionTime: T0,
};
const ours = (status: 'True' | 'False', reason: string, message: string) => ({
  type: ALLOCATED_CONDITION,
  status,
  reason,
  message,
  lastTransitionTime: T0,
});
const ingressEntry = {
  manager: US,
  operation: 'Update' as const,
  subresource: 'status',
  fieldsV1: { 'f:status': { 'f:loadBalancer': { 'f:ingress': {} } } },
};

describe('desiredStatus', () => {
  it('a served Service gets its addresses with ipMode VIP and no condition of ours; others and unknown fields stay', () => {
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
      conditions: [other],
    });
  });

  it('a pending Service gets no ingress and a False condition with the reason and message', () => {
    const current = svc({ loadBalancer: { ingress: [{ ip: '203.0.113.5' }] }, conditions: [other] });
    assert.deepEqual(desiredStatus(current, pending, T1), {
      loadBalancer: {},
      conditions: [
        other,
        { ...ours('False', 'PoolExhausted', 'full'), lastTransitionTime: T1, observedGeneration: 2 },
      ],
    });
  });

  it('a partly served Service keeps its addresses and a True condition saying what is missing', () => {
    const partial = { ...served, message: 'Assigned (no IPv6 pool)', explain: true };
    const status = desiredStatus(svc(), partial, T1);
    assert.equal(status?.loadBalancer?.ingress?.length, 2);
    assert.equal(status?.conditions?.[0]?.status, 'True');
    assert.equal(status?.conditions?.[0]?.message, 'Assigned (no IPv6 pool)');
  });

  it('removes our condition once the Service is served, keeping the others', () => {
    const current = svc({ conditions: [ours('False', 'PoolExhausted', 'full'), other] });
    assert.deepEqual(desiredStatus(current, served, T1)?.conditions, [other]);
    assert.equal(
      desiredStatus(svc({ conditions: [ours('False', 'X', 'y')] }), served, T1)?.conditions,
      undefined,
    );
  });

  it('writes nothing when the status already says it, and keeps the transition time while the status holds', () => {
    const current = svc({
      loadBalancer: {
        ingress: [
          { ip: '203.0.113.5', ipMode: 'VIP' },
          { ip: '2001:db8::5', ipMode: 'VIP' },
        ],
      },
    });
    assert.equal(desiredStatus(current, served, T1), undefined);
    const waiting = svc({ conditions: [ours('False', 'PoolExhausted', 'full')] });
    assert.equal(desiredStatus(waiting, pending, T1), undefined);
    const reworded = desiredStatus(waiting, { ...pending, message: 'still full' }, T1);
    assert.equal(reworded?.conditions?.[0]?.lastTransitionTime, T0);
    assert.equal(reworded?.conditions?.[0]?.message, 'still full');
    assert.equal(reworded?.loadBalancer, waiting.status?.loadBalancer, 'the ingress is kept as it is');
  });
});

describe('outcomeOf / desiredOutcome', () => {
  it('tell a change of outcome from a resync', () => {
    const servedStatus = svc({
      loadBalancer: { ingress: [{ ip: '203.0.113.5' }, { ip: '2001:db8::5' }] },
    });
    assert.equal(outcomeOf(servedStatus), desiredOutcome(served));
    assert.notEqual(outcomeOf(svc()), desiredOutcome(served), 'a new Service getting addresses');
    const waiting = svc({ conditions: [ours('False', 'PoolExhausted', 'full')] });
    assert.equal(outcomeOf(waiting), desiredOutcome(pending));
    assert.notEqual(outcomeOf(waiting), desiredOutcome({ ...pending, reason: 'NoMatchingPool' }));
    assert.notEqual(outcomeOf(waiting), desiredOutcome(served), 'a pending Service served at last');
  });
});

describe('clearedStatus', () => {
  it('removes the ingress we wrote and our condition; keeps what others wrote', () => {
    const written = svc({ loadBalancer: { ingress: [{ ip: '203.0.113.5' }] }, conditions: [other] }, [
      ingressEntry,
    ]);
    assert.equal(ingressWrittenBy(written, US), true);
    assert.deepEqual(clearedStatus(written, US), { loadBalancer: {}, conditions: [other] });

    const waiting = svc({ conditions: [ours('False', 'PoolExhausted', 'full')] });
    assert.deepEqual(clearedStatus(waiting, US), { conditions: undefined, loadBalancer: undefined });

    const theirs = svc({ loadBalancer: { ingress: [{ ip: '192.0.2.9' }] } }, [
      { ...ingressEntry, manager: 'kubectl-edit' },
    ]);
    assert.equal(ingressWrittenBy(theirs, US), false);
    assert.equal(clearedStatus(theirs, US), undefined);
    assert.equal(clearedStatus(svc({ loadBalancer: { ingress: [{ ip: '192.0.2.9' }] } }), US), undefined);
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
