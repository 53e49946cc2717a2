/**
 * The lab router, each kind in turn, on the lab's own topology, against BIRD test speakers on
 * three nodes: sessions come up, the kernel gets one ECMP route with a next hop per node, cutting a
 * node's switch port removes its next hop (within BFD's detection time where the router has BFD),
 * restoring the port brings it back, and stopping leaves no process behind.
 *
 * The GoBGP router uses the gobgpd built by e2e/gobgp-harness (or $PORTICO_GOBGPD), which installs
 * routes through FRR's zebra; with Debian's 3.10 it cannot, and the kernel assertions become RIB
 * assertions.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { after, before, describe, it, type TestContext } from 'node:test';
import { exec } from '../exec.js';
import { setLink } from '../faults.js';
import { planLab, type RouterKind } from '../plan.js';
import { findCommand } from '../preflight.js';
import { isRunning } from '../proc.js';
import { LabState, type RecordedProcess } from '../state.js';
import { isLabTopologyNamespace, teardown } from '../teardown.js';
import { refuseIfUserLabIsUp } from '../test-guard.js';
import { buildTopology } from '../topology.js';
import { type RunningRouter, startRouter, stopRouter } from './router.js';
import { startSpeaker, stopSpeaker } from './speaker.js';
import { kernelRoute, routerBfd, routerPeers, routerRib } from './state-readers.js';

const VIPS = ['203.0.113.10/32', '2001:db8:0:100::10/128'];
const NEEDS: Record<RouterKind, string[]> = {
  frr: ['/usr/lib/frr/bgpd', 'vtysh', 'bird'],
  bird: ['bird', 'birdc'],
  gobgp: ['gobgpd', 'gobgp', 'bird'],
};

function skipReason(kind: RouterKind): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  const missing = [...NEEDS[kind], 'ip'].filter((c) => !findCommand(c));
  return missing.length > 0 ? `missing ${missing.join(', ')}` : false;
}

/** Polls every 10 ms until `check` holds; resolves with the milliseconds it took. */
async function within(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await check().catch(() => false)) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sorted = (list: (string | undefined)[]) => list.map(String).sort();

