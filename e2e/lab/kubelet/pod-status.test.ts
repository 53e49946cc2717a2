import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ObservedContainer, type ObservedPod, podPhase, podStatus } from './pod-status.js';
import type { Pod, PodCondition, PodStatus, RestartPolicy } from './pod-types.js';

const T = (s: number) => `2026-11-25T10:00:${String(s).padStart(2, '0')}Z`;

function pod(restartPolicy?: RestartPolicy, names = ['web'], status?: PodStatus): Pod {
  return {
    metadata: { name: 'echo-abc', namespace: 'demo', uid: 'u1' },
    spec: {
      nodeName: 'node-1',
      restartPolicy,
      containers: names.map((name) => ({ name, image: 'portico-lab/echo' })),
    },
    status,
  };
}

const net = { podIPs: ['198.18.1.5', '2001:db8:0:11::5'], hostIP: '192.0.2.11', startTime: T(0) };
const observe = (containers: Record<string, ObservedContainer>, extra: Partial<ObservedPod> = {}) => ({
  ...net,
  containers,
  ...extra,
});
const running = (
  ready: boolean,
  restartCount = 0,
  extra: Partial<ObservedContainer> = {},
): ObservedContainer => ({
  state: 'running',
  startedAt: T(1),
  restartCount,
  ready,
  ...extra,
});
const exited = (exitCode: number, restartCount = 0): ObservedContainer => ({
  state: 'terminated',
  exitCode,
  startedAt: T(1),
  finishedAt: T(9),
  restartCount,
  ready: false,
});

const cond = (s: PodStatus, type: string) => s.conditions?.find((c) => c.type === type) as PodCondition;

