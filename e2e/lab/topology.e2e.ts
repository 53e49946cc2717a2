/**
 * The lab's network on real namespaces, bridges and veths: LAN, routed client, pods with host-gw
 * routes, link cuts, port drops, the MLD-snooping switch, and teardown after `kill -9` of a build
 * caught halfway. One file, because these tests share the lab's fixed names and must not overlap.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../support/wait.js';
import { seenBy } from './capture.js';
import { ipJson, run } from './exec.js';
import { dropPort, setLink, undrop } from './faults.js';
import { HOST_LINK, HOST_PEER, RECORDED_SLEEP, UNRECORDED_SLEEP } from './fixtures/build-then-hang.js';
import { type LabPlan, namespaceFor, planLab } from './plan.js';
import { addPod, removePod } from './pods.js';
import { canConnect, canPing, listenTcp, solicit } from './probes.js';
import { isRunning } from './proc.js';
import { LabState } from './state.js';
import { mdbEntries, solicitedNodeGroup } from './switch.js';
import { isLabTopologyNamespace, listNamespaces, teardown } from './teardown.js';
import { refuseIfUserLabIsUp } from './test-guard.js';
import { buildTopology } from './topology.js';

const stateRoot = mkdtempSync(join(tmpdir(), 'portico-lab-e2e-'));
// Only the lab's own namespace names: other suites on this machine may own other portico-* namespaces.
const scope = { matchNamespace: isLabTopologyNamespace };

before(async () => {
  refuseIfUserLabIsUp();
  const report = await teardown(scope);
  if (report.namespaces.length > 0) console.log(`removed leftovers: ${report.namespaces.join(', ')}`);
});

after(async () => {
  await teardown(scope);
  rmSync(stateRoot, { recursive: true, force: true });
  assert.deepEqual(await labNamespacesLeft(), []);
});

/** Builds a lab for a describe block and tears it down after it, even when a test failed. */
function withLab(name: string, spec: Parameters<typeof planLab>[0]): { plan: LabPlan; state: LabState } {
  const lab = { plan: planLab(spec), state: new LabState(join(stateRoot, name)) };
  before(async () => {
    const r = await buildTopology(lab.plan, { state: lab.state });
    const phases = Object.entries(r.phases).map(([k, v]) => `${k} ${v.toFixed(0)}`);
    console.log(`${name}: built in ${r.ms.toFixed(0)} ms (${phases.join(', ')})`);
  });
  after(async () => {
    const r = await teardown({ ...scope, state: lab.state });
    console.log(`${name}: torn down in ${r.ms.toFixed(0)} ms (${r.namespaces.length} namespaces)`);
  });
  return lab;
}

const node = (plan: LabPlan, i: number) => plan.nodes[i - 1] ?? assert.fail(`no node-${i}`);