for (const kind of ['frr', 'bird', 'gobgp'] as const) {
  describe(`the ${kind} router`, { skip: skipReason(kind) }, () => {
    const plan = planLab({ router: kind, nodes: 3 });
    const scope = { matchNamespace: isLabTopologyNamespace };
    const nodeV4 = plan.nodes.map((n) => n.lan.v4);
    const nodeV6 = plan.nodes.map((n) => n.lan.v6!);
    const node2 = plan.nodes[1]!;
    let stateDir = '';
    const recorded: RecordedProcess[] = [];
    let router: RunningRouter;
    let failed = false;
    /** `it`, marking the run failed (so the logs are kept) when the step throws. */
    const step = (name: string, fn: (t: TestContext) => Promise<void>, skip: string | false = false) =>
      it(name, { skip }, async (t) => {
        try {
          await fn(t);
        } catch (err) {
          failed = true;
          throw err;
        }
      });

    /** Next hops toward a VIP: the kernel's when the router installs routes, else the BGP RIB's. */
    const nextHops = async (vip: string) =>
      router.capabilities.kernelRoutes
        ? (await kernelRoute(plan.router.netns, vip)).map((h) => h.gateway)
        : (await routerRib(plan, vip)).map((p) => p.nextHop);
    const allNodes = async () =>
      JSON.stringify(sorted(await nextHops(VIPS[0]!))) === JSON.stringify(sorted(nodeV4)) &&
      JSON.stringify(sorted(await nextHops(VIPS[1]!))) === JSON.stringify(sorted(nodeV6));

    before(async () => {
      refuseIfUserLabIsUp();
      stateDir = mkdtempSync('/tmp/portico-rt-');
      await teardown(scope);
      await buildTopology(plan, { state: new LabState(stateDir) });
    });

    after(async () => {
      for (const node of plan.nodes) await stopSpeaker(plan, node, { stateDir }).catch(() => {});
      await stopRouter(plan, { stateDir }).catch(() => {});
      await teardown(scope);
      if (failed) console.error(`${kind}: logs kept in ${stateDir}`);
      else rmSync(stateDir, { recursive: true, force: true });
    });

    step('establishes a BGP session with every node, over IPv4 and IPv6', async (t) => {
      const started = performance.now();
      router = await startRouter(plan, {
        stateDir,
        record: (p) => recorded.push(p),
      });
      const ready = performance.now() - started;
      // BFD toward a router without BFD only delays BIRD's first UPDATE (by ~2.5 s, measured).
      const bfd = router.capabilities.bfd ? undefined : false;
      const record = (p: RecordedProcess) => recorded.push(p);
      await Promise.all(plan.nodes.map((node) => startSpeaker(plan, node, VIPS, { stateDir, bfd, record })));
      const speakers = performance.now() - started - ready;
      const up = await within('all sessions Established', 30_000, async () => {
        const peers = await routerPeers(plan);
        return peers.filter((p) => p.state === 'Established').length === 6;
      });
      const peers = await routerPeers(plan);
      assert.deepEqual(sorted(peers.map((p) => p.address)), sorted([...nodeV4, ...nodeV6]));
      assert.ok(peers.every((p) => p.state === 'Established'));
      t.diagnostic(
        `${kind}: router ready in ${ready.toFixed(0)} ms, speakers in ${speakers.toFixed(0)} ms, all 6 sessions Established ${up.toFixed(0)} ms later; capabilities ${JSON.stringify(router.capabilities)}`,
      );
    });

    step(
      'routes each VIP over one path per node (ECMP in the kernel where the router installs routes)',
      async (t) => {
        const ms = await within('a next hop per node', 15_000, allNodes);
        const rib = await routerRib(plan, VIPS[0]!);
        assert.deepEqual(sorted(rib.map((p) => p.nextHop)), sorted(nodeV4));
        assert.deepEqual(sorted(rib.map((p) => p.peer)), sorted(nodeV4));
        assert.deepEqual(await routerRib(plan, '203.0.113.99'), [], 'a VIP nobody announces');
        assert.deepEqual(await kernelRoute(plan.router.netns, '203.0.113.99'), []);
        if (router.capabilities.kernelRoutes) {
          const v4 = await kernelRoute(plan.router.netns, VIPS[0]!);
          assert.deepEqual(sorted(v4.map((h) => h.gateway)), sorted(nodeV4));
          const v6 = await kernelRoute(plan.router.netns, VIPS[1]!);
          assert.deepEqual(sorted(v6.map((h) => h.gateway)), sorted(nodeV6));
        } else {
          assert.deepEqual(
            await kernelRoute(plan.router.netns, VIPS[0]!),
            [],
            'no kernel route without zebra',
          );
          t.diagnostic(`${kind}: no kernel install with this gobgpd; the RIB holds the 3 paths per VIP`);
        }
        t.diagnostic(`${kind}: 3 next hops per VIP ${ms.toFixed(0)} ms after the sessions`);
      },
    );

    step(
      'runs BFD with every node where the daemon has BFD',
      async () => {
        await within('6 BFD sessions Up', 10_000, async () => {
          const bfd = await routerBfd(plan);
          return bfd.length === 6 && bfd.every((s) => s.state === 'Up');
        });
        const bfd = await routerBfd(plan);
        assert.deepEqual(sorted(bfd.map((s) => s.peer)), sorted([...nodeV4, ...nodeV6]));
        assert.ok(
          bfd.every((s) => s.intervalMs === 100 && s.multiplier === 3),
          JSON.stringify(bfd),
        );
      },
      kind === 'gobgp' && 'GoBGP has no BFD',
    );

    step('drops a node’s next hop when its link is cut, and takes it back when restored', async (t) => {
      const gone = (vip: string, hop: string) => async () => !(await nextHops(vip)).includes(hop);
      const limit = router.capabilities.bfd ? 1_500 : 15_000;
      await setLink(plan, node2.name, 'down');
      const [v4, v6] = await Promise.all([
        within('node-2 out of the IPv4 route', limit, gone(VIPS[0]!, node2.lan.v4)),
        within('node-2 out of the IPv6 route', limit, gone(VIPS[1]!, node2.lan.v6!)),
      ]);
      assert.deepEqual(sorted(await nextHops(VIPS[0]!)), sorted(nodeV4.filter((a) => a !== node2.lan.v4)));
      await setLink(plan, node2.name, 'up');
      const back = await within('node-2 back in both routes', 40_000, allNodes);
      const how = router.capabilities.bfd ? 'BFD' : 'hold timer';
      t.diagnostic(
        `${kind}: link cut → node-2 next hop removed after ${v4.toFixed(0)} ms (v4), ${v6.toFixed(0)} ms (v6) by ${how}; restored → back after ${back.toFixed(0)} ms`,
      );
    });

    step('stops without leaving a daemon behind', async () => {
      for (const node of plan.nodes) await stopSpeaker(plan, node, { stateDir, prefixes: VIPS });
      await stopRouter(plan, { stateDir });
      assert.ok(recorded.length >= 4, `recorded ${recorded.length} processes`);
      assert.deepEqual(
        recorded.filter((p) => isRunning(p.pid, p.startTime)),
        [],
      );
      const left = await exec('pgrep', ['-f', `${stateDir}|-N ${plan.router.netns}`]);
      assert.equal(left.stdout.trim(), '', `processes left: ${left.stdout}`);
    });
  });
}
