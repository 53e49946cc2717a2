import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Pod, serviceAccountOf } from './pod-types.js';

/** A Pod as `kubectl get pod -o json` shows it (trimmed), which must type-check as a Pod. */
const fromApiServer = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'echo-7d9f-abcde', namespace: 'demo', uid: 'u1', labels: { app: 'echo' } },
  spec: {
    nodeName: 'node-1',
    restartPolicy: 'Always',
    serviceAccountName: 'default',
    serviceAccount: 'default',
    terminationGracePeriodSeconds: 30,
    containers: [
      {
        name: 'echo',
        image: 'portico-lab/echo',
        args: ['--port', '$(PORT)'],
        env: [
          { name: 'PORT', value: '8080' },
          { name: 'NODE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } },
          { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k', optional: true } } },
        ],
        ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
        readinessProbe: {
          httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' },
          periodSeconds: 2,
          timeoutSeconds: 1,
          successThreshold: 1,
          failureThreshold: 3,
        },
      },
    ],
  },
  status: {
    phase: 'Running',
    conditions: [
      { type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-01-01T00:00:00Z' },
    ],
    hostIP: '192.0.2.11',
    hostIPs: [{ ip: '192.0.2.11' }],
    podIP: '198.18.1.5',
    podIPs: [{ ip: '198.18.1.5' }],
    startTime: '2026-01-01T00:00:00Z',
    containerStatuses: [
      {
        name: 'echo',
        image: 'portico-lab/echo',
        imageID: '',
        ready: true,
        started: true,
        restartCount: 1,
        state: { running: { startedAt: '2026-01-01T00:00:05Z' } },
        lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: '2026-01-01T00:00:04Z' } },
      },
    ],
  },
} satisfies Pod;

describe('pod-types', () => {
  it('accepts the API server’s Pod JSON', () => {
    const pod: Pod = JSON.parse(JSON.stringify(fromApiServer));
    assert.equal(pod.status?.containerStatuses?.[0]?.state?.running?.startedAt, '2026-01-01T00:00:05Z');
  });

  it('names the service account, falling back to the deprecated field and then default', () => {
    const pod = (spec: Partial<Pod['spec']>): Pod => ({ metadata: {}, spec: { containers: [], ...spec } });
    assert.equal(serviceAccountOf(pod({ serviceAccountName: 'a', serviceAccount: 'b' })), 'a');
    assert.equal(serviceAccountOf(pod({ serviceAccount: 'b' })), 'b');
    assert.equal(serviceAccountOf(pod({})), 'default');
  });
});
