import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gracePeriodMs, podDirectory, restartsSoFar } from './pod-lifecycle.js';
import type { ContainerState, Pod } from './pod-types.js';

const pod = (extra: Partial<Pod> = {}): Pod => ({
  metadata: { name: 'echo', namespace: 'demo', uid: 'u-1' },
  spec: { containers: [{ name: 'web', image: 'portico-lab/echo' }] },
  ...extra,
});

const withStatus = (restartCount: number, state: ContainerState): Pod =>
  pod({ status: { containerStatuses: [{ name: 'web', image: 'i', ready: false, restartCount, state }] } });

describe('podDirectory', () => {
  it('names the directory as the kubelet names a pod: namespace_name_uid', () => {
    assert.equal(podDirectory('/run/pods', pod()), '/run/pods/demo_echo_u-1');
  });
});

describe('gracePeriodMs', () => {
  it('takes the deletion grace, then the Pod spec, then 30 s', () => {
    assert.equal(gracePeriodMs(pod()), 30_000);
    const spec = { containers: [], terminationGracePeriodSeconds: 5 };
    assert.equal(gracePeriodMs(pod({ spec })), 5_000);
    const deleting = { name: 'echo', deletionGracePeriodSeconds: 0 } as Pod['metadata'];
    assert.equal(gracePeriodMs(pod({ spec, metadata: deleting })), 0);
  });
});

describe('restartsSoFar', () => {
  it('is 0 for a container never seen, and counts the run a kubelet restart ended', () => {
    assert.equal(restartsSoFar(pod(), 'web'), 0);
    assert.equal(restartsSoFar(withStatus(0, { waiting: { reason: 'ContainerCreating' } }), 'web'), 0);
    assert.equal(restartsSoFar(withStatus(0, { running: {} }), 'web'), 1);
    assert.equal(restartsSoFar(withStatus(3, { terminated: { exitCode: 1 } }), 'web'), 4);
    assert.equal(restartsSoFar(withStatus(2, { waiting: { reason: 'CrashLoopBackOff' } }), 'web'), 2);
  });
});
