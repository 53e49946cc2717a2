import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAddressEntry } from '../../api/address.js';
import type { L2AdvertisementSpec } from '../../api/l2-advertisement.js';
import { type L2Ad, parseL2Advertisement } from '../../api/l2-policy.js';
import type { Service } from '../../k8s/types.js';
import type { PeerClaims } from '../election/answers.js';
import { type NodeFacts, nodeFacts } from '../eligibility.js';
import { type L2PlanInput, planL2, type ServiceFacts } from './l2-plan.js';

const NODES = ['node-1', 'node-2', 'node-3'];
const nodes = (labels: Record<string, Record<string, string>> = {}): NodeFacts[] =>
  NODES.map((name) =>
    nodeFacts({ metadata: { name, labels: labels[name] ?? {} } }, { ignoreExcludeLabel: false }),
  );

const ad = (spec: L2AdvertisementSpec = {}, name = 'l2'): L2Ad => {
  const r = parseL2Advertisement({ metadata: { name }, spec });
  assert.ok(r.ok);
  return r.ad;
};

const pool = {
  name: 'lan',
  labels: {},
  ranges: [parseAddressEntry('203.0.113.0/24'), parseAddressEntry('2001:db8:0:100::/64')],
};

function svc(
  name: string,
  address: string,
  opts: { local?: string[]; shares?: boolean; labels?: Record<string, string> } = {},
): ServiceFacts {
  const service: Service = {
    metadata: { name, namespace: 'default', labels: opts.labels ?? {} },
    spec: { type: 'LoadBalancer', externalTrafficPolicy: opts.local ? 'Local' : 'Cluster' },
    status: { loadBalancer: { ingress: [{ ip: address }] } },
  };
  return {
    key: `default/${name}`,
    service,
    addresses: [address],
    sharesAddress: opts.shares ?? false,
    endpoints: { ready: true, nodes: new Set(opts.local ?? NODES) },
  };
}

/** Plans from every live node's point of view, each seeing the others' claims from the round before. */
function converge(
  base: Omit<L2PlanInput, 'self' | 'peers' | 'answering'>,
  rounds = 3,
  start = new Map<string, Set<string>>(),
) {
  const answering = new Map(start);
  let plans = new Map<string, ReturnType<typeof planL2>>();
  for (let round = 0; round < rounds; round++) {
    plans = new Map();
    for (const self of base.live) {
      const peers: PeerClaims[] = base.live
        .filter((n) => n !== self)
        .map((n) => ({ node: n, claims: answering.get(n) ?? new Set(), hearsUs: true }));
      plans.set(self, planL2({ ...base, self, peers, answering: answering.get(self) ?? new Set() }));
    }
    for (const [self, plan] of plans) answering.set(self, new Set(plan.answer.keys()));
  }
  return { plans, answering };
}

const responders = (answering: Map<string, Set<string>>, ip: string) =>
  [...answering].filter(([, ips]) => ips.has(ip)).map(([n]) => n);

