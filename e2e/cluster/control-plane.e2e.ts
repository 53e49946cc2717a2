/**
 * Smoke test of the test control plane itself: start, talk to it as admin and as a ServiceAccount,
 * restart the apiserver, compact etcd, stop without leaving processes behind.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, afterEach, before, test } from 'node:test';
import { parse } from 'yaml';
import { type ApiConnection, apiRequest } from './admin-request.js';
import { k8sVersion } from './binaries.js';
import { type ControlPlane, startControlPlane } from './control-plane.js';

let plane: ControlPlane | undefined;
let failed = false;
const ns = 'smoke';

function cp(): ControlPlane {
  assert.ok(plane, 'the control plane did not start');
  return plane;
}

function inServiceRange(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number);
  return a === 198 && b === 19;
}

before(async () => {
  plane = await startControlPlane();
  const t = plane.timings;
  console.log(
    `control plane up in ${t.totalMs.toFixed(0)} ms (etcd ${t.etcdMs.toFixed(0)}, apiserver ` +
      `${t.apiserverMs.toFixed(0)}, controller-manager ${t.controllerManagerMs.toFixed(0)})`,
  );
});

afterEach((ctx) => {
  // A failed `before` fails every test, so this also reports startup failures that got this far.
  const outcome = (ctx as unknown as { passed?: boolean }).passed;
  if (outcome === false && plane && !failed) {
    failed = true;
    console.error(`control-plane logs:\n${plane.tails(30)}`);
  }
});

after(async () => {
  await plane?.stop();
});

test('serves the pinned version', async () => {
  const res = await cp().adminRequest<{ gitVersion: string }>('GET', '/version');
  assert.equal(res.status, 200);
  assert.equal(res.body.gitVersion, k8sVersion());
});

test('allocates LoadBalancer ClusterIPs from 198.19.0.0/16', async () => {
  const { adminRequest } = cp();
  assert.equal((await adminRequest('POST', '/api/v1/namespaces', { metadata: { name: ns } })).status, 201);
  const svc = {
    metadata: { name: 'web' },
    spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
  };
  const res = await adminRequest<{ spec: { clusterIP: string; ports: { nodePort?: number }[] } }>(
    'POST',
    `/api/v1/namespaces/${ns}/services`,
    svc,
  );
  assert.equal(res.status, 201, res.text);
  assert.ok(inServiceRange(res.body.spec.clusterIP), `clusterIP ${res.body.spec.clusterIP}`);
  assert.ok(res.body.spec.ports[0]?.nodePort, 'a LoadBalancer Service gets a NodePort');
});

test('a ServiceAccount kubeconfig authenticates but RBAC denies it', async () => {
  const path = await cp().serviceAccountKubeconfig(ns, 'lb-controller');
  const config = parse(readFileSync(path, 'utf8'));
  const sa: ApiConnection = {
    server: config.clusters[0].cluster.server,
    caPath: config.clusters[0].cluster['certificate-authority'],
    token: config.users[0].user.token,
  };
  const denied = await apiRequest(sa, 'GET', `/api/v1/namespaces/${ns}/services`);
  assert.equal(denied.status, 403, denied.text);
  assert.match(denied.text, /system:serviceaccount:smoke:lb-controller/);
  const admin = await cp().adminRequest('GET', `/api/v1/namespaces/${ns}/services`);
  assert.equal(admin.status, 200);
});

test('data survives an apiserver kill and restart on the same port', async () => {
  const plane = cp();
  await plane.killApiserver();
  await assert.rejects(plane.adminRequest('GET', '/readyz', undefined, { timeoutMs: 2_000 }));
  const started = performance.now();
  await plane.startApiserver();
  console.log(`apiserver restarted in ${(performance.now() - started).toFixed(0)} ms`);
  const res = await plane.adminRequest<{ spec: { clusterIP: string } }>(
    'GET',
    `/api/v1/namespaces/${ns}/services/web`,
  );
  assert.equal(res.status, 200, res.text);
  assert.ok(inServiceRange(res.body.spec.clusterIP));
});

test('compactEtcd compacts at the current revision', async () => {
  const revision = await cp().compactEtcd();
  assert.ok(revision > 1, `revision ${revision}`);
});

test('stop() leaves no child process alive', async () => {
  const plane = cp();
  const pids = Object.values(plane.pids());
  assert.equal(pids.length, 3, 'etcd, kube-apiserver and kube-controller-manager run');
  await plane.stop();
  for (const pid of pids) {
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} is still alive`);
  }
  assert.deepEqual(plane.pids(), {});
});
