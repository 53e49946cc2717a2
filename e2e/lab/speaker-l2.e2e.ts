/**
 * The L2 speaker in the lab, as a cluster admin meets it: `portico lab up --mld-snooping` installs
 * manifests/ (the speaker DaemonSet among them) and examples/ (an L2Advertisement among them). Real
 * ARP and NDP go through the lab switch, which floods no unregistered multicast (MLD snooping), so a
 * neighbour solicitation reaches a speaker only if it joined the solicited-node group. MetalLB's L2
 * scenarios (reference §6.2 items 1–10, 18–22) are checked from the switch-attached lan-client and the
 * client behind the router.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { k8sBinaries } from '../cluster/binaries.js';
import { waitFor } from '../support/wait.js';
import { Capture } from './capture.js';
import { exec } from './exec.js';
import { killProcess, setLink } from './faults.js';
import { kubectlFor } from './kubectl.js';
import { L2Probe, speakerPid } from './l2-probe.js';
import { porticoWith, prepareLabSuite, repoRoot } from './lab-suite.js';
import { planLab } from './plan.js';
import { isLabTopologyNamespace, teardown } from './teardown.js';

const stateDir = mkdtempSync(join(tmpdir(), 'portico-lab-speaker-'));
const kubeconfig = join(stateDir, 'kubeconfig');
const portico = porticoWith(stateDir);
const plan = planLab({ mldSnooping: true });
const EXAMPLES = 'portico-examples';
const SYSTEM = 'portico-system';
const LAN_CLIENT = plan.lanClient!.netns;
let kubectlPath = '';
const kubectl = kubectlFor(() => kubectlPath, kubeconfig);

interface L2Status {
  metadata: { name: string; namespace: string };
  status?: { node?: string; serviceName?: string; interfaces?: { name: string }[] };
}
interface Svc {
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

const inNs = (netns: string, cmd: string, ...args: string[]) =>
  exec('ip', ['netns', 'exec', netns, cmd, ...args], { timeoutMs: 20_000 });

const probe = new L2Probe(plan);
const nodeMacs = () => probe.nodeMacs();
const arping = (address: string, count = 3) => probe.ask(address, count);

/** Every node that answered one neighbour solicitation. */
const ndisc = async (address: string) => (await probe.ask(address, 1)).from;

/** The echo server's answer over HTTP (which pod, on which node). */
async function echo(netns: string, address: string, port = 80) {
  const host = address.includes(':') ? `[${address}]` : address;
  const r = await inNs(netns, 'curl', '-s', '-g', '-m', '3', `http://${host}:${port}/`);
  if (r.code !== 0) throw new Error(`curl ${host}:${port} from ${netns}: exit ${r.code}`);
  return JSON.parse(r.stdout) as { service: string; node: string; pod: string };
}

const statuses = (namespace: string, service: string) =>
  kubectl
    .json<{ items: L2Status[] }>('get', 'servicel2statuses', '-n', namespace)
    .items.filter((s) => s.status?.serviceName === service);

function addressOf(namespace: string, service: string, family: 4 | 6 = 4): string | undefined {
  const svc = kubectl.json<Svc>('get', 'svc', '-n', namespace, service);
  return (svc.status?.loadBalancer?.ingress ?? [])
    .map((i) => i.ip ?? '')
    .find((ip) => ip !== '' && ip.includes(':') === (family === 6));
}

