/**
 * The lab's cluster as a user meets it: `portico lab up` through the real binary, then the API
 * through the printed kubeconfig, and Services forwarded by the real kube-proxy in the nodes.
 */
import * as assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { KubeClient } from '../../src/k8s/client.js';
import { Resources } from '../../src/k8s/resources.js';
import type { EndpointSlice, Lease, Node, Service } from '../../src/k8s/types.js';
import { clientFor } from '../support/kube.js';
import { waitFor } from '../support/wait.js';
import { tryInNetns } from './exec.js';
import { labHostRoutes, porticoWith, prepareLabSuite } from './lab-suite.js';
import { isLabTopologyNamespace, listNamespaces, teardown } from './teardown.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const stateDir = mkdtempSync(join(tmpdir(), 'portico-lab-cluster-'));
const env = { ...process.env, PORTICO_LAB_STATE_DIR: stateDir };
const kubeconfig = join(stateDir, 'kubeconfig');

const portico = porticoWith(stateDir);

const pgrep = (pattern: string) =>
  spawnSync('pgrep', ['-af', pattern], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((line) => line && !line.includes('pgrep'));
/** Processes of this lab: anything naming its state dir, and the supervisor. */
const labProcesses = () => [...pgrep(stateDir), ...pgrep('portico.js lab serve')];
const labNamespaces = async () => (await listNamespaces()).filter(isLabTopologyNamespace);

async function assertNothingLeft(when: string): Promise<void> {
  assert.deepEqual(await labNamespaces(), [], `namespaces left ${when}`);
  assert.deepEqual(labProcesses(), [], `processes left ${when}`);
  assert.deepEqual(pgrep('^/\\S*(etcd|kube-apiserver|kube-proxy) .*portico-lab-cluster-'), [], when);
  const links = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;
  assert.doesNotMatch(links, /portico-host/, `portico-host left ${when}`);
  assert.deepEqual(labHostRoutes(), [], `host routes left ${when}`);
}

/** The first line a TCP server sends, read from inside a namespace ('' if nothing answers). */
async function readFrom(netns: string, host: string, port: number): Promise<string> {
  const r = await tryInNetns(netns, 'socat', ['-u', `TCP:${host}:${port},connect-timeout=2`, '-'], {
    timeoutMs: 5_000,
  });
  return r.stdout.trim();
}

describe('portico lab: the cluster', () => {
  let client: KubeClient | undefined;
  let listener: ChildProcess | undefined;

  before(async () => {
    await prepareLabSuite();
  });
  after(async () => {
    client?.close();
    listener?.kill('SIGKILL');
    portico('lab', 'down');
    await teardown({ matchNamespace: isLabTopologyNamespace });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('comes up with 3 Ready nodes, kept Ready by their Leases', async (t) => {
    const up = portico('lab', 'up');
    assert.equal(up.code, 0, up.stderr);
    t.diagnostic(`lab up took ${up.ms.toFixed(0)} ms; ${up.stderr.match(/lab up in .*/)?.[0]}`);
    assert.ok(up.ms < 120_000, `lab up took ${up.ms} ms`);
    for (const i of [1, 2, 3])
      assert.match(up.stdout, new RegExp(`node/node-${i} +Ready .*192\\.0\\.2\\.1${i}`));
    assert.match(up.stdout, /service\/kubernetes +ClusterIP +198\.19\.0\.1 /);
    assert.match(up.stdout, new RegExp(`export KUBECONFIG=${kubeconfig}\\n$`));
    const status = portico('lab', 'status');
    assert.equal(status.code, 0, status.stdout);
    assert.match(status.stdout, /ok +kube-proxy on node-3 \/healthz 200/);

    client = clientFor(kubeconfig);
    const nodes = (await client.resource<Node>(Resources.nodes).list()).items;
    assert.deepEqual(nodes.map((n) => n.metadata?.name).sort(), ['node-1', 'node-2', 'node-3']);
    for (const node of nodes) {
      const i = node.metadata?.name?.slice(-1);
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'True');
      assert.equal(ready?.reason, 'KubeletReady');
      const internal = node.status?.addresses?.filter((a) => a.type === 'InternalIP').map((a) => a.address);
      assert.deepEqual(internal, [`192.0.2.1${i}`, `2001:db8:0:1::1${i}`]);
      assert.deepEqual(node.spec?.podCIDRs, [`198.18.${i}.0/24`, `2001:db8:0:1${i}::/64`]);
    }
    const leases = client.resource<Lease>(Resources.leases);
    const first = (await leases.get('node-2', 'kube-node-lease')).spec?.renewTime;
    assert.ok(first);
    const renewed = await waitFor(
      'a renewed Lease',
      async () => {
        const now = (await leases.get('node-2', 'kube-node-lease')).spec?.renewTime;
        return now && now !== first ? now : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 500 },
    );
    assert.ok(Date.parse(renewed) > Date.parse(first));
  });

  it('forwards the kubernetes Service to the control plane through kube-proxy', async () => {
    const r = await tryInNetns('portico-node-1', 'curl', ['-sk', '-m', '5', 'https://198.19.0.1/version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { gitVersion: string }).gitVersion, 'v1.36.3');
  });

  it('forwards a ClusterIP from a node and a NodePort from the client, through the real kube-proxy', async () => {
    assert.ok(client);
    listener = spawn('ip', [
      ...['netns', 'exec', 'portico-node-2', 'socat'],
      ...['TCP-LISTEN:8080,bind=192.0.2.12,fork,reuseaddr', 'SYSTEM:echo hello-from-node-2'],
    ]);
    await waitFor(
      'the listener on node-2',
      async () => (await readFrom('portico-node-2', '192.0.2.12', 8080)) !== '',
    );
    const svc = await client.resource<Service>(Resources.services).create({
      metadata: { name: 'outside', namespace: 'default' },
      spec: { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
    });
    await client.resource<EndpointSlice>(Resources.endpointSlices).create({
      metadata: {
        name: 'outside-node-2',
        namespace: 'default',
        labels: { 'kubernetes.io/service-name': 'outside' },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['192.0.2.12'], conditions: { ready: true } }],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
    const clusterIp = svc.spec?.clusterIP;
    const nodePort = svc.spec?.ports?.[0]?.nodePort;
    assert.ok(clusterIp && nodePort);
    assert.match(clusterIp, /^198\.19\./);
    const reply = (netns: string, host: string, port: number) => async () =>
      (await readFrom(netns, host, port)) === 'hello-from-node-2';
    await waitFor(`ClusterIP ${clusterIp}:80 from node-1`, reply('portico-node-1', clusterIp, 80), {
      timeoutMs: 20_000,
    });
    await waitFor(
      `NodePort 192.0.2.11:${nodePort} from the client`,
      reply('portico-client', '192.0.2.11', nodePort),
      {
        timeoutMs: 20_000,
      },
    );
    listener.kill('SIGKILL');
  });

  it('runs a Deployment of portico-lab/echo across the nodes, with EndpointSlices and a NodePort', async (t) => {
    assert.ok(client);
    const started = performance.now();
    const labels = { app: 'echo' };
    await client.request('POST', '/apis/apps/v1/namespaces/default/deployments', {
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'echo', namespace: 'default' },
        spec: {
          replicas: 3,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              containers: [
                {
                  name: 'echo',
                  image: 'portico-lab/echo',
                  ports: [{ containerPort: 8080 }],
                  readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    });
    const svc = await client.resource<Service>(Resources.services).create({
      metadata: { name: 'echo', namespace: 'default' },
      spec: { type: 'NodePort', selector: labels, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
    });
    type PodView = {
      metadata: { name: string };
      spec: { nodeName?: string };
      status?: { podIP?: string; conditions?: { type: string; status: string }[] };
    };
    const pods = client.resource<PodView & { metadata: { name: string } }>(Resources.pods);
    const ready = await waitFor(
      'three Ready echo pods',
      async (seen) => {
        const items = (await pods.list({ namespace: 'default', labelSelector: 'app=echo' })).items;
        seen(items.map((p) => [p.metadata.name, p.spec.nodeName, p.status?.podIP]));
        const isReady = (p: PodView) =>
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        return items.length === 3 && items.every(isReady) ? items : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    t.diagnostic(
      `3 echo pods Ready ${(performance.now() - started).toFixed(0)} ms after the Deployment was created`,
    );
    for (const p of ready) {
      const node = p.spec.nodeName ?? '';
      assert.match(node, /^node-[123]$/);
      assert.match(
        p.status?.podIP ?? '',
        new RegExp(`^198\\.18\\.${node.slice(-1)}\\.`),
        "a pod IP from its node's pod CIDR",
      );
    }
    const podIps = ready.map((p) => p.status?.podIP).sort();
    await waitFor('an EndpointSlice with the three pods', async (seen) => {
      const slices = await client!.resource<EndpointSlice>(Resources.endpointSlices).list({
        namespace: 'default',
        labelSelector: 'kubernetes.io/service-name=echo',
      });
      const addresses = slices.items.flatMap((s) => (s.endpoints ?? []).flatMap((e) => e.addresses)).sort();
      seen(addresses);
      return JSON.stringify(addresses) === JSON.stringify(podIps);
    });
    // From the client behind the router, through node-1's NodePort: answers name pods on every node.
    const nodePort = svc.spec?.ports?.[0]?.nodePort;
    const nodesSeen = new Set<string>();
    await waitFor(
      'answers from pods on all three nodes',
      async (seen) => {
        const r = await tryInNetns('portico-client', 'curl', [
          '-s',
          '-m',
          '2',
          `http://192.0.2.11:${nodePort}/`,
        ]);
        if (r.code === 0) {
          const answer = JSON.parse(r.stdout) as { pod: string; node: string; namespace: string };
          assert.equal(answer.namespace, 'default');
          assert.ok(
            ready.some((p) => p.metadata.name === answer.pod),
            `answer from ${answer.pod}`,
          );
          nodesSeen.add(answer.node);
        }
        seen([...nodesSeen]);
        return nodesSeen.size === 3;
      },
      { timeoutMs: 30_000, intervalMs: 20 },
    );
  });

  it('gives a pod its ServiceAccount token and the API through the kubernetes Service, where RBAC applies', async () => {
    assert.ok(client);
    type PodView = {
      metadata: { name: string; uid: string; namespace: string };
      status?: { phase?: string };
    };
    const pods = client.resource<PodView & { metadata: { name: string } }>(Resources.pods);
    const run = async (name: string, args: string[]) => {
      const created = await pods.create({
        metadata: { name, namespace: 'default' },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'kubectl', image: 'portico-lab/kubectl', command: ['kubectl', ...args] }],
        },
      } as never);
      const done = await waitFor(`pod ${name} to finish`, async (seen) => {
        const p = await pods.get(name, 'default');
        seen(p.status?.phase);
        return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p : undefined;
      });
      const dir = join(stateDir, 'pods', `default_${name}_${created.metadata.uid}`);
      return { phase: done.status?.phase, log: readFileSync(join(dir, 'kubectl.log'), 'utf8'), dir };
    };
    const allowed = await run('api-version', ['get', '--raw', '/version']);
    assert.equal(allowed.phase, 'Succeeded', allowed.log);
    assert.match(allowed.log, /"gitVersion": "v1\.36\.3"/);
    // Its kubeconfig names the kubernetes Service, reachable only through kube-proxy on the node.
    assert.match(readFileSync(join(allowed.dir, 'kubeconfig'), 'utf8'), /server: https:\/\/198\.19\.0\.1/);
    const denied = await run('api-secrets', ['get', 'secrets', '-n', 'kube-system']);
    assert.equal(denied.phase, 'Failed');
    assert.match(
      denied.log,
      /Forbidden.*system:serviceaccount:default:default.*cannot list resource "secrets"/,
    );
    // kubectl keeps its cache under the Pod's HOME, its own directory, not in the checkout.
    assert.ok(existsSync(join(denied.dir, '.kube', 'cache')), 'kubectl cached under the Pod directory');
    assert.ok(!existsSync(join(root, '.kube')), 'nothing written into the checkout');
  });

  it("installs Portico from manifests/ and runs Portico's own image as this checkout's binary", async () => {
    assert.ok(client);
    const ns = await client.request<{ metadata: { labels?: Record<string, string> } }>(
      'GET',
      '/api/v1/namespaces/portico-system',
    );
    assert.equal(ns.metadata.labels?.['app.kubernetes.io/part-of'], 'portico', 'lab up applied manifests/');
    const logsOf = (pod: RegExp, container: string) =>
      readdirSync(join(stateDir, 'pods'))
        .filter((d) => pod.test(d))
        .map((d) => readFileSync(join(stateDir, 'pods', d, `${container}.log`), 'utf8'));
    // manifests/' controller Deployment: both replicas start the controller (controller.e2e.ts tests what it does).
    await waitFor("both replicas of manifests/' controller Deployment to start", (seen) => {
      const logs = logsOf(/^portico-system_portico-controller-[a-z0-9]+-[a-z0-9]{5}_/, 'controller');
      seen(logs.map((l) => l.slice(-200)));
      return logs.filter((l) => /"msg":"controller starting"/.test(l)).length === 2;
    });
    // manifests/' speaker DaemonSet: a host-network pod on every node, in-cluster through the kubernetes
    // Service, bound to its node's address (speaker-l2.e2e.ts tests what it does).
    await waitFor('a host-network speaker pod on every node to start', (seen) => {
      const logs = logsOf(/^portico-system_portico-speaker-[a-z0-9]{5}_/, 'speaker');
      const kubelet = readFileSync(join(stateDir, 'logs', 'kubelet.log'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('portico-speaker'))
        .slice(-12);
      seen({ logs: logs.map((l) => l.slice(-200)), kubelet });
      return [11, 12, 13].every((i) =>
        logs.some(
          (l) => l.includes(`"bindAddress":"192.0.2.${i}"`) && l.includes('"msg":"speaker starting"'),
        ),
      );
    });
  });

  it('leaves nothing after `lab down`', async () => {
    const down = portico('lab', 'down');
    assert.equal(down.code, 0, down.stderr);
    await assertNothingLeft('after lab down');
  });

  for (const supervisorToo of [false, true]) {
    const what = supervisorToo ? 'and the lab supervisor are' : 'is';
    it(`cleans up with \`lab down\` after \`lab up\` ${what} killed with SIGKILL once the apiserver runs`, async () => {
      const child = spawn(process.execPath, ['bin/portico.js', 'lab', 'up'], {
        cwd: root,
        env,
        stdio: 'ignore',
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await waitFor('kube-apiserver of the lab', () => pgrep(`kube-apiserver .*${stateDir}`).length > 0, {
        timeoutMs: 60_000,
        intervalMs: 20,
      });
      child.kill('SIGKILL');
      await exited;
      const supervisor = pgrep('portico.js lab serve');
      assert.equal(supervisor.length, 1, 'the supervisor outlives `lab up`');
      // Without the supervisor, only the pids it recorded lead `lab down` to etcd and kube-apiserver.
      if (supervisorToo) process.kill(Number(supervisor[0]?.split(' ')[0]), 'SIGKILL');
      const down = portico('lab', 'down');
      assert.equal(down.code, 0, down.stderr);
      await assertNothingLeft(
        `after a SIGKILL of lab up ${supervisorToo ? 'and the supervisor ' : ''}and lab down`,
      );
    });
  }
});
