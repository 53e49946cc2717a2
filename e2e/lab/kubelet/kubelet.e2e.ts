/**
 * The lab kubelet on real parts: a lab topology of two nodes, a real control plane, one LabKubelet
 * per node, and Pods that run as processes in pod namespaces, become Ready from their probe, talk
 * across nodes over host-gw, restart with CrashLoopBackOff, carry a real ServiceAccount token and
 * end with SIGTERM (SIGKILL after their grace period) when deleted; images the lab does not know
 * get a condition that says so.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import ipaddr from 'ipaddr.js';
import { pino } from 'pino';
import type { KubeClient } from '../../../src/k8s/client.js';
import { ApiError, isNotFound } from '../../../src/k8s/errors.js';
import { Resources } from '../../../src/k8s/resources.js';
import type { KubeObject, Node } from '../../../src/k8s/types.js';
import { type ControlPlane, startControlPlane } from '../../cluster/control-plane.js';
import { clientFor, createNode, createTestNamespace } from '../../support/kube.js';
import { waitFor } from '../../support/wait.js';
import { tryInNetns } from '../exec.js';
import { planLab } from '../plan.js';
import { LabState } from '../state.js';
import { isLabTopologyNamespace, listNamespaces, teardown } from '../teardown.js';
import { refuseIfUserLabIsUp } from '../test-guard.js';
import { buildTopology } from '../topology.js';
import { LabKubelet } from './kubelet.js';
import { podDirectory } from './pod-lifecycle.js';
import type { Container, Pod, PodCondition } from './pod-types.js';

const scope = { matchNamespace: isLabTopologyNamespace };
const root = mkdtempSync(join(tmpdir(), 'portico-kubelet-e2e-'));
const podDir = join(root, 'pods');
const plan = planLab({ nodes: 2 });
const state = new LabState(join(root, 'state'));
/** The kubelets' logs; PORTICO_KEEP_TEST_DIR=1 keeps them (and the pods' logs) after the run. */
const logger = pino({ level: 'debug' }, pino.destination({ dest: join(root, 'kubelet.log'), sync: true }));
const keepDir = process.env.PORTICO_KEEP_TEST_DIR === '1';