/** Waits until exactly one node answers ARP for the address and returns it. */
async function ownerOf(address: string, not?: string, timeoutMs = 15_000): Promise<string> {
  return await waitFor(
    `one node${not ? ` other than ${not}` : ''} to answer ARP for ${address}`,
    async (seen) => {
      const a = await arping(address, 1);
      seen(a);
      const node = a.from[0];
      return a.received === 1 && a.extra === 0 && node !== not ? node : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

/**
 * The node answering for `address` once the same node has answered for `quietMs` and the Service's
 * ServiceL2Status names it: a test that disturbs the owner must not start while the placement an
 * earlier test disturbed is still settling, or it measures that move instead of its own.
 */
async function settledOwnerOf(address: string, namespace: string, service: string, quietMs = 2000) {
  const deadline = Date.now() + 30_000;
  let owner = await ownerOf(address);
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() > deadline) throw new Error(`${address} kept moving for 30 s (last at ${owner})`);
    await sleep(200);
    const now = await ownerOf(address);
    if (now !== owner) {
      owner = now;
      since = Date.now();
    }
  }
  await statusOn(namespace, service, owner);
  return owner;
}

/** The ServiceL2Status of a Service once it names `node` (and only it). */
async function statusOn(namespace: string, service: string, node: string) {
  return await waitFor(`the ServiceL2Status of ${service} to name ${node}`, (seen) => {
    const list = statuses(namespace, service);
    seen(list.map((s) => s.status));
    return list.length === 1 && list[0]!.status?.node === node ? list[0]! : undefined;
  });
}

async function metric(node: string, name: string): Promise<number> {
  const n = plan.nodes.find((x) => x.name === node)!;
  const res = await fetch(`http://${n.lan.v4}:7473/metrics`);
  const text = await res.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

/** An IPAddressPool whose addresses go only to Services that ask for them, and the document separator. */
const manualPool = (name: string, addresses: string, labels?: Record<string, string>) =>
  `apiVersion: portico.dev/v1alpha1
kind: IPAddressPool
metadata: { name: ${name}, namespace: ${SYSTEM}${labels ? `, labels: ${JSON.stringify(labels)}` : ''} }
spec: { addresses: [${addresses}], autoAssign: false }
---`;

const apply = (yaml: string) => {
  const r = kubectl.withInput(yaml, 'apply', '-f', '-');
  assert.equal(r.code, 0, r.stderr);
};

describe('portico lab: the L2 speaker with real ARP and NDP through an MLD-snooping switch', () => {
  before(async () => {
    await prepareLabSuite();
    kubectlPath = (await k8sBinaries(['kubectl'])).paths.kubectl;
    const up = portico('lab', 'up', '--mld-snooping');
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stderr, /daemonset\.apps\/portico-speaker created/);
    assert.match(up.stderr, /l2advertisement\.portico\.dev\/example-l2 created/);
  });
  after(async () => {
    portico('lab', 'down');
    await teardown({ matchNamespace: isLabTopologyNamespace });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('runs a Ready speaker on every node, under its own ServiceAccount', async () => {
    await waitFor(
      'three Ready speaker pods',
      (seen) => {
        const pods = kubectl.json<{
          items: {
            spec: { nodeName?: string; serviceAccountName?: string };
            status?: { conditions?: { type: string; status: string }[] };
          }[];
        }>('get', 'pods', '-n', SYSTEM, '-l', 'app.kubernetes.io/component=speaker').items;
        seen(pods.map((p) => [p.spec.nodeName, p.status?.conditions]));
        const ready = pods.filter((p) =>
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        return ready.length === 3 && ready.every((p) => p.spec.serviceAccountName === 'portico-speaker');
      },
      { timeoutMs: 60_000 },
    );
  });

  it('answers ARP for an owned VIP from exactly one node, whose ServiceL2Status says so; an unassigned address gets no answer', async () => {
    const vip = await waitFor('an address for the echo Service', () => addressOf(EXAMPLES, 'echo'));
    const owner = await ownerOf(vip);
    const status = await statusOn(EXAMPLES, 'echo', owner);
    await sleep(3000);
    assert.deepEqual(
      statuses(EXAMPLES, 'echo').map((s) => [s.metadata.name, s.status?.node]),
      [[status.metadata.name, owner]],
      'the same ServiceL2Status, unchanged, 3 s later',
    );
    // The example advertisement names no interfaces: every usable one, the second NIC too.
    assert.deepEqual(status.status?.interfaces, [{ name: 'eth0' }, { name: 'eth1' }]);
    for (const iface of ['eth0', 'eth1']) {
      const a = await probe.ask(vip, 5, iface);
      assert.equal(a.received, 5, a.out);
      assert.equal(a.extra, 0, a.out);
      assert.deepEqual(new Set(a.from), new Set([owner]), iface);
    }
    const unassigned = await arping('203.0.113.98', 2);
    assert.equal(unassigned.received, 0, unassigned.out);
  });

  it('serves the VIP over HTTP with externalTrafficPolicy Cluster, from the LAN and from behind the router', async () => {
    const vip = addressOf(EXAMPLES, 'echo')!;
    for (const netns of [LAN_CLIENT, plan.client.netns]) {
      const answer = await waitFor(`echo at ${vip} from ${netns}`, () => echo(netns, vip));
      assert.equal(answer.service, 'echo');
    }
  });

  it('answers neighbour solicitations for an IPv6 VIP from one node through the snooping switch, and serves it', async () => {
    const vip6 = await waitFor('an IPv6 address for echo-dual-stack', () =>
      addressOf(EXAMPLES, 'echo-dual-stack', 6),
    );
    const answers = await waitFor(`one NDP answer for ${vip6}`, async (seen) => {
      const a = await ndisc(vip6);
      seen(a);
      return a.length === 1 ? a : undefined;
    });
    const v6Status = statuses(EXAMPLES, 'echo-dual-stack').find((s) => s.status?.node === answers[0]);
    assert.ok(v6Status, `a ServiceL2Status of echo-dual-stack names ${answers[0]}`);
    const answer = await waitFor(`echo-dual-stack at [${vip6}]`, () => echo(plan.client.netns, vip6));
    assert.equal(answer.service, 'echo-dual-stack');
    assert.deepEqual(await ndisc('2001:db8:0:100::1fe'), [], 'an unassigned IPv6 address gets no answer');
  });

  it('announces Services that share an address from one node', async () => {
    const web = statuses(EXAMPLES, 'shared-web');
    const admin = statuses(EXAMPLES, 'shared-admin');
    await waitFor(
      'both sharers to have a ServiceL2Status',
      () => statuses(EXAMPLES, 'shared-web').length === 1 && statuses(EXAMPLES, 'shared-admin').length === 1,
    );
    const owner = await ownerOf('203.0.113.50');
    assert.equal(statuses(EXAMPLES, 'shared-web')[0]?.status?.node, owner, JSON.stringify(web));
    assert.equal(statuses(EXAMPLES, 'shared-admin')[0]?.status?.node, owner, JSON.stringify(admin));
  });

  it("counts requests and replies in the owner's metrics", async () => {
    const vip = addressOf(EXAMPLES, 'echo')!;
    const owner = await ownerOf(vip);
    const before = await metric(owner, 'portico_speaker_l2_replies_total');
    await arping(vip, 3);
    const after = await metric(owner, 'portico_speaker_l2_replies_total');
    assert.ok(after >= before + 3, `replies ${before} → ${after}`);
    assert.ok((await metric(owner, 'portico_speaker_l2_owned_addresses')) >= 1);
    assert.equal(await metric(owner, 'portico_speaker_members'), 3);
    const vip6 = addressOf(EXAMPLES, 'echo-dual-stack', 6)!;
    const owner6 = (await probe.ask(vip6, 1)).from[0]!;
    const before6 = await metric(owner6, 'portico_speaker_l2_replies_total');
    await probe.ask(vip6, 2);
    assert.ok(
      (await metric(owner6, 'portico_speaker_l2_replies_total')) >= before6 + 2,
      'NDP replies counted',
    );
    assert.ok((await metric(owner6, 'portico_speaker_l2_gratuitous_total')) >= 1, 'unsolicited NAs counted');
  });

  it('moves the VIP when its node gets NetworkUnavailable, and back when the condition clears', async () => {
    const vip = addressOf(EXAMPLES, 'echo')!;
    const owner = await ownerOf(vip);
    const setCondition = (status: 'True' | 'False') => {
      const r = kubectl(
        'patch',
        'node',
        owner,
        '--subresource=status',
        '--type=strategic',
        '-p',
        JSON.stringify({
          status: {
            conditions: [
              { type: 'NetworkUnavailable', status, reason: 'PorticoTest', message: 'set by the L2 suite' },
            ],
          },
        }),
      );
      assert.equal(r.code, 0, r.stderr);
    };
    setCondition('True');
    const other = await ownerOf(vip, owner);
    await statusOn(EXAMPLES, 'echo', other);
    assert.equal((await echo(LAN_CLIENT, vip)).service, 'echo');
    setCondition('False');
    assert.equal(await ownerOf(vip, other), owner, 'revertive: the address returns to its preferred node');
    await statusOn(EXAMPLES, 'echo', owner);
  });

  it('moves the VIP off a node labelled exclude-from-external-load-balancers, and back when the label goes', async () => {
    const vip = addressOf(EXAMPLES, 'echo')!;
    const owner = await ownerOf(vip);
    const label = 'node.kubernetes.io/exclude-from-external-load-balancers';
    assert.equal(kubectl('label', 'node', owner, `${label}=true`).code, 0);
    const other = await ownerOf(vip, owner);
    await statusOn(EXAMPLES, 'echo', other);
    assert.equal(kubectl('label', 'node', owner, `${label}-`).code, 0);
    assert.equal(await ownerOf(vip, other), owner);
  });

  it("announces only on the L2Advertisement's interfaces: the second NIC and not the first", async () => {
    apply(`${manualPool('second-nic', '203.0.113.104/29', { nic: 'second' })}
apiVersion: portico.dev/v1alpha1
kind: L2Advertisement
metadata: { name: second-nic-only, namespace: ${SYSTEM} }
spec:
  ipAddressPoolSelectors: [{ matchLabels: { nic: second } }]
  interfaces: [eth1]
---
apiVersion: v1
kind: Service
metadata:
  name: on-eth1
  namespace: ${EXAMPLES}
  annotations: { portico.dev/address-pool: second-nic }
spec:
  type: LoadBalancer
  selector: { app: echo }
  ports: [{ name: http, port: 80, targetPort: http }]
`);
    const vip = await waitFor('an address for on-eth1', () => addressOf(EXAMPLES, 'on-eth1'));
    const owner = await waitFor(`one answer for ${vip} on the second segment`, () =>
      probe.owner(vip, 'eth1'),
    );
    const status = await statusOn(EXAMPLES, 'on-eth1', owner);
    assert.deepEqual(status.status?.interfaces, [{ name: 'eth1' }]);
    const first = await probe.ask(vip, 2, 'eth0');
    assert.equal(first.received, 0, `no node answers on the first segment: ${first.out}`);
  });

  it('follows a change of the interfaces, warns when none exists on the node, and takes the union of two advertisements', async () => {
    const vip = addressOf(EXAMPLES, 'on-eth1')!;
    const setInterfaces = (interfaces: string[]) => {
      const r = kubectl(
        'patch',
        'l2advertisement',
        '-n',
        SYSTEM,
        'second-nic-only',
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { interfaces } }),
      );
      assert.equal(r.code, 0, r.stderr);
    };
    setInterfaces(['eth0']);
    const owner = await waitFor(`${vip} answered on eth0`, () => probe.owner(vip, 'eth0'));
    await waitFor(
      'ServiceL2Status interfaces [eth0]',
      () =>
        statuses(EXAMPLES, 'on-eth1')[0]
          ?.status?.interfaces?.map((i) => i.name)
          .join() === 'eth0',
    );
    assert.equal((await probe.ask(vip, 2, 'eth1')).received, 0, 'no longer answered on eth1');

    setInterfaces(['eth7']);
    await waitFor(
      `no answer for ${vip} on any segment`,
      async () =>
        (await probe.ask(vip, 1, 'eth0')).received === 0 && (await probe.ask(vip, 1, 'eth1')).received === 0,
    );
    await waitFor('an announceFailed Event naming eth7', (seen) => {
      const events = kubectl
        .json<{ items: { reason: string; type: string; note?: string }[] }>(
          'get',
          'events.v1.events.k8s.io',
          '-n',
          EXAMPLES,
          '--field-selector',
          'regarding.name=on-eth1',
        )
        .items.filter((e) => e.reason === 'announceFailed');
      seen(events.map((e) => e.note));
      return events.some(
        (e) =>
          e.type === 'Warning' && e.note?.includes(`from node ${owner}: it has no usable interfaces eth7`),
      );
    });

    setInterfaces(['eth0']);
    apply(`apiVersion: portico.dev/v1alpha1
kind: L2Advertisement
metadata: { name: second-nic-too, namespace: ${SYSTEM} }
spec:
  ipAddressPools: [second-nic]
  interfaces: [eth1]
`);
    await waitFor('ServiceL2Status interfaces [eth0, eth1]: the union', (seen) => {
      const names = statuses(EXAMPLES, 'on-eth1')[0]
        ?.status?.interfaces?.map((i) => i.name)
        .join();
      seen(names);
      return names === 'eth0,eth1';
    });
    for (const iface of ['eth0', 'eth1']) assert.equal(await probe.owner(vip, iface), owner, iface);
  });

  it('announces a CIDR pool only from the nodes an L2Advertisement selects, and a range pool from any', async () => {
    apply(`${manualPool('cidr-pool', '203.0.113.112/28', { l2: 'selected' })}
apiVersion: portico.dev/v1alpha1
kind: L2Advertisement
metadata: { name: node-3-only, namespace: ${SYSTEM} }
spec:
  ipAddressPoolSelectors: [{ matchLabels: { l2: selected } }]
  nodeSelectors: [{ matchLabels: { kubernetes.io/hostname: node-3 } }]
  interfaces: [eth0]
---
apiVersion: v1
kind: Service
metadata:
  name: from-cidr
  namespace: ${EXAMPLES}
  annotations: { portico.dev/address-pool: cidr-pool }
spec:
  type: LoadBalancer
  selector: { app: echo }
  ports: [{ name: http, port: 80, targetPort: http }]
`);
    const vip = await waitFor('an address for from-cidr', () => addressOf(EXAMPLES, 'from-cidr'));
    assert.match(vip, /^203\.0\.113\.(11[2-9]|12[0-7])$/);
    assert.equal(await ownerOf(vip), 'node-3');
    const status = await statusOn(EXAMPLES, 'from-cidr', 'node-3');
    assert.deepEqual(status.status?.interfaces, [{ name: 'eth0' }]);
    assert.equal((await echo(LAN_CLIENT, vip)).service, 'echo');
    // The example pool is a range (203.0.113.10-203.0.113.99): its echo Service was served above.
    assert.equal(kubectl('delete', 'svc', '-n', EXAMPLES, 'from-cidr').code, 0);
    await waitFor(
      'the ServiceL2Status to go with its Service',
      () => statuses(EXAMPLES, 'from-cidr').length === 0,
    );
    await waitFor(
      `no answer for ${vip} once its Service is gone`,
      async () => (await arping(vip, 1)).received === 0,
    );
  });

  it('serves a Service with a TCP and a UDP port on both', async () => {
    apply(`apiVersion: v1
kind: Service
metadata: { name: mixed, namespace: ${EXAMPLES} }
spec:
  type: LoadBalancer
  selector: { app: echo }
  ports:
    - { name: http, port: 80, targetPort: 8080, protocol: TCP }
    - { name: udp, port: 80, targetPort: 8080, protocol: UDP }
`);
    const vip = await waitFor('an address for mixed', () => addressOf(EXAMPLES, 'mixed'));
    await ownerOf(vip);
    assert.equal((await echo(LAN_CLIENT, vip)).service, 'echo');
    const udp = await waitFor(`a UDP answer from ${vip}:80`, async () => {
      const r = await exec('ip', ['netns', 'exec', LAN_CLIENT, 'socat', '-T', '1', '-', `UDP:${vip}:80`], {
        input: 'hello',
        timeoutMs: 5_000,
      });
      return r.stdout.trim() ? (JSON.parse(r.stdout) as { proto: string; service: string }) : undefined;
    });
    assert.deepEqual([udp.proto, udp.service], ['udp', 'echo']);
  });

  it('announces only from nodes matching any of the nodeSelectors, and from a node once it is labelled', async () => {
    apply(`${manualPool('zoned', '203.0.113.100/30')}
apiVersion: portico.dev/v1alpha1
kind: L2Advertisement
metadata: { name: zone-a, namespace: ${SYSTEM} }
spec:
  ipAddressPools: [zoned]
  nodeSelectors: [{ matchLabels: { portico-test/zone: a } }]
---
apiVersion: v1
kind: Service
metadata:
  name: zoned
  namespace: ${EXAMPLES}
  annotations: { portico.dev/address-pool: zoned }
spec:
  type: LoadBalancer
  selector: { app: echo }
  ports: [{ name: http, port: 80, targetPort: http }]
`);
    const vip = await waitFor('an address for zoned', () => addressOf(EXAMPLES, 'zoned'));
    await sleep(1500);
    assert.equal((await arping(vip, 2)).received, 0, 'no node is in zone a yet');
    assert.deepEqual(statuses(EXAMPLES, 'zoned'), []);
    assert.equal(kubectl('label', 'node', 'node-2', 'portico-test/zone=a').code, 0);
    assert.equal(await ownerOf(vip), 'node-2');
    await statusOn(EXAMPLES, 'zoned', 'node-2');
    const r = kubectl(
      'patch',
      'l2advertisement',
      '-n',
      SYSTEM,
      'zone-a',
      '--type=merge',
      '-p',
      JSON.stringify({
        spec: {
          nodeSelectors: [
            { matchLabels: { 'portico-test/zone': 'a' } },
            { matchLabels: { 'kubernetes.io/hostname': 'node-3' } },
          ],
        },
      }),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(kubectl('label', 'node', 'node-2', 'portico-test/zone-').code, 0);
    assert.equal(await ownerOf(vip, 'node-2'), 'node-3', 'the second selector still matches node-3');
  });

  it('moves an address to the node preferredNodeSelectors weigh most, falls back while it is cut off, and returns', async () => {
    apply(`${manualPool('preferred', '203.0.113.8-203.0.113.9')}
apiVersion: portico.dev/v1alpha1
kind: L2Advertisement
metadata: { name: preferred, namespace: ${SYSTEM} }
spec:
  ipAddressPools: [preferred]
  preferredNodeSelectors: [{ weight: 50, preference: { matchLabels: { portico-test/preferred: "yes" } } }]
---
apiVersion: v1
kind: Service
metadata:
  name: preferred
  namespace: ${EXAMPLES}
  annotations: { portico.dev/address-pool: preferred }
spec:
  type: LoadBalancer
  selector: { app: echo }
  ports: [{ name: http, port: 80, targetPort: http }]
`);
    const vip = await waitFor('an address for preferred', () => addressOf(EXAMPLES, 'preferred'));
    const baseline = await ownerOf(vip);
    const favourite = plan.nodes.map((n) => n.name).find((n) => n !== baseline)!;
    assert.equal(kubectl('label', 'node', favourite, 'portico-test/preferred=yes').code, 0);
    assert.equal(await ownerOf(vip, baseline), favourite, 'the preferred node takes it');
    await setLink(plan, favourite, 'down');
    try {
      assert.notEqual(await ownerOf(vip, favourite, 5_000), favourite);
    } finally {
      await setLink(plan, favourite, 'up');
    }
    await waitFor(`${vip} back on ${favourite}`, async () => (await probe.owner(vip)) === favourite);
    assert.equal(kubectl('label', 'node', favourite, 'portico-test/preferred-').code, 0);
    assert.equal(await ownerOf(vip, favourite), baseline, 'without the label, the usual placement');
  });

  it('announces a Service only when it matches an advertisement with serviceSelectors', async () => {
    apply(`${manualPool('selective', '203.0.113.2-203.0.113.7')}
apiVersion: portico.dev/v1alpha1
kind: L2Advertisement
metadata: { name: labelled-services, namespace: ${SYSTEM} }
spec:
  ipAddressPools: [selective]
  serviceSelectors: [{ matchLabels: { announce: "yes" } }]
---
apiVersion: v1
kind: Service
metadata:
  name: selective
  namespace: ${EXAMPLES}
  annotations: { portico.dev/address-pool: selective }
spec:
  type: LoadBalancer
  selector: { app: echo }
  ports: [{ name: http, port: 80, targetPort: http }]
`);
    const vip = await waitFor('an address for selective', () => addressOf(EXAMPLES, 'selective'));
    await sleep(1500);
    assert.equal((await arping(vip, 2)).received, 0, 'the Service does not match the serviceSelectors');
    assert.equal(kubectl('label', 'svc', '-n', EXAMPLES, 'selective', 'announce=yes').code, 0);
    const owner = await ownerOf(vip);
    await statusOn(EXAMPLES, 'selective', owner);
  });

  it('with externalTrafficPolicy Local, announces from a node with a ready endpoint, and every answer comes from a pod there', async () => {
    apply(`apiVersion: apps/v1
kind: Deployment
metadata: { name: local-echo, namespace: ${EXAMPLES} }
spec:
  replicas: 1
  selector: { matchLabels: { app: local-echo } }
  template:
    metadata: { labels: { app: local-echo } }
    spec:
      nodeSelector: { kubernetes.io/hostname: node-2 }
      containers:
        - name: echo
          image: portico-lab/echo
          ports: [{ name: http, containerPort: 8080 }]
          env:
            - { name: SERVICE_NAME, value: local-echo }
            - { name: NODE_NAME, valueFrom: { fieldRef: { fieldPath: spec.nodeName } } }
            - { name: POD_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }
          readinessProbe: { httpGet: { path: /healthz, port: http }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata: { name: local-echo, namespace: ${EXAMPLES} }
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: { app: local-echo }
  ports: [{ name: http, port: 80, targetPort: http }]
`);
    const vip = await waitFor('an address for local-echo', () => addressOf(EXAMPLES, 'local-echo'));
    const owner = await waitFor(
      'local-echo announced from node-2',
      async () => ((await ownerOf(vip)) === 'node-2' ? 'node-2' : undefined),
      { timeoutMs: 60_000 },
    );
    await statusOn(EXAMPLES, 'local-echo', owner);
    for (let i = 0; i < 10; i++) {
      const answer = await echo(plan.client.netns, vip);
      assert.equal(answer.node, 'node-2');
    }
  });

  it("when the owner's speaker is killed, another node answers within a second, and the Service says why", async () => {
    const vip = addressOf(EXAMPLES, 'echo')!;
    const owner = await settledOwnerOf(vip, EXAMPLES, 'echo');
    const pid = speakerPid(plan, owner);
    const byMac = await nodeMacs();
    const capture = await Capture.start(LAN_CLIENT, 'arp');
    const killedAt = Date.now();
    let other: string;
    let tookMs: number;
    try {
      await killProcess(pid);
      // The new owner's gratuitous ARP; the kubelet restarts the killed speaker soon after, so the
      // address may be back on the old node by the time anyone asks.
      other = await waitFor(
        `a gratuitous ARP reply for ${vip} from a node other than ${owner}`,
        (seen) => {
          seen(capture.lines.slice(-5));
          for (const line of capture.lines) {
            const m = /Reply (\S+) is-at ([0-9a-f:]{17})/.exec(line);
            const node = m && m[1] === vip ? byMac.get(m[2]!) : undefined;
            if (node && node !== owner) return node;
          }
          return undefined;
        },
        { timeoutMs: 5_000, intervalMs: 10 },
      );
      tookMs = Date.now() - killedAt;
    } finally {
      await capture.stop();
    }
    assert.ok(tookMs < 1_000, `another node announced ${tookMs} ms after the kill`);
    await waitFor(`a nodeAssigned Event: ${other!} took over from ${owner}, whose speaker died`, (seen) => {
      const events = kubectl
        .json<{ items: { reason: string; note?: string }[] }>(
          'get',
          'events.v1.events.k8s.io',
          '-n',
          EXAMPLES,
          '--field-selector',
          'regarding.name=echo',
        )
        .items.filter((e) => e.reason === 'nodeAssigned');
      seen(events.map((e) => e.note));
      // Missed (stopped answering heartbeats), or back under a new process before it was missed
      // (the kubelet restarts a killed container at once): both say why.
      const why = new RegExp(
        `from node ${other} over L2 on eth0, eth1: took over from ${owner}, whose speaker (stopped answering heartbeats|restarted)`,
      );
      return events.some((e) => why.test(e.note ?? ''));
    });
    // The kubelet restarts the speaker; revertive placement gives the address back.
    assert.equal(await ownerOf(vip, other, 30_000), owner);
    await statusOn(EXAMPLES, 'echo', owner);
  });

  // Partition behaviour: docs/speaker-l2.md. A heartbeat a kernel queued while the link was down and
  // released at the heal is recognised as late and ignored (membership/delay.ts), so old news never
  // overrides what the cluster decided meanwhile.
  it('after a partition (the owner cut off, announcing alone) heals, one node answers within 1 s', async () => {
    const vip = addressOf(EXAMPLES, 'echo')!;
    const owner = await ownerOf(vip);
    await setLink(plan, owner, 'down');
    const other = await ownerOf(vip, owner, 5_000);
    await sleep(1000); // the cut-off owner has declared its peers dead and answers for everything
    await setLink(plan, owner, 'up');
    const healedAt = Date.now();
    const late: string[] = [];
    let probes = 0;
    // A probe is one ARP request and every reply within a second after it: it is timed by when it
    // was sent. One sent at the heal may meet both sides (each still owns the address until their
    // heartbeats cross), or neither (a hand-over); from a second on, exactly one node must answer.
    while (Date.now() - healedAt < 3000) {
      const sentAt = Date.now() - healedAt;
      const a = await arping(vip, 1);
      if (sentAt < 1000) continue;
      probes++;
      if (a.extra > 0 || a.received !== 1) late.push(`sent at ${sentAt} ms: ${a.from.join(', ') || 'none'}`);
    }
    assert.ok(probes >= 2, `${probes} probes sent from 1 s after the heal`);
    assert.deepEqual(late, [], `more or fewer than one responder after the heal (was on ${other})`);
    assert.equal(await ownerOf(vip), owner, 'revertive: back on its preferred node');
  });

  it('when the owner is tainted NoExecute, its evicted speaker hands over; without the taint the address returns', async () => {
    const vip = addressOf(EXAMPLES, 'echo')!;
    const owner = await ownerOf(vip);
    const taint = 'portico-test/maintenance=true:NoExecute';
    assert.equal(kubectl('taint', 'node', owner, taint).code, 0);
    try {
      const other = await ownerOf(vip, owner, 30_000);
      await statusOn(EXAMPLES, 'echo', other);
      assert.equal((await echo(LAN_CLIENT, vip)).service, 'echo');
    } finally {
      assert.equal(kubectl('taint', 'node', owner, `${taint}-`).code, 0);
    }
    // The DaemonSet puts a speaker back once the taint is gone, and revertive placement returns the address.
    await waitFor(`${vip} back on ${owner}`, async () => (await probe.owner(vip)) === owner, {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
  });

  it('a speaker without CAP_NET_RAW exits at once with one line saying so', () => {
    const r = spawnSync(
      'setpriv',
      [
        '--inh-caps=-net_raw',
        '--bounding-set=-net_raw',
        process.execPath,
        'bin/portico.js',
        'speaker',
        '--kubeconfig',
        kubeconfig,
        '--node-name',
        'node-1',
        '--metrics-bind-address',
        ':0',
      ],
      { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.equal(
      r.stderr,
      'portico speaker: CAP_NET_RAW is missing: L2 mode answers ARP and NDP through raw sockets (add NET_RAW to securityContext.capabilities.add, as manifests/speaker.yaml does)\n',
    );
  });
});