describe('L2 plan', () => {
  it('exactly one live node answers each address, and each Service reports that node', () => {
    const base = {
      services: [svc('a', '203.0.113.10'), svc('b', '203.0.113.11'), svc('c', '2001:db8:0:100::10')],
      pools: [pool],
      ads: [ad()],
      nodes: nodes(),
      live: NODES,
      mode: 'revertive' as const,
    };
    const { plans, answering } = converge(base);
    for (const ip of ['203.0.113.10', '203.0.113.11', '2001:db8:0:100::10']) {
      const who = responders(answering, ip);
      assert.equal(who.length, 1, `${ip}: ${who}`);
      const state = plans
        .get('node-1')!
        .services.get(`default/${ip === '203.0.113.10' ? 'a' : ip === '203.0.113.11' ? 'b' : 'c'}`)![0]!;
      assert.ok(state.announced);
      assert.equal(state.node, who[0]);
    }
  });

  it("places addresses on the node an advertisement's preferredNodeSelectors weigh most, and falls back when it dies", () => {
    const base = {
      services: [svc('a', '203.0.113.10'), svc('b', '203.0.113.11'), svc('c', '2001:db8:0:100::10')],
      pools: [pool],
      ads: [ad({ preferredNodeSelectors: [{ weight: 50, preference: { matchLabels: { rack: 'r3' } } }] })],
      nodes: nodes({ 'node-3': { rack: 'r3' } }),
      live: NODES,
      mode: 'revertive' as const,
    };
    const { answering } = converge(base);
    for (const ip of ['203.0.113.10', '203.0.113.11', '2001:db8:0:100::10']) {
      assert.deepEqual(responders(answering, ip), ['node-3'], ip);
    }
    const without = converge({ ...base, live: ['node-1', 'node-2'] }, 3, answering);
    for (const ip of ['203.0.113.10', '203.0.113.11']) {
      const live = responders(without.answering, ip).filter((n) => n !== 'node-3');
      assert.equal(live.length, 1, `${ip}: ${live}`);
    }
  });

  it('Services sharing an address are announced from one node', () => {
    const base = {
      services: [svc('a', '203.0.113.20', { shares: true }), svc('b', '203.0.113.20', { shares: true })],
      pools: [pool],
      ads: [ad()],
      nodes: nodes(),
      live: NODES,
      mode: 'revertive' as const,
    };
    const { plans, answering } = converge(base);
    assert.equal(responders(answering, '203.0.113.20').length, 1);
    const [a] = plans.get('node-2')!.services.get('default/a')!;
    const [b] = plans.get('node-2')!.services.get('default/b')!;
    assert.ok(a?.announced && b?.announced && a.node === b.node);
  });

  it('says why an address is not announced: not in a pool, no advertisement, no eligible node', () => {
    const plan = planL2({
      self: 'node-1',
      services: [svc('out', '198.51.100.5'), svc('local', '203.0.113.30', { local: [] })],
      pools: [pool],
      ads: [ad({ ipAddressPools: ['other'] })],
      nodes: nodes(),
      live: NODES,
      peers: [],
      mode: 'revertive',
      answering: new Set(),
    });
    assert.deepEqual(plan.services.get('default/out'), [
      {
        announced: false,
        address: '198.51.100.5',
        reason: 'AddressNotInPool',
        message: '198.51.100.5 is in no IPAddressPool',
      },
    ]);
    assert.equal(plan.services.get('default/local')![0]!.announced, false);
    assert.equal((plan.services.get('default/local')![0] as { reason: string }).reason, 'NoL2Advertisement');
    assert.equal(plan.answer.size, 0);
  });

  it('externalTrafficPolicy Local: the address goes to a node with an endpoint; interfaces come from the advertisement', () => {
    const base = {
      services: [svc('web', '203.0.113.40', { local: ['node-3'] })],
      pools: [pool],
      ads: [ad({ interfaces: ['eth1'] })],
      nodes: nodes(),
      live: NODES,
      mode: 'revertive' as const,
    };
    const { plans, answering } = converge(base);
    assert.deepEqual(responders(answering, '203.0.113.40'), ['node-3']);
    assert.deepEqual(plans.get('node-3')!.answer.get('203.0.113.40'), { interfaces: ['eth1'] });
  });

  it('fails over when the owner is no longer live, and in non-revertive mode keeps the address when it returns', () => {
    const base = {
      services: [svc('a', '203.0.113.50')],
      pools: [pool],
      ads: [ad()],
      nodes: nodes(),
      live: NODES,
      mode: 'nonRevertive' as const,
    };
    const first = converge(base);
    const [owner] = responders(first.answering, '203.0.113.50');
    assert.ok(owner);
    const survivors = NODES.filter((n) => n !== owner);
    const after = converge(
      { ...base, live: survivors },
      3,
      new Map([...first.answering].filter(([n]) => n !== owner)),
    );
    const [successor] = responders(after.answering, '203.0.113.50');
    assert.ok(successor && successor !== owner);
    // The old owner comes back with no claims: the address stays where it is.
    const back = converge({ ...base, live: NODES }, 3, after.answering);
    assert.deepEqual(responders(back.answering, '203.0.113.50'), [successor]);
  });
});
