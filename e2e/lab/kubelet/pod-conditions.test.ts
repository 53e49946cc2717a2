import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { podConditions } from './pod-conditions.js';
import type { ContainerStatus, Pod, PodCondition } from './pod-types.js';

const T0 = '2026-11-25T10:00:00Z';
const T1 = '2026-11-25T10:00:01Z';

function pod(conditions?: PodCondition[]): Pod {
  return {
    metadata: { name: 'p' },
    spec: {
      containers: [
        { name: 'b', image: 'i' },
        { name: 'a', image: 'i' },
      ],
    },
    status: conditions ? { conditions } : {},
  };
}

const status = (name: string, ready: boolean, waiting?: ContainerStatus['state']): ContainerStatus => ({
  name,
  image: 'i',
  ready,
  restartCount: 0,
  state: waiting ?? { running: {} },
});

const byType = (list: PodCondition[]) => Object.fromEntries(list.map((c) => [c.type, c]));

describe('podConditions', () => {
  it('adds PodScheduled and Initialized, and names unready containers in spec order', () => {
    const c = byType(
      podConditions(pod(), 'Running', [status('a', false), status('b', false)], undefined, T0),
    );
    assert.deepEqual(c.PodScheduled, {
      type: 'PodScheduled',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: T0,
    });
    assert.equal(c.Initialized?.status, 'True');
    assert.equal(c.Ready?.message, 'containers with unready status: [b a]');
    assert.equal(c.ContainersReady?.reason, 'ContainersNotReady');
  });

  it('moves lastTransitionTime only when the status changes', () => {
    const first = podConditions(pod(), 'Running', [status('a', true), status('b', false)], undefined, T0);
    const same = byType(
      podConditions(pod(first), 'Running', [status('a', false), status('b', false)], undefined, T1),
    );
    assert.equal(same.Ready?.lastTransitionTime, T0);
    assert.equal(same.Ready?.message, 'containers with unready status: [b a]');
    const ready = byType(
      podConditions(pod(first), 'Running', [status('a', true), status('b', true)], undefined, T1),
    );
    assert.deepEqual(ready.Ready, {
      type: 'Ready',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: T1,
    });
    assert.equal(ready.Initialized?.lastTransitionTime, T0);
  });

  it('fills in conditions read without a reason, message or time', () => {
    const c = byType(podConditions(pod([{ type: 'Ready', status: 'False' }]), 'Running', [], undefined, T1));
    assert.equal(c.Ready?.lastTransitionTime, T1);
  });

  it('explains why the lab cannot run a container, from its status or the Pod', () => {
    const waiting = { waiting: { reason: 'CreateContainerConfigError', message: 'secret "s" not found' } };
    const c = byType(
      podConditions(pod(), 'Pending', [status('a', false, waiting), status('b', false)], undefined, T0),
    );
    assert.deepEqual(
      [c.Ready?.reason, c.Ready?.message],
      ['CreateContainerConfigError', 'secret "s" not found'],
    );
    const unsupported = { reason: 'ImageNotSupported', message: 'the lab cannot run image nginx' };
    const p = byType(podConditions(pod(), 'Pending', [], unsupported, T0));
    assert.deepEqual(
      [p.ContainersReady?.reason, p.ContainersReady?.message],
      [unsupported.reason, unsupported.message],
    );
  });

  it('reports PodCompleted once Succeeded', () => {
    const c = byType(
      podConditions(pod(), 'Succeeded', [status('a', false), status('b', false)], undefined, T0),
    );
    assert.deepEqual(
      ['Initialized', 'ContainersReady', 'Ready'].map((t) => [c[t]?.status, c[t]?.reason]),
      [
        ['True', 'PodCompleted'],
        ['False', 'PodCompleted'],
        ['False', 'PodCompleted'],
      ],
    );
  });
});