/** Processes started by these kubelets: their KUBECONFIG lies under this suite's pod dir. */
function podProcesses(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`KUBECONFIG=${podDir}/`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const echo = (env: Container['env'] = []): Container => ({
  name: 'echo',
  image: 'portico-lab/echo',
  env: [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    ...env,
  ],
  ports: [{ name: 'http', containerPort: 8080 }],
});

const condition = (pod: Pod, type: string): PodCondition | undefined =>
  pod.status?.conditions?.find((c) => c.type === type);

describe('the lab kubelet', { timeout: 240_000 }, () => {
  let plane: ControlPlane | undefined;
  let admin: KubeClient;
  let namespace: string;
  const kubelets: LabKubelet[] = [];
  const pods = () => admin.resource<Pod>(Resources.pods);

  async function createPod(name: string, nodeName: string, spec: Partial<Pod['spec']>): Promise<Pod> {
    return pods().create({
      metadata: { name, namespace },
      spec: { nodeName, terminationGracePeriodSeconds: 5, containers: [], ...spec },
    });
  }

  /** Polls the Pod until `check` returns it (or another value), with what it last saw in the failure. */
  function waitForPod<T>(
    name: string,
    what: string,
    check: (pod: Pod) => T | false | undefined,
    timeoutMs = 15_000,
  ) {
    return waitFor(
      `${name}: ${what}`,
      async (seen) => {
        const p = await pods().get(name, namespace);
        seen(p.status);
        return check(p);
      },
      { timeoutMs, intervalMs: 50 },
    );
  }

  const ready = (p: Pod) => condition(p, 'Ready')?.status === 'True' && p;

  /** Deletes the Pod as a user does (with its grace period) and waits until the object is gone. */
  async function deletePod(name: string): Promise<void> {
    await pods().delete(name, namespace);
    await waitFor(
      `${name}: the Pod object gone`,
      () =>
        pods()
          .get(name, namespace)
          .then(() => false, isNotFound),
      { timeoutMs: 15_000 },
    );
  }

  /** Set once the lab namespaces are this suite's to remove (not when it refused to start). */
  let ownsLab = false;

  before(async () => {
    refuseIfUserLabIsUp();
    ownsLab = true;
    await teardown(scope);
    await buildTopology(plan, { state });
    plane = await startControlPlane();
    admin = clientFor(plane.kubeconfigPath);
    for (const node of plan.nodes) {
      await createNode(admin, {
        name: node.name,
        internalIPs: [node.lan.v4],
        podCIDRs: [node.podCidr.v4, ...(node.podCidr.v6 ? [node.podCidr.v6] : [])],
      });
    }
    namespace = await createTestNamespace(admin, 'kubelet');
    await waitFor('the default ServiceAccount', () =>
      admin
        .resource(Resources.serviceAccounts)
        .get('default', namespace)
        .then(() => true),
    );
    for (const node of plan.nodes) {
      const kubelet = new LabKubelet({
        client: admin,
        plan,
        node,
        state,
        apiServer: { server: plane.server, caPath: plane.caPath },
        podDir: join(podDir, node.name),
        restartBackoff: { baseMs: 1000, maxMs: 4000 },
        logger,
      });
      kubelets.push(kubelet);
      await kubelet.start();
    }
  });

  after(async () => {
    await Promise.all(kubelets.map((k) => k.stop()));
    admin?.close();
    await plane?.stop();
    if (ownsLab) await teardown({ ...scope, state });
    if (keepDir) console.log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
    if (!ownsLab) return;
    assert.deepEqual((await listNamespaces()).filter(isLabTopologyNamespace), [], 'lab namespaces left');
    assert.deepEqual(podProcesses(), [], 'pod processes left');
  });

  it('runs an echo Pod: Ready from its probe, reachable from another node, with a ServiceAccount token, and stops it with SIGTERM on delete', async (t) => {
    const created = performance.now();
    const pod = await createPod('echo', 'node-1', {
      containers: [
        {
          ...echo(),
          readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
        },
      ],
    });
    const running = await waitForPod(
      'echo',
      'Running and Ready',
      (p) => p.status?.phase === 'Running' && ready(p),
    );
    t.diagnostic(`created to Ready in ${(performance.now() - created).toFixed(0)} ms`);
    const podIP = running.status?.podIP ?? '';
    assert.ok(ipaddr.parse(podIP).match(ipaddr.parseCIDR('198.18.1.0/24')), podIP);
    assert.deepEqual(running.status?.podIPs?.[0], { ip: podIP });
    assert.equal(running.status?.hostIP, '192.0.2.11');
    assert.equal(condition(running, 'ContainersReady')?.status, 'True');
    const [status] = running.status?.containerStatuses ?? [];
    assert.equal(status?.ready, true);
    assert.ok(status?.state?.running?.startedAt);

    const curl = await tryInNetns('portico-node-2', 'curl', [
      '-s',
      '--max-time',
      '3',
      `http://${podIP}:8080/`,
    ]);
    assert.equal(curl.code, 0, curl.stderr);
    const body = JSON.parse(curl.stdout) as Record<string, string>;
    assert.deepEqual([body.pod, body.node, body.namespace, body.podIp], ['echo', 'node-1', namespace, podIP]);
    assert.equal(body.remoteAddress, '192.0.2.12', 'host-gw: node-2 reaches the pod with its own address');

    const dir = podDirectory(join(podDir, 'node-1'), running);
    const kubeconfig = readFileSync(join(dir, 'kubeconfig'), 'utf8');
    assert.match(kubeconfig, new RegExp(`server: ${plane?.server.replace(/[.[\]]/g, '\\$&')}`));
    const asPod = clientFor(join(dir, 'kubeconfig'));
    try {
      const err = await asPod
        .resource<Node>(Resources.nodes)
        .list()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(err instanceof ApiError && err.code === 403, `expected 403, got ${String(err)}`);
      assert.match(err.message, new RegExp(`"system:serviceaccount:${namespace}:default" cannot list`));
    } finally {
      asPod.close();
    }

    const netns = (await listNamespaces()).filter((n) => n.startsWith('portico-pod-'));
    assert.equal(netns.length, 1, `one pod namespace: ${netns.join(', ')}`);
    const deleting = performance.now();
    await deletePod('echo');
    t.diagnostic(`deleted and finalised in ${(performance.now() - deleting).toFixed(0)} ms`);
    assert.equal(pod.metadata.uid, running.metadata.uid);
    const log = readFileSync(join(dir, 'echo.log'), 'utf8');
    const stopped = log
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; signal?: string })
      .find((l) => l.msg === 'echo server stopped');
    assert.equal(stopped?.signal, 'SIGTERM', log);
    assert.ok(!(await listNamespaces()).includes(netns[0] ?? ''), 'its namespace is gone');
    assert.deepEqual(state.read().pods, [], 'its addresses are free');
  });

  it('runs a hostNetwork Pod in the node namespace with the node address', async () => {
    await createPod('host', 'node-2', {
      hostNetwork: true,
      containers: [
        {
          ...echo([{ name: 'PORT', value: '8081' }]),
          readinessProbe: { tcpSocket: { port: 8081 }, periodSeconds: 1 },
        },
      ],
    });
    const host = await waitForPod('host', 'Ready', ready);
    assert.equal(host.status?.podIP, '192.0.2.12');
    const curl = await tryInNetns('portico-node-1', 'curl', [
      '-s',
      '--max-time',
      '3',
      'http://192.0.2.12:8081/',
    ]);
    assert.equal((JSON.parse(curl.stdout) as { node: string }).node, 'node-2');
    await deletePod('host');
    assert.ok((await listNamespaces()).includes('portico-node-2'), 'the node namespace stays');
  });

  it('says why it cannot run an image it does not know, and leaves the Pod Pending', async () => {
    await createPod('web', 'node-2', { containers: [{ name: 'nginx', image: 'nginx' }] });
    const pending = await waitForPod(
      'web',
      'the ImageNotSupported condition',
      (p) => condition(p, 'Ready')?.reason === 'ImageNotSupported' && p,
    );
    assert.equal(pending.status?.phase, 'Pending');
    assert.match(condition(pending, 'Ready')?.message ?? '', /the lab cannot run image nginx/);
    assert.equal(pending.status?.containerStatuses?.[0]?.state?.waiting?.reason, 'ImageNotSupported');
    await sleep(1500);
    const later = await pods().get('web', namespace);
    assert.equal(later.status?.phase, 'Pending');
    assert.equal(later.status?.podIP, undefined);
    assert.deepEqual(state.read().pods, [], 'no network for a Pod the lab cannot run');
    await deletePod('web');
  });

  it('restarts a container that exits, with CrashLoopBackOff between restarts', async () => {
    await createPod('crash', 'node-1', { containers: [echo([{ name: 'PORT', value: 'notaport' }])] });
    let backoff = '';
    const crashed = await waitForPod(
      'crash',
      'restartCount ≥ 2 after CrashLoopBackOff',
      (p) => {
        const s = p.status?.containerStatuses?.[0];
        backoff ||= s?.state?.waiting?.reason === 'CrashLoopBackOff' ? (s.state.waiting.message ?? '') : '';
        return backoff !== '' && (s?.restartCount ?? 0) >= 2 && s;
      },
      30_000,
    );
    assert.match(backoff, /^back-off \d+(\.\d+)?s restarting failed container=echo pod=crash_/);
    assert.equal(crashed.lastState?.terminated?.exitCode, 1);
    assert.equal(crashed.lastState?.terminated?.reason, 'Error');
    const log = readFileSync(
      join(podDirectory(join(podDir, 'node-1'), await pods().get('crash', namespace)), 'echo.log'),
      'utf8',
    );
    assert.match(log, /PORT must be 0-65535, got 'notaport'/);
    await deletePod('crash');
  });

  it('does not restart a container of a restartPolicy Never Pod: the Pod fails', async () => {
    await createPod('once', 'node-2', {
      restartPolicy: 'Never',
      containers: [echo([{ name: 'PORT', value: 'notaport' }])],
    });
    const failed = await waitForPod('once', 'Failed', (p) => p.status?.phase === 'Failed' && p);
    const [s] = failed.status?.containerStatuses ?? [];
    assert.deepEqual([s?.restartCount, s?.state?.terminated?.exitCode], [0, 1]);
    await deletePod('once');
  });

  it('kills a container with SIGKILL when it outlives its grace period', async (t) => {
    await createPod('slow', 'node-1', {
      terminationGracePeriodSeconds: 1,
      containers: [{ ...echo(), readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }],
    });
    const pod = await waitForPod('slow', 'Ready', ready);
    // the echo server lets in-flight requests finish for up to 15 s after SIGTERM
    const url = `http://${pod.status?.podIP}:8080/?delayMs=8000`;
    const request = tryInNetns('portico-node-2', 'curl', ['-s', '--max-time', '12', url]);
    await sleep(300);
    const deleting = performance.now();
    await deletePod('slow');
    const ms = performance.now() - deleting;
    t.diagnostic(`deleted with a 1 s grace period in ${ms.toFixed(0)} ms`);
    assert.ok(ms < 5_000, `took ${ms} ms`);
    assert.notEqual((await request).code, 0, 'the in-flight request died with the process');
    const log = readFileSync(join(podDirectory(join(podDir, 'node-1'), pod), 'echo.log'), 'utf8');
    assert.doesNotMatch(log, /echo server stopped/, 'killed before it could stop by itself');
  });

  it('keeps a running Pod unready while its readiness probe fails', async () => {
    await createPod('unready', 'node-1', {
      containers: [{ ...echo(), readinessProbe: { tcpSocket: { port: 9 }, periodSeconds: 1 } }],
    });
    const running = await waitForPod('unready', 'Running', (p) => p.status?.phase === 'Running' && p);
    await sleep(2500);
    const later = await pods().get('unready', namespace);
    assert.equal(later.status?.phase, 'Running');
    assert.equal(later.status?.containerStatuses?.[0]?.started, true);
    assert.deepEqual(
      [condition(later, 'Ready')?.status, condition(later, 'Ready')?.message],
      ['False', 'containers with unready status: [echo]'],
    );
    assert.equal(later.metadata.uid, running.metadata.uid);
    await deletePod('unready');
  });

  it("gives the container a kubelet's environment: fieldRefs, Secret keys, KUBECONFIG and the kubernetes Service", async () => {
    await admin.resource<KubeObject & { data: Record<string, string> }>(Resources.secrets).create({
      metadata: { name: 'creds', namespace },
      data: { password: Buffer.from('s3cret').toString('base64') },
    });
    await createPod('env', 'node-2', {
      containers: [
        echo([
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
          { name: 'GREETING', value: 'hello $(POD_NAME) on $(NODE_NAME)' },
        ]),
      ],
    });
    const pod = await waitForPod('env', 'Running', (p) => p.status?.phase === 'Running' && p);
    const pid = Object.values(kubelets[1]?.processes() ?? {}).flat()[0] ?? assert.fail('no process');
    const environ = Object.fromEntries(
      readFileSync(`/proc/${pid}/environ`, 'utf8')
        .split('\0')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    assert.deepEqual(
      [environ.POD_NAME, environ.NODE_NAME, environ.POD_NAMESPACE, environ.POD_IP],
      ['env', 'node-2', namespace, pod.status?.podIP],
    );
    assert.equal(environ.PASSWORD, 's3cret');
    assert.equal(environ.GREETING, 'hello env on node-2');
    assert.equal(environ.KUBECONFIG, join(podDirectory(join(podDir, 'node-2'), pod), 'kubeconfig'));
    assert.equal(environ.KUBERNETES_SERVICE_HOST, '198.19.0.1');
    assert.equal(environ.HOSTNAME, 'env');
    await deletePod('env');
  });

  it('stops Pods without deleting them when it stops, and runs them again when it starts', async () => {
    const kubelet = kubelets[1] ?? assert.fail('no kubelet for node-2');
    await createPod('survivor', 'node-2', {
      containers: [
        { ...echo(), readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 } },
      ],
    });
    const readySince = (since: string) =>
      waitForPod('survivor', `Ready with a container started at ${since} or later`, (p) => {
        const startedAt = p.status?.containerStatuses?.[0]?.state?.running?.startedAt ?? '';
        return startedAt >= since && ready(p);
      });
    const first = await readySince('');
    const pids = Object.values(kubelet.processes()).flat();
    assert.equal(pids.length, 1);
    await kubelet.stop();
    assert.deepEqual(
      podProcesses().filter((pid) => pids.includes(pid)),
      [],
      'its process is stopped',
    );
    assert.deepEqual(
      (await listNamespaces()).filter((n) => n.startsWith('portico-pod-')),
      [],
      'its namespace is removed',
    );
    assert.equal((await pods().get('survivor', namespace)).metadata.uid, first.metadata.uid, 'the Pod stays');
    const restarted = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await kubelet.start();
    const again = await readySince(restarted);
    assert.equal(again.status?.containerStatuses?.[0]?.restartCount, 1, 'its process ran again');
    const now = Object.values(kubelet.processes()).flat();
    assert.equal(now.length, 1);
    assert.notEqual(now[0], pids[0]);
    const curl = await tryInNetns('portico-node-1', 'curl', [
      '-s',
      '--max-time',
      '3',
      `http://${again.status?.podIP}:8080/`,
    ]);
    assert.equal((JSON.parse(curl.stdout) as { pod: string }).pod, 'survivor');
    await deletePod('survivor');
  });
});
