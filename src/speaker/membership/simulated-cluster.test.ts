import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { PlacementMode } from '../election/placement.js';
import { SimulatedCluster, type SimulationOptions } from './simulated-cluster.js';

const NODES = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e'];
const IPS = Array.from({ length: 40 }, (_, i) =>
  i % 4 === 3 ? `2001:db8::${i + 1}` : `198.51.100.${i + 1}`,
);

function cluster(overrides: Partial<SimulationOptions> = {}): SimulatedCluster {
  return new SimulatedCluster({ nodes: NODES, ips: IPS, latencyMs: 1, jitterMs: 1, ...overrides });
}

/** Runs to `until`, tracking the most responders any IP had and the most IPs left unanswered at once. */
function watch(sim: SimulatedCluster, until: number): { maxResponders: number; maxUnanswered: number } {
  let maxResponders = 0;
  let maxUnanswered = 0;
  sim.runUntil(() => {
    let unanswered = 0;
    for (const nodes of sim.responders().values()) {
      maxResponders = Math.max(maxResponders, nodes.length);
      if (nodes.length === 0) unanswered++;
    }
    maxUnanswered = Math.max(maxUnanswered, unanswered);
    return false;
  }, until);
  return { maxResponders, maxUnanswered };
}

/** Runs to `until`; returns per IP the longest time it had no responder. */
function gaps(sim: SimulatedCluster, until: number): Map<string, number> {
  const since = new Map<string, number>();
  const longest = new Map<string, number>();
  sim.runUntil(() => {
    for (const [ip, nodes] of sim.responders()) {
      const start = since.get(ip);
      if (nodes.length === 0 && start === undefined) since.set(ip, sim.now);
      if (nodes.length > 0 && start !== undefined) {
        longest.set(ip, Math.max(longest.get(ip) ?? 0, sim.now - start));
        since.delete(ip);
      }
    }
    return false;
  }, until);
  for (const ip of since.keys()) longest.set(ip, Number.POSITIVE_INFINITY);
  return longest;
}

/** Runs until one responder per IP and agreeing views; returns how long that took after `since`. */
function settle(sim: SimulatedCluster, since: number, budgetMs: number): number {
  const ok = sim.runUntil(() => sim.oneResponderPerIp() && sim.viewsAgree(), since + budgetMs);
  assert.ok(
    ok,
    `not settled ${budgetMs} ms after ${since}: ${JSON.stringify([...sim.responders()].filter(([, n]) => n.length !== 1))}`,
  );
  return sim.now - since;
}