describe('a 3-node dual-stack lab', { timeout: 120_000 }, () => {
  const { plan, state } = withLab('dual-stack', { nodes: 3 });

  test('node-1 reaches node-3 on the LAN, v4 and v6', async () => {
    const [n1, n3] = [node(plan, 1), node(plan, 3)];
    assert.ok(await canPing(n1.netns, n3.lan.v4));
    assert.ok(await canPing(n1.netns, n3.lan.v6 ?? ''));
  });

  test('the client reaches a node through the router, v4 and v6', async () => {
    const n2 = node(plan, 2);
    for (const addr of [n2.lan.v4, n2.lan.v6 ?? '']) {
      assert.match(
        await run('ip', ['-n', plan.client.netns, 'route', 'get', addr]),
        /via 198\.51\.100\.1 |via 2001:db8:0:2::1 /,
      );
      assert.ok(await canPing(plan.client.netns, addr), `client -> ${addr}`);
    }
  });

  test('a pod on node-1 reaches a pod on node-3 over host-gw routes, v4 and v6', async () => {
    const a = await addPod(plan, 'node-1', { name: 'a', state });
    const b = await addPod(plan, 'node-3', { name: 'b', state });
    try {
      assert.deepEqual(a.ips, { v4: '198.18.1.2', v6: '2001:db8:0:11::2' });
      assert.deepEqual(b.ips, { v4: '198.18.3.2', v6: '2001:db8:0:13::2' });
      assert.ok(await canPing(a.netns, b.ips.v4));
      assert.ok(await canPing(a.netns, b.ips.v6 ?? ''));
      const route = await run('ip', ['-n', node(plan, 1).netns, 'route', 'get', b.ips.v4]);
      assert.match(route, /via 192\.0\.2\.13 dev eth0/);
    } finally {
      await removePod(a.netns, { state });
      await removePod(b.netns, { state });
    }
    assert.ok(!(await listNamespaces()).includes(a.netns));
    assert.deepEqual(state.read().pods, []);
    const again = await addPod(plan, 'node-1', { name: 'c', state });
    assert.equal(again.ips.v4, '198.18.1.2', 'a removed pod frees its addresses');
    await removePod(again.netns, { state });
  });

  test("cutting node-2's link makes it unreachable, restoring it brings it back", async () => {
    const [n1, n2] = [node(plan, 1), node(plan, 2)];
    assert.ok(await canPing(n1.netns, n2.lan.v4));
    await setLink(plan, 'node-2', 'down');
    try {
      const eth0 = await run('ip', ['-n', n2.netns, 'link', 'show', 'eth0']);
      assert.match(eth0, /NO-CARRIER/, 'the node sees its carrier drop');
      assert.equal(await canPing(n1.netns, n2.lan.v4), false);
      assert.equal(await canPing(n1.netns, n2.lan.v6 ?? ''), false);
    } finally {
      await setLink(plan, 'node-2', 'up');
    }
    await waitFor('node-2 reachable again', () => canPing(n1.netns, n2.lan.v4), { timeoutMs: 5_000 });
    await waitFor('node-2 reachable again over v6', () => canPing(n1.netns, n2.lan.v6 ?? ''), {
      timeoutMs: 5_000,
    });
  });

  test('dropPort silently drops one TCP port, undrop restores it', async () => {
    const n1 = node(plan, 1);
    const listeners = [listenTcp(n1.netns, 8080), listenTcp(n1.netns, 8081)];
    const client = plan.client.netns;
    try {
      await waitFor(
        'the listeners',
        async () => (await canConnect(client, n1.lan.v4, 8080)) && canConnect(client, n1.lan.v4, 8081),
      );
      await dropPort(n1.netns, { proto: 'tcp', port: 8080, direction: 'in' });
      assert.equal(await canConnect(client, n1.lan.v4, 8080), false);
      assert.equal(await canConnect(client, n1.lan.v6 ?? '', 8080), false);
      assert.ok(await canConnect(client, n1.lan.v4, 8081), 'other ports still pass');
      await undrop(n1.netns, { proto: 'tcp', port: 8080 });
      assert.ok(await canConnect(client, n1.lan.v4, 8080));
      assert.ok(await canConnect(client, n1.lan.v6 ?? '', 8080));

      await dropPort(client, { proto: 'tcp', port: 8080, direction: 'out' });
      assert.equal(await canConnect(client, n1.lan.v4, 8080), false);
      await undrop(client);
      assert.ok(await canConnect(client, n1.lan.v4, 8080));
    } finally {
      await Promise.all(listeners.map((l) => l.stop()));
    }
  });

  test('without MLD snooping the switch floods a neighbor solicitation to every node', async () => {
    const seen = await solicitationSeenBy(plan, node(plan, 2).lan.v6 ?? '', ['node-2', 'node-3']);
    assert.deepEqual(seen, { 'lan-client': true, 'node-2': true, 'node-3': true });
  });
});

/** The namespace of a lab host by its `lab exec` name (node-1, lan-client, …). */
function netnsOf(plan: LabPlan, name: string): string {
  return namespaceFor(plan, name) ?? assert.fail(`the lab has no ${name}`);
}

/**
 * Which of the given hosts saw the frame `send` emits from the lan-client. The sender is always
 * watched too, so a frame that was never sent cannot pass for one that was filtered out.
 */
function seenOnLan(plan: LabPlan, filter: string, hosts: string[], send: () => Promise<unknown>) {
  return seenBy(Object.fromEntries(['lan-client', ...hosts].map((h) => [h, netnsOf(plan, h)])), filter, send);
}

/** A neighbor solicitation for `target` from the lan-client: which hosts saw it. */
function solicitationSeenBy(plan: LabPlan, target: string, hosts: string[]) {
  const filter = `icmp6 and ip6[40] == 135 and ip6 dst ${solicitedNodeGroup(target)}`;
  return seenOnLan(plan, filter, hosts, () => solicit(netnsOf(plan, 'lan-client'), target));
}

