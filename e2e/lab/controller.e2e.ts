/**
 * Portico's controller in the lab, as a cluster admin meets it: `portico lab up` installs
 * manifests/ and applies examples/, then kubectl shows the replicas Ready with one leader, the
 * webhook's caBundle patched in, and the example Services with EXTERNAL-IPs from the example pool.
 * The admission webhook is reached the way kube-apiserver reaches it in any cluster: at its
 * Service's ClusterIP, routed from the host (the control-plane node) into the lab and forwarded by a
 * node's kube-proxy. Throughout, a capture on the host's own interfaces proves that nothing meant
 * for the lab left through them.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ipaddr from 'ipaddr.js';
import { k8sBinaries } from '../cluster/binaries.js';
import { waitFor } from '../support/wait.js';
import { Capture } from './capture.js';
import { ipJson } from './exec.js';
import { labDestinations } from './host-routes.js';
import { kubectlFor } from './kubectl.js';
import { labHostRoutes, porticoWith, prepareLabSuite } from './lab-suite.js';
import { planLab } from './plan.js';
import { isLabTopologyNamespace, listNamespaces, teardown } from './teardown.js';

const stateDir = mkdtempSync(join(tmpdir(), 'portico-lab-controller-'));
const kubeconfig = join(stateDir, 'kubeconfig');
const portico = porticoWith(stateDir);
const plan = planLab();
const EXAMPLES = 'portico-examples';
const POOL_V4 = ipaddr.parseCIDR('203.0.113.0/24');
const POOL_V6 = ipaddr.parseCIDR('2001:db8:0:100::100/120');

let kubectlPath = '';
const kubectl = kubectlFor(() => kubectlPath, kubeconfig);
const kubectlWith = kubectl.withInput;
const kubectlJson = kubectl.json;

interface PodList {
  items: {
    metadata: { name: string };
    spec: { nodeName?: string };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}

/** `kubectl get svc` as a table: NAME → EXTERNAL-IP column, split at commas. */
function externalIps(namespace: string): Map<string, string[]> {
  const r = kubectl('get', 'svc', '-n', namespace);
  assert.equal(r.code, 0, r.stderr);
  const [header = '', ...rows] = r.stdout.trim().split('\n');
  const column = header.indexOf('EXTERNAL-IP');
  assert.ok(column > 0, header);
  return new Map(
    rows.map((row) => {
      const [name = ''] = row.split(/\s+/);
      const [cell = ''] = row.slice(column).split(/\s+/);
      return [name, cell.split(',')];
    }),
  );
}

/** An address inside a lab destination, for `ip route get` (the prefix's own address, or ::5 in an IPv6 one). */
const probeAddress = (dst: string) => ipaddr.parseCIDR(dst)[0].toString().replace(/::$/, '::5');

/** The host's interfaces that could carry a leak: every one that is up, except loopback and the lab's. */
async function hostInterfaces(): Promise<string[]> {
  const links = await ipJson<{ ifname?: string; flags?: string[] }[]>(undefined, 'link', 'show');
  return links
    .filter((l) => l.flags?.includes('UP'))
    .map((l) => l.ifname ?? '')
    .filter((name) => name !== '' && name !== 'lo' && !name.startsWith('portico-'));
}

/**
 * Everything the lab owns, the control plane's lab addresses among it. Not the LAN router's address:
 * on a host whose real network is 192.0.2.0/24 (this one: gateway 192.0.2.1), ARP for its real
 * gateway is not a leak.
 */
const leakFilter = labDestinations(plan)
  .map((dst) => `net ${dst}`)
  .join(' or ');