describe('simulated cluster', () => {
  it('starts cold without anyone answering while joining, then one responder per IP', (t: TestContext) => {
    const sim = cluster();
    const joining = watch(sim, 299);
    assert.equal(joining.maxResponders, 0);
    const settledAfter = settle(sim, 0, 1000);
    t.diagnostic(`cold start settled after ${settledAfter} ms`);
    assert.equal(watch(sim, 3000).maxResponders, 1);
    assert.equal(sim.stats.rejected, 0);
  });

  it('fails a crashed node’s IPs over within the timeout', (t: TestContext) => {
    const sim = cluster();
    sim.run(2000);
    const victim = 'node-c';
    const orphans = [...sim.answering(victim)];
    assert.ok(orphans.length > 0);
    sim.crash(victim);
    const took = settle(sim, 2000, 1000);
    t.diagnostic(`${orphans.length} IPs failed over ${took} ms after the crash`);
    assert.ok(took <= 300 + 5, `${took} ms`);
    assert.equal(watch(sim, 3000).maxResponders, 1);
  });

  it('hands over on SIGTERM: the leaving node’s IPs are never unanswered', (t: TestContext) => {
    const sim = cluster();
    sim.run(2000);
    const handed = [...sim.answering('node-b')];
    sim.leave('node-b');
    const longest = gaps(sim, 2500);
    for (const ip of handed) assert.equal(longest.get(ip), undefined, `${ip} went unanswered`);
    // Rebalancing moves between the remaining nodes are break-before-make: a gap of about one delay.
    const others = [...longest.values()];
    assert.ok(
      others.every((gap) => gap <= 3),
      JSON.stringify([...longest]),
    );
    assert.ok(!sim.running().includes('node-b'), 'node-b still running after the hand-over');
    assert.ok(sim.oneResponderPerIp());
    t.diagnostic(
      `hand-over of ${handed.length} IPs: none unanswered; ${others.length} rebalanced IPs had a gap of at most ${Math.max(0, ...others).toFixed(2)} ms`,
    );
  });

  for (const mode of ['revertive', 'nonRevertive'] as PlacementMode[]) {
    it(`${mode}: answers on both sides of a partition, and one responder per IP within a second of the heal, under 5% loss`, (t: TestContext) => {
      const sim = cluster({ mode, lossRate: 0.05, seed: 7 });
      sim.run(2000);
      sim.partition([
        ['node-a', 'node-b'],
        ['node-c', 'node-d', 'node-e'],
      ]);
      sim.run(4000);
      for (const [ip, nodes] of sim.responders()) assert.equal(nodes.length, 2, `${ip}: ${nodes.join()}`);
      sim.heal();
      const took = settle(sim, 4000, 1000);
      t.diagnostic(`${mode}: one responder per IP ${took} ms after the heal`);
      assert.ok(took <= 1000);
      sim.run(6000);
      assert.ok(sim.oneResponderPerIp());
    });
  }

  it('heals within a second for many seeds and partitions (5% loss)', (t: TestContext) => {
    let worst = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const sim = cluster({ lossRate: 0.05, seed, mode: seed % 2 ? 'revertive' : 'nonRevertive' });
      sim.run(1000);
      sim.partition([NODES.slice(0, (seed % 4) + 1), NODES.slice((seed % 4) + 1)]);
      sim.run(2000);
      sim.heal();
      worst = Math.max(worst, settle(sim, 2000, 1000));
    }
    t.diagnostic(`worst heal over 12 seeds: ${worst} ms`);
  });

  it('revertive: a returning node takes its IPs back without ever two responders', () => {
    const sim = cluster({ mode: 'revertive' });
    sim.run(2000);
    const before = [...sim.answering('node-d')].sort();
    sim.crash('node-d');
    sim.run(3000);
    sim.start('node-d');
    assert.equal(watch(sim, 5000).maxResponders, 1);
    assert.deepEqual([...sim.answering('node-d')].sort(), before);
  });

  it('non-revertive: a returning node takes nothing back', () => {
    const sim = cluster({ mode: 'nonRevertive' });
    sim.run(2000);
    sim.crash('node-d');
    sim.run(3000);
    const owners = new Map(sim.responders());
    sim.start('node-d');
    assert.equal(watch(sim, 5000).maxResponders, 1);
    assert.equal(sim.answering('node-d').size, 0);
    assert.deepEqual(sim.responders(), owners);
  });

  it('non-revertive: a node cut off and back takes nothing back either (the majority keeps what it moved)', () => {
    const sim = cluster({ mode: 'nonRevertive' });
    sim.run(2000);
    const cutOff = [...sim.answering('node-d')];
    assert.ok(cutOff.length > 0);
    sim.partition([['node-d'], NODES.filter((n) => n !== 'node-d')]);
    sim.run(3000);
    const movedTo = (ip: string) => (sim.responders().get(ip) ?? []).filter((n) => n !== 'node-d');
    const moved = new Map(cutOff.map((ip) => [ip, movedTo(ip)]));
    for (const nodes of moved.values()) assert.equal(nodes.length, 1);
    sim.heal();
    settle(sim, 4000, 1000);
    sim.run(3000);
    assert.ok(sim.oneResponderPerIp());
    for (const ip of cutOff) assert.deepEqual(sim.responders().get(ip), moved.get(ip), ip);
    assert.equal(sim.answering('node-d').size, 0);
  });

  for (const how of ['drop', 'hold'] as const) {
    it(`non-revertive, three nodes: one cut off for 2 s and back leaves the moved IPs where they went (datagrams across the cut ${how === 'drop' ? 'lost' : 'held and delivered late at the heal'})`, () => {
      const nodes = NODES.slice(0, 3);
      for (let seed = 1; seed <= 10; seed++) {
        const sim = cluster({ nodes, ips: IPS.slice(0, 6), mode: 'nonRevertive', seed });
        sim.run(2000);
        const cutNode = 'node-a';
        const cutOff = [...sim.answering(cutNode)];
        assert.ok(cutOff.length > 0);
        sim.partition([[cutNode], nodes.filter((n) => n !== cutNode)], how);
        sim.run(4000);
        const moved = new Map(
          cutOff.map((ip) => [ip, (sim.responders().get(ip) ?? []).filter((n) => n !== cutNode)]),
        );
        sim.heal();
        settle(sim, 4000, 1000);
        sim.run(7000);
        assert.ok(sim.oneResponderPerIp(), `seed ${seed}`);
        for (const ip of cutOff)
          assert.deepEqual(sim.responders().get(ip), moved.get(ip), `seed ${seed}: ${ip}`);
      }
    });
  }

  it('one-way link: relays keep views equal, and never two responders', () => {
    const sim = cluster();
    sim.run(2000);
    sim.cut('node-b', 'node-a');
    const after = watch(sim, 5000);
    assert.equal(after.maxResponders, 1);
    assert.ok(sim.viewsAgree());
    assert.equal(sim.views().get('node-a')!.length, NODES.length);
  });

  it('one-way link between two nodes: the unheard node yields, one responder per IP', () => {
    const sim = new SimulatedCluster({ nodes: ['node-a', 'node-b'], ips: IPS.slice(0, 10), latencyMs: 1 });
    sim.run(2000);
    sim.cut('node-b', 'node-a');
    sim.run(2500);
    assert.equal(watch(sim, 4000).maxResponders, 1);
    assert.equal(sim.answering('node-a').size, 10);
  });

  it('IPs only some nodes may answer fail over among those nodes, and go unanswered without them', () => {
    const onlyAB = new Set(IPS.slice(0, 8));
    const sim = cluster({ eligible: (ip) => (onlyAB.has(ip) ? ['node-a', 'node-b'] : NODES) });
    sim.run(2000);
    sim.crash('node-a');
    settle(sim, 2000, 1000);
    for (const ip of onlyAB) assert.deepEqual(sim.responders().get(ip), ['node-b']);
    sim.crash('node-b');
    settle(sim, sim.now, 1000);
    for (const ip of onlyAB) assert.deepEqual(sim.responders().get(ip), []);
  });
});