describe('the MLD-snooping switch', { timeout: 120_000 }, () => {
  const { plan } = withLab('mld-snooping', { nodes: 3, mldSnooping: true });

  test("only node-2's port joined node-2's solicited-node group", async () => {
    const group = solicitedNodeGroup(node(plan, 2).lan.v6 ?? '');
    const ports = (await mdbEntries(plan)).filter((e) => e.group === group).map((e) => e.port);
    assert.deepEqual(ports, ['p-node-2']);
  });

  test('a solicitation for node-2 reaches node-2 and not node-3', async () => {
    const seen = await solicitationSeenBy(plan, node(plan, 2).lan.v6 ?? '', ['node-2', 'node-3']);
    assert.deepEqual(seen, { 'lan-client': true, 'node-2': true, 'node-3': false });
  });

  test('a solicitation for an address nobody holds reaches no node', async () => {
    const seen = await solicitationSeenBy(plan, '2001:db8:0:1::99', ['node-1', 'node-2', 'node-3']);
    assert.deepEqual(seen, { 'lan-client': true, 'node-1': false, 'node-2': false, 'node-3': false });
  });

  test('all-nodes multicast (ff02::1, as unsolicited NAs use) still reaches every node', async () => {
    const lanClient = netnsOf(plan, 'lan-client');
    const send = () =>
      run('ip', ['netns', 'exec', lanClient, 'ping', '-6', '-c', '1', '-W', '1', 'ff02::1%eth0']);
    const filter = 'icmp6 and ip6[40] == 128 and ip6 dst ff02::1';
    const seen = await seenOnLan(plan, filter, ['node-1', 'node-2', 'node-3'], send);
    assert.deepEqual(seen, { 'lan-client': true, 'node-1': true, 'node-2': true, 'node-3': true });
  });
});

async function labNamespacesLeft(): Promise<string[]> {
  return (await listNamespaces()).filter(isLabTopologyNamespace);
}

async function labHostLinksLeft(): Promise<string[]> {
  const links = await ipJson<{ ifname: string }[]>(undefined, 'link', 'show');
  return links.map((l) => l.ifname).filter((n) => n.startsWith('portico-') || n.startsWith('p-'));
}

describe('teardown after kill -9 of a build', { timeout: 120_000 }, () => {
  for (const keepState of [true, false]) {
    test(keepState ? 'with the state file' : 'without a state file (sweep by name)', async () => {
      const state = new LabState(join(stateRoot, `crash-${keepState}`));
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, 'fixtures/build-then-hang.ts'), state.dir],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        const midpoint = () => out.includes('READY') || child.exitCode !== null;
        await waitFor('the build to reach its midpoint', midpoint, { timeoutMs: 30_000 });
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      const [recordedPid, unrecordedPid] = (/READY (\d+) (\d+)/.exec(out)?.slice(1) ?? []).map(Number);
      assert.ok(recordedPid && unrecordedPid, `the fixture reported its processes: ${out}`);
      assert.ok(isRunning(recordedPid) && isRunning(unrecordedPid), 'the processes outlived the builder');
      assert.ok((await labNamespacesLeft()).includes('portico-node-3'), 'the crash left namespaces behind');
      assert.ok((await labHostLinksLeft()).includes(HOST_LINK));
      const node3 = await run('ip', ['-n', 'portico-node-3', 'addr', 'show']);
      assert.ok(!node3.includes('192.0.2.13'), 'killed halfway: node-3 had no address yet');
      const recorded = state.read();
      assert.ok(recorded.namespaces.includes('portico-lan-client'), 'the intent log names every namespace');
      assert.deepEqual(recorded.hostLinks, [HOST_LINK]);
      assert.deepEqual(
        recorded.processes.map((p) => p.pid),
        [recordedPid],
      );
      if (!keepState) state.remove();

      const report = await teardown({ ...scope, state });
      assert.ok(report.namespaces.includes('portico-switch'));
      assert.deepEqual(await labNamespacesLeft(), []);
      assert.ok(report.hostLinks.includes(HOST_LINK) || report.hostLinks.includes(HOST_PEER));
      assert.deepEqual(await labHostLinksLeft(), []);
      assert.equal(isRunning(recordedPid), false);
      assert.equal(isRunning(unrecordedPid), false);
      const ps = await run('ps', ['-eo', 'args']);
      assert.ok(!ps.includes(RECORDED_SLEEP) && !ps.includes(UNRECORDED_SLEEP), 'no lab process is left');
      assert.equal(existsSync(state.path), false);
    });
  }
});