describe('portico lab: the controller, its webhook through the Service network, and the examples', () => {
  let captures: { iface: string; capture: Capture }[] = [];

  before(async () => {
    await prepareLabSuite();
    kubectlPath = (await k8sBinaries(['kubectl'])).paths.kubectl;
    captures = await Promise.all(
      (await hostInterfaces()).map(async (iface) => ({
        iface,
        capture: await Capture.start(undefined, leakFilter, { iface }),
      })),
    );
  });
  after(async () => {
    await Promise.all(captures.map((c) => c.capture.stop()));
    portico('lab', 'down');
    await teardown({ matchNamespace: isLabTopologyNamespace });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('installs manifests/, waits for the CRD to be served, then applies examples/', (t) => {
    const up = portico('lab', 'up');
    assert.equal(up.code, 0, up.stderr);
    t.diagnostic(`lab up took ${up.ms.toFixed(0)} ms`);
    const crdServed = up.stderr.indexOf(
      'customresourcedefinition.apiextensions.k8s.io/ipaddresspools.portico.dev condition met',
    );
    const poolCreated = up.stderr.indexOf('ipaddresspool.portico.dev/example-pool created');
    assert.ok(crdServed > 0 && poolCreated > crdServed, up.stderr);
    assert.match(up.stderr, /deployment\.apps\/portico-controller created/);
    assert.match(
      up.stderr,
      /validatingwebhookconfiguration\.admissionregistration\.k8s\.io\/portico-validating-webhook created/,
    );
    for (const name of ['echo', 'echo-dual-stack', 'shared-web', 'shared-admin']) {
      assert.match(up.stderr, new RegExp(`service/${name} created`));
    }
  });

  it("routes the Service range from the host into the lab over every node, and nothing of the lab by the host's own routes", async () => {
    const status = portico('lab', 'status');
    assert.equal(status.code, 0, status.stdout);
    assert.match(
      status.stdout,
      new RegExp(`ok +host safety net: ${labDestinations(plan).length} lab prefixes`),
    );
    assert.match(
      status.stdout,
      /ok +host route to the Service range 198\.19\.0\.0\/16: ECMP via node-1, node-2, node-3 on portico-host/,
    );
    assert.match(
      status.stdout,
      /ok +host route to the Service range 2001:db8:0:20::\/108: ECMP via node-1, node-2, node-3/,
    );

    const webhookIp = kubectlJson<{ spec: { clusterIP: string } }>(
      'get',
      'svc',
      '-n',
      'portico-system',
      'portico-webhook',
    ).spec.clusterIP;
    assert.match(webhookIp, /^198\.19\./);
    const [route] = await ipJson<{ dev: string; gateway?: string; prefsrc?: string }[]>(
      undefined,
      'route',
      'get',
      webhookIp,
    );
    assert.equal(route?.dev, 'portico-host');
    assert.ok(
      plan.nodes.some((n) => n.lan.v4 === route?.gateway),
      `via a node: ${JSON.stringify(route)}`,
    );
    assert.equal(route?.prefsrc, plan.controlPlane.address.v4);

    // Every lab destination: into the lab, local (the control plane's own), or "No route to host";
    // never by another interface.
    for (const dst of labDestinations(plan)) {
      const probe = probeAddress(dst);
      const r = spawnSync('ip', ['-j', 'route', 'get', probe], { encoding: 'utf8' });
      if (r.status === 0) {
        const [got] = JSON.parse(r.stdout) as { type?: string; dev: string }[];
        const where = got?.type === 'local' ? 'local' : got?.dev;
        assert.ok(
          ['portico-host', 'local'].includes(where ?? ''),
          `${probe} (in ${dst}) is routed by ${where}`,
        );
      } else {
        assert.match(r.stderr, /No route to host/, `${probe} (in ${dst})`);
      }
    }
  });

  it('runs the two controller replicas Ready, one of them holding the Lease', async () => {
    const pods = await waitFor(
      'two Ready portico-controller pods',
      (seen) => {
        const list = kubectlJson<PodList>(
          'get',
          'pods',
          '-n',
          'portico-system',
          '-l',
          'app.kubernetes.io/component=controller',
        );
        const ready = list.items.filter((p) =>
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        seen(list.items.map((p) => [p.metadata.name, p.spec.nodeName, p.status?.conditions]));
        return ready.length === 2 && list.items.length === 2 ? ready : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const names = pods.map((p) => p.metadata.name);
    const holder = await waitFor('a leader', () => {
      const lease = kubectlJson<{ spec: { holderIdentity?: string } }>(
        'get',
        'lease',
        '-n',
        'portico-system',
        'portico-controller',
      );
      return lease.spec.holderIdentity;
    });
    assert.ok(names.includes(holder), `the Lease is held by ${holder}, one of ${names.join(', ')}`);
  });

  it('patches the CA of its Secret into the webhook configuration', async () => {
    const secretCa = await waitFor('the Secret portico-webhook-cert', () => {
      const secret = kubectlJson<{ data?: Record<string, string> }>(
        'get',
        'secret',
        '-n',
        'portico-system',
        'portico-webhook-cert',
      );
      return secret.data?.['ca.crt'];
    });
    const bundle = await waitFor('a caBundle', () => {
      const config = kubectlJson<{ webhooks: { clientConfig: { caBundle?: string } }[] }>(
        'get',
        'validatingwebhookconfiguration',
        'portico-validating-webhook',
      );
      return config.webhooks[0]?.clientConfig.caBundle;
    });
    const pem = Buffer.from(bundle, 'base64').toString('utf8');
    assert.match(pem, /^-----BEGIN CERTIFICATE-----\n/);
    assert.ok(
      pem.includes(Buffer.from(secretCa, 'base64').toString('utf8').trim()),
      'the caBundle holds the CA of the Secret',
    );
  });

  it('gives the example Services EXTERNAL-IPs from the example pool, as `kubectl get svc` shows', async (t) => {
    const ips = await waitFor(
      'EXTERNAL-IPs for the four example Services',
      (seen) => {
        const table = externalIps(EXAMPLES);
        seen(Object.fromEntries(table));
        const done = [...table.values()].every((cell) => !cell.includes('<pending>'));
        return table.size === 4 && done ? table : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    t.diagnostic(JSON.stringify(Object.fromEntries(ips)));
    const inPool = (text: string) => {
      const ip = ipaddr.parse(text);
      if (ip.kind() === 'ipv6') return ip.match(POOL_V6);
      const last = Number(text.split('.')[3]);
      return ip.match(POOL_V4) && last >= 10 && last <= 98; // 203.0.113.99 is excluded
    };
    const echo = ips.get('echo') ?? [];
    assert.equal(echo.length, 1);
    assert.ok(inPool(echo[0] ?? ''), `echo: ${echo}`);

    assert.deepEqual(ips.get('shared-web'), ['203.0.113.50']);
    assert.deepEqual(ips.get('shared-admin'), ['203.0.113.50']);

    const dual = ips.get('echo-dual-stack') ?? [];
    assert.equal(dual.length, 2, `echo-dual-stack: ${dual}`);
    assert.deepEqual(dual.map((a) => ipaddr.parse(a).kind()).sort(), ['ipv4', 'ipv6']);
    assert.ok(dual.every(inPool), `echo-dual-stack: ${dual}`);
    assert.notEqual(
      dual.find((a) => a.includes('.')),
      echo[0],
      'two Services that do not share, two addresses',
    );

    const pool = kubectlJson<{
      status?: { inUse?: number; conditions?: { type: string; status: string }[] };
    }>('get', 'ipaddresspool', '-n', 'portico-system', 'example-pool');
    assert.equal(pool.status?.inUse, 4, 'echo, the shared pair (one address) and both of echo-dual-stack');
    assert.ok(pool.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  });

  it("reaches the example Service's ClusterIPs of both families from the host, through a node's kube-proxy", async () => {
    const svc = kubectlJson<{ spec: { clusterIPs: string[] } }>(
      'get',
      'svc',
      '-n',
      EXAMPLES,
      'echo-dual-stack',
    );
    assert.equal(svc.spec.clusterIPs.length, 2);
    for (const ip of svc.spec.clusterIPs) {
      const url = `http://${ip.includes(':') ? `[${ip}]` : ip}/`;
      const answer = await waitFor(`an answer from ${url}`, () => {
        const r = spawnSync('curl', ['-s', '-m', '3', url], { encoding: 'utf8' });
        return r.status === 0 ? (JSON.parse(r.stdout) as { service: string; namespace: string }) : undefined;
      });
      assert.equal(answer.service, 'echo-dual-stack');
      assert.equal(answer.namespace, EXAMPLES);
    }
  });

  it('refuses an overlapping IPAddressPool: the API server reached the webhook at its ClusterIP', async () => {
    const pool = (name: string, address: string) =>
      [
        'apiVersion: portico.dev/v1alpha1',
        'kind: IPAddressPool',
        `metadata: {name: ${name}, namespace: portico-system}`,
        `spec: {addresses: ["${address}"]}`,
        '',
      ].join('\n');
    const denied =
      /admission webhook "ipaddresspools\.portico\.dev" denied the request: spec\.addresses\[0\]: "203\.0\.113\.64\/28" overlaps pool example-pool \(203\.0\.113\.10-203\.0\.113\.99\)/;
    // failurePolicy is Ignore: a webhook the API server cannot reach lets the pool through. A server-side
    // dry run calls the webhook without storing anything, so waiting for it to be reachable stores nothing.
    await waitFor(
      'the webhook to answer a dry run',
      (seen) => {
        const r = kubectlWith(
          pool('overlapping', '203.0.113.64/28'),
          'create',
          '--dry-run=server',
          '-f',
          '-',
        );
        seen(r.stdout + r.stderr);
        return denied.test(r.stderr);
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const refused = kubectlWith(pool('overlapping', '203.0.113.64/28'), 'create', '-f', '-');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, denied);
    assert.match(kubectl('get', 'ipaddresspool', '-n', 'portico-system', 'overlapping').stderr, /NotFound/);

    const accepted = kubectlWith(pool('beside', '203.0.113.200/29'), 'create', '-f', '-');
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.equal(kubectl('delete', 'ipaddresspool', '-n', 'portico-system', 'beside').code, 0);
  });

  it('routes the Service range around a node whose link is cut, as routers with BGP and BFD would', async () => {
    const viaNode = async (ip: string) => {
      const [route] = await ipJson<{ gateway?: string; dev: string }[]>(undefined, 'route', 'get', ip);
      return plan.nodes.find((n) => n.lan.v4 === route?.gateway && route?.dev === 'portico-host')?.name;
    };
    const apiVersion = () => {
      const r = spawnSync('curl', ['-sk', '-m', '3', `https://${plan.kubernetesService}/version`], {
        encoding: 'utf8',
      });
      return r.status === 0 ? (JSON.parse(r.stdout) as { gitVersion: string }).gitVersion : undefined;
    };
    // The kubernetes Service's endpoint is the control plane itself: no pod on the cut node is involved.
    const cut = await viaNode(plan.kubernetesService);
    assert.ok(cut, `${plan.kubernetesService} is routed over a node`);
    assert.equal(apiVersion(), 'v1.36.3');
    assert.equal(portico('lab', 'link', cut, 'down').code, 0);
    try {
      const others = plan.nodes.filter((n) => n.name !== cut).map((n) => n.name);
      const status = portico('lab', 'status').stdout;
      assert.match(
        status,
        new RegExp(
          `ok +host route to the Service range 198\\.19\\.0\\.0/16: ECMP via ${others.join(', ')} on portico-host \\(${cut}'s link is down\\)`,
        ),
      );
      assert.notEqual(await viaNode(plan.kubernetesService), cut);
      assert.equal(
        await waitFor(`the API at ${plan.kubernetesService} without ${cut}`, apiVersion),
        'v1.36.3',
      );
    } finally {
      assert.equal(portico('lab', 'link', cut, 'up').code, 0);
    }
    assert.match(
      portico('lab', 'status').stdout,
      /ok +host route to the Service range 198\.19\.0\.0\/16: ECMP via node-1, node-2, node-3 on portico-host\n/,
    );
  });

  it("keeps lab traffic off the host's own routes when the lab is half gone, and `lab down` removes every host route", async () => {
    // As if the switch vanished under a running control plane: the routes over the host link go with it.
    assert.equal(spawnSync('ip', ['link', 'del', 'portico-host']).status, 0);
    for (const dst of labDestinations(plan)) {
      const probe = probeAddress(dst);
      const r = spawnSync('ip', ['route', 'get', probe], { encoding: 'utf8' });
      assert.notEqual(r.status, 0, `${probe} is still routed: ${r.stdout}`);
      assert.match(r.stderr, /No route to host/, probe);
    }
    const down = portico('lab', 'down');
    assert.equal(down.code, 0, down.stderr);
    // What is left of them: the safety net, one route per lab destination.
    assert.match(down.stderr, new RegExp(`, ${labDestinations(plan).length} host routes into the lab`));
    assert.deepEqual(labHostRoutes(), []);
    assert.deepEqual((await listNamespaces()).filter(isLabTopologyNamespace), []);
  });

  it("sent nothing for the lab through the host's own interfaces", async (t) => {
    const seen = await Promise.all(
      captures.map(async (c) => ({ iface: c.iface, lines: await c.capture.stop() })),
    );
    t.diagnostic(`captured on ${seen.map((s) => s.iface).join(', ') || '(no interface up)'}: ${leakFilter}`);
    for (const { iface, lines } of seen) assert.deepEqual(lines, [], `packets for the lab on ${iface}`);
  });
});