describe('podStatus through a Pod life', () => {
  it('walks creating → running → ready → crash → back-off → running again', () => {
    let p = pod(undefined, ['web'], {
      qosClass: 'BestEffort',
      conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: T(0) }],
    } as PodStatus);
    let s = podStatus(p, observe({}, { podIPs: [] }), T(1));
    assert.equal(s.phase, 'Pending');
    assert.equal((s as { qosClass?: string }).qosClass, 'BestEffort');
    assert.equal(s.podIP, undefined);
    assert.deepEqual(s.containerStatuses, [
      {
        name: 'web',
        image: 'portico-lab/echo',
        ready: false,
        started: false,
        restartCount: 0,
        state: { waiting: { reason: 'ContainerCreating' } },
        lastState: {},
      },
    ]);
    assert.deepEqual(s.conditions, [
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: T(0) },
      { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: T(1) },
      {
        type: 'ContainersReady',
        status: 'False',
        reason: 'ContainersNotReady',
        message: 'containers with unready status: [web]',
        lastProbeTime: null,
        lastTransitionTime: T(1),
      },
      {
        type: 'Ready',
        status: 'False',
        reason: 'ContainersNotReady',
        message: 'containers with unready status: [web]',
        lastProbeTime: null,
        lastTransitionTime: T(1),
      },
    ]);

    p = { ...p, status: s };
    s = podStatus(p, observe({ web: running(false) }), T(2));
    assert.equal(s.phase, 'Running');
    assert.equal(s.podIP, '198.18.1.5');
    assert.deepEqual(s.podIPs, [{ ip: '198.18.1.5' }, { ip: '2001:db8:0:11::5' }]);
    assert.deepEqual([s.hostIP, s.hostIPs, s.startTime], ['192.0.2.11', [{ ip: '192.0.2.11' }], T(0)]);
    assert.deepEqual(s.containerStatuses?.[0]?.state, { running: { startedAt: T(1) } });
    assert.equal(s.containerStatuses?.[0]?.started, true);
    assert.equal(cond(s, 'Ready').lastTransitionTime, T(1), 'still not ready: time kept');

    p = { ...p, status: s };
    s = podStatus(p, observe({ web: running(true) }), T(3));
    assert.deepEqual(cond(s, 'Ready'), {
      type: 'Ready',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: T(3),
    });
    assert.deepEqual(cond(s, 'ContainersReady'), {
      type: 'ContainersReady',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: T(3),
    });
    assert.equal(cond(s, 'Initialized').lastTransitionTime, T(1));

    p = { ...p, status: s };
    s = podStatus(p, observe({ web: { ...exited(1), ready: true } }), T(9));
    assert.equal(s.phase, 'Running', 'Always restarts');
    assert.deepEqual(s.containerStatuses?.[0]?.state, {
      terminated: { exitCode: 1, reason: 'Error', startedAt: T(1), finishedAt: T(9) },
    });
    assert.equal(s.containerStatuses?.[0]?.ready, false);
    assert.equal(cond(s, 'Ready').status, 'False');

    p = { ...p, status: s };
    const last = { exitCode: 1, startedAt: T(1), finishedAt: T(9) };
    const message = 'back-off 10s restarting failed container=web pod=echo-abc_demo(u1)';
    s = podStatus(
      p,
      observe({ web: { state: 'waiting', message, restartCount: 1, ready: false, lastTermination: last } }),
      T(10),
    );
    assert.equal(s.phase, 'Running');
    assert.deepEqual(s.containerStatuses?.[0]?.state, { waiting: { reason: 'CrashLoopBackOff', message } });
    assert.deepEqual(s.containerStatuses?.[0]?.lastState, { terminated: { ...last, reason: 'Error' } });

    p = { ...p, status: s };
    s = podStatus(p, observe({ web: running(true, 2, { startedAt: T(20), lastTermination: last }) }), T(21));
    assert.deepEqual(
      [s.phase, s.containerStatuses?.[0]?.restartCount, cond(s, 'Ready').status],
      ['Running', 2, 'True'],
    );
    assert.equal(cond(s, 'Ready').lastTransitionTime, T(21));
  });

  it('ends a Job-like Pod Succeeded, with PodCompleted conditions', () => {
    const s = podStatus(pod('OnFailure'), observe({ web: exited(0) }), T(9));
    assert.equal(s.phase, 'Succeeded');
    assert.deepEqual(s.containerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
    assert.equal(cond(s, 'Initialized').reason, 'PodCompleted');
    assert.deepEqual([cond(s, 'Ready').status, cond(s, 'Ready').reason], ['False', 'PodCompleted']);
    assert.equal(
      podStatus({ ...pod('OnFailure'), status: s }, observe({ web: running(true) }), T(10)).phase,
      'Succeeded',
      'terminal phases stay',
    );
  });

  it('ends Failed only when a container failed and will not restart', () => {
    assert.equal(
      podStatus(pod('Never', ['a', 'b']), observe({ a: exited(0), b: exited(2) }), T(9)).phase,
      'Failed',
    );
    assert.equal(
      podStatus(pod('OnFailure', ['a', 'b']), observe({ a: exited(0), b: exited(2) }), T(9)).phase,
      'Running',
    );
    assert.equal(
      podStatus(pod('Never', ['a', 'b']), observe({ a: exited(0), b: running(true) }), T(9)).phase,
      'Running',
    );
    assert.equal(podStatus(pod('Never', ['a', 'b']), observe({ a: exited(1) }), T(9)).phase, 'Pending');
  });

  it('gives a deleted Pod a terminal phase once its containers stopped', () => {
    const deleted = (policy?: RestartPolicy) => ({
      ...pod(policy),
      metadata: { name: 'p', deletionTimestamp: T(5) },
    });
    assert.equal(podStatus(deleted(), observe({ web: exited(0) }), T(9)).phase, 'Succeeded');
    assert.equal(podStatus(deleted(), observe({ web: exited(143) }), T(9)).phase, 'Failed');
    assert.equal(podStatus(deleted('OnFailure'), observe({ web: exited(143) }), T(9)).phase, 'Failed');
    assert.equal(podStatus(deleted(), observe({ web: running(true) }), T(9)).phase, 'Running');
  });

  it('says in the conditions that the lab cannot run an image', () => {
    const message =
      'the lab cannot run image nginx: it runs portico-lab/echo and ghcr.io/portico-dev/portico only';
    const waiting: ObservedContainer = {
      state: 'waiting',
      reason: 'ImageNotSupported',
      message,
      restartCount: 0,
      ready: false,
    };
    for (const o of [
      observe({ web: waiting }),
      observe({}, { unsupported: { reason: 'ImageNotSupported', message } }),
    ]) {
      const s = podStatus(pod(), o, T(1));
      assert.equal(s.phase, 'Pending');
      for (const type of ['Ready', 'ContainersReady']) {
        assert.deepEqual(cond(s, type), {
          type,
          status: 'False',
          reason: 'ImageNotSupported',
          message,
          lastProbeTime: null,
          lastTransitionTime: T(1),
        });
      }
    }
    const config = { ...waiting, reason: 'CreateContainerConfigError', message: 'secret "s" not found' };
    const s = podStatus(pod(), observe({ web: config }), T(1));
    assert.deepEqual(s.containerStatuses?.[0]?.state, {
      waiting: { reason: 'CreateContainerConfigError', message: 'secret "s" not found' },
    });
    assert.equal(cond(s, 'Ready').message, 'secret "s" not found');
  });

  it('sorts container statuses by name and lists unready containers in spec order', () => {
    const s = podStatus(
      pod(undefined, ['zed', 'alpha', 'mid']),
      observe({ alpha: running(true), zed: running(false) }),
      T(1),
    );
    assert.deepEqual(
      s.containerStatuses?.map((c) => c.name),
      ['alpha', 'mid', 'zed'],
    );
    assert.equal(cond(s, 'Ready').message, 'containers with unready status: [zed mid]');
  });

  it('keeps conditions it does not own, and the scheduler’s PodScheduled', () => {
    const disruption = {
      type: 'DisruptionTarget',
      status: 'True' as const,
      reason: 'DeletionByTaintManager',
      lastProbeTime: null,
      lastTransitionTime: T(0),
    };
    const scheduled = {
      type: 'PodScheduled',
      status: 'True' as const,
      lastProbeTime: null,
      lastTransitionTime: T(0),
    };
    const s = podStatus(
      pod(undefined, ['web'], { conditions: [disruption, scheduled] }),
      observe({ web: running(true) }),
      T(5),
    );
    assert.deepEqual(s.conditions?.slice(0, 2), [disruption, scheduled]);
    assert.deepEqual(
      s.conditions?.map((c) => c.type),
      ['DisruptionTarget', 'PodScheduled', 'Initialized', 'ContainersReady', 'Ready'],
    );
  });

  it('takes dual-stack host addresses and defaults the start time', () => {
    const s = podStatus(
      pod(),
      { containers: {}, podIPs: [], hostIP: '192.0.2.11', hostIPs: ['192.0.2.11', '2001:db8:0:1::11'] },
      T(7),
    );
    assert.deepEqual(s.hostIPs, [{ ip: '192.0.2.11' }, { ip: '2001:db8:0:1::11' }]);
    assert.equal(s.startTime, T(7));
    const kept = podStatus(
      pod(undefined, ['web'], { startTime: T(3), podIP: '198.18.1.9', podIPs: [{ ip: '198.18.1.9' }] }),
      { containers: {}, podIPs: [], hostIP: 'h' },
      T(7),
    );
    assert.equal(kept.startTime, T(3));
    assert.equal('podIP' in kept || 'podIPs' in kept, false);
  });

  it('computes the phase from statuses alone', () => {
    assert.equal(podPhase(pod(), []), 'Pending');
  });
});
