import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Container, Probe } from './pod-types.js';
import {
  containerReady,
  httpProbePassed,
  initialProbeState,
  nextProbeAt,
  type ProbeState,
  probeDue,
  probeSettings,
  probeTarget,
  recordProbeResult,
  resolvePort,
} from './probe.js';

function feed(probe: Probe, results: boolean[], state = initialProbeState()): boolean[] {
  const readiness: boolean[] = [];
  results.forEach((ok, i) => {
    state = recordProbeResult(state, probe, ok, i * 1000);
    readiness.push(state.ready);
  });
  return readiness;
}

describe('probe timing', () => {
  it('uses the Kubernetes defaults', () => {
    assert.deepEqual(probeSettings({}), {
      initialDelayMs: 0,
      periodMs: 10_000,
      timeoutMs: 1000,
      successThreshold: 1,
      failureThreshold: 3,
    });
    assert.equal(probeSettings({ periodSeconds: 0, timeoutSeconds: 0 }).periodMs, 10_000);
  });

  it('waits initialDelaySeconds after the start, then periodSeconds between probes', () => {
    const probe = { initialDelaySeconds: 5, periodSeconds: 2 };
    let s: ProbeState = initialProbeState();
    assert.equal(probeDue(s, probe, 104_999, 100_000), false);
    assert.equal(probeDue(s, probe, 105_000, 100_000), true);
    s = recordProbeResult(s, probe, false, 105_300);
    assert.equal(probeDue(s, probe, 107_299, 100_000), false);
    assert.equal(probeDue(s, probe, 107_300, 100_000), true);
    assert.equal(nextProbeAt(s, probe, 100_000), 107_300);
  });

  it('probes at once when there is no initial delay', () => {
    assert.equal(probeDue(initialProbeState(), {}, 50, 50), true);
    assert.equal(nextProbeAt(recordProbeResult(initialProbeState(), {}, true, 50), {}, 50), 10_050);
  });
});

describe('recordProbeResult', () => {
  it('starts not ready and becomes ready on the first success by default', () => {
    assert.equal(initialProbeState().ready, false);
    assert.deepEqual(feed({}, [false, true]), [false, true]);
  });

  it('needs successThreshold successes in a row', () => {
    assert.deepEqual(feed({ successThreshold: 2 }, [true, false, true, true, true]), [
      false,
      false,
      false,
      true,
      true,
    ]);
  });

  it('turns unready only after failureThreshold failures in a row', () => {
    const results = [true, false, false, true, false, false, false, true];
    assert.deepEqual(feed({}, results), [true, true, true, true, true, true, false, true]);
    assert.deepEqual(feed({ failureThreshold: 1 }, [true, false, true]), [true, false, true]);
  });

  it('counts runs and records the probe time', () => {
    const s = recordProbeResult(recordProbeResult(initialProbeState(), {}, false, 1), {}, false, 2);
    assert.deepEqual(s, { ready: false, lastResult: false, run: 2, lastProbeAt: 2 });
  });

  it('is ready exactly when the last successThreshold results were successes, or it was ready and the last failureThreshold were not all failures', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.boolean()),
        (st, ft, rs) => {
          const probe = { successThreshold: st, failureThreshold: ft };
          let ready = false;
          rs.forEach((_, i) => {
            const tail = (n: number) => (i + 1 >= n ? rs.slice(i + 1 - n, i + 1) : undefined);
            if (tail(st)?.every((r) => r)) ready = true;
            else if (tail(ft)?.every((r) => !r)) ready = false;
          });
          assert.equal(feed(probe, rs).at(-1) ?? false, ready);
        },
      ),
    );
  });

  it('counts as ready without a probe once running', () => {
    const s = initialProbeState();
    assert.equal(containerReady(s, undefined, true), true);
    assert.equal(containerReady(s, undefined, false), false);
    assert.equal(containerReady(s, {}, true), false);
    assert.equal(containerReady({ ...s, ready: true }, {}, false), false);
    assert.equal(containerReady({ ...s, ready: true }, {}, true), true);
  });
});

describe('probeTarget', () => {
  const container: Container = {
    name: 'web',
    image: 'portico-lab/echo',
    ports: [
      { name: 'http', containerPort: 8080 },
      { name: 'admin', containerPort: 9090, protocol: 'TCP' },
    ],
  };

  it('defaults the HTTP scheme, host and path', () => {
    assert.deepEqual(probeTarget({ httpGet: { port: 8080 } }, '198.18.1.5', container), {
      kind: 'http',
      url: 'http://198.18.1.5:8080/',
      headers: { 'User-Agent': 'kube-probe/lab', Accept: '*/*' },
    });
  });

  it('resolves named ports, HTTPS, paths with queries, hosts and IPv6', () => {
    const probe: Probe = { httpGet: { port: 'admin', scheme: 'HTTPS', path: 'healthz?full=1' } };
    assert.equal(
      (probeTarget(probe, '2001:db8:0:11::5', container) as { url: string }).url,
      'https://[2001:db8:0:11::5]:9090/healthz?full=1',
    );
    const host = probeTarget(
      { httpGet: { port: 'http', host: '192.0.2.11', path: '/ready' } },
      '198.18.1.5',
      container,
    );
    assert.equal((host as { url: string }).url, 'http://192.0.2.11:8080/ready');
  });

  it('lets httpHeaders override the defaults, whatever their case', () => {
    const probe: Probe = {
      httpGet: {
        port: 8080,
        httpHeaders: [
          { name: 'user-agent', value: 'me' },
          { name: 'X-Probe', value: '1' },
        ],
      },
    };
    assert.deepEqual((probeTarget(probe, '198.18.1.5', container) as { headers: unknown }).headers, {
      Accept: '*/*',
      'user-agent': 'me',
      'X-Probe': '1',
    });
  });

  it('resolves TCP and exec probes', () => {
    assert.deepEqual(probeTarget({ tcpSocket: { port: 'http' } }, '198.18.1.5', container), {
      kind: 'tcp',
      host: '198.18.1.5',
      port: 8080,
    });
    assert.deepEqual(probeTarget({ tcpSocket: { port: 53, host: '192.0.2.1' } }, 'x', container), {
      kind: 'tcp',
      host: '192.0.2.1',
      port: 53,
    });
    assert.deepEqual(probeTarget({ exec: { command: ['cat', '/tmp/ok'] } }, 'x', container), {
      kind: 'exec',
      command: ['cat', '/tmp/ok'],
    });
  });

  it('reports unknown ports and handlers', () => {
    assert.deepEqual(probeTarget({ tcpSocket: { port: 'grpc' } }, 'x', container), {
      error: 'port grpc not found in container web',
    });
    assert.deepEqual(probeTarget({ httpGet: { port: 70000 } }, 'x', container), {
      error: 'invalid port number: 70000',
    });
    assert.match((probeTarget({ grpc: { port: 1 } }, 'x', container) as { error: string }).error, /gRPC/);
    assert.match((probeTarget({}, 'x', container) as { error: string }).error, /no handler/);
  });

  it('takes a number in a string as a last resort, as the kubelet does', () => {
    assert.equal(resolvePort('8081', container), 8081);
    assert.equal(resolvePort('http', { name: 'c', image: 'i' }).constructor, Object);
    assert.deepEqual(resolvePort(0, container), { error: 'invalid port number: 0' });
  });

  it('passes HTTP statuses 200-399', () => {
    assert.deepEqual([199, 200, 302, 399, 400, 503].map(httpProbePassed), [
      false,
      true,
      true,
      true,
      false,
      false,
    ]);
  });
});
