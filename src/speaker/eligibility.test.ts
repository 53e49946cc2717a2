import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EndpointSlice, Node, Service } from '../k8s/types.js';
import { EXCLUDE_LB_LABEL, eligibleNodes, endpointNodes, type NodeFacts, nodeFacts } from './eligibility.js';

const node = (
  name: string,
  labels: Record<string, string> = {},
  networkUnavailable?: 'True' | 'False',
): Node => ({
  metadata: { name, labels },
  status: networkUnavailable
    ? { conditions: [{ type: 'NetworkUnavailable', status: networkUnavailable }] }
    : {},
});

type Ep = NonNullable<EndpointSlice['endpoints']>[number];
const ep = (nodeName: string, conditions?: Ep['conditions']): Ep => ({
  addresses: ['198.18.1.5'],
  nodeName,
  ...(conditions && { conditions }),
});
const slice = (...endpoints: Ep[]): EndpointSlice => ({
  metadata: { name: 's' },
  addressType: 'IPv4',
  endpoints,
});

const svc = (etp: 'Cluster' | 'Local' = 'Cluster'): Service => ({
  metadata: { name: 'web', namespace: 'default' },
  spec: { type: 'LoadBalancer', externalTrafficPolicy: etp },
});

const facts = (...nodes: Node[]): NodeFacts[] =>
  nodes.map((n) => nodeFacts(n, { ignoreExcludeLabel: false }));
const all = () => true;

describe('node eligibility', () => {
  it('NetworkUnavailable=True and the exclude label take a node out; the label can be ignored', () => {
    assert.equal(
      nodeFacts(node('a', {}, 'True'), { ignoreExcludeLabel: false }).unusable,
      'NetworkUnavailable',
    );
    assert.equal(nodeFacts(node('a', {}, 'False'), { ignoreExcludeLabel: false }).unusable, undefined);
    const excluded = node('b', { [EXCLUDE_LB_LABEL]: '' });
    assert.equal(nodeFacts(excluded, { ignoreExcludeLabel: false }).unusable, 'ExcludedFromLoadBalancers');
    assert.equal(nodeFacts(excluded, { ignoreExcludeLabel: true }).unusable, undefined);
  });

  it('Cluster: every usable, selected node, sorted; the reasons when there is none', () => {
    const nodes = facts(node('c'), node('a'), node('b', {}, 'True'), node('d', { rack: '2' }));
    const eps = endpointNodes([slice(ep('a'))]);
    assert.deepEqual(eligibleNodes(svc(), nodes, all, eps), { ok: true, nodes: ['a', 'c', 'd'] });
    const rack1 = (n: NodeFacts) => n.labels?.rack === '1';
    assert.deepEqual(eligibleNodes(svc(), nodes, rack1, eps), {
      ok: false,
      reason: 'NoEligibleNode',
      message: 'no node may announce it (3 not selected by the L2Advertisements, 1 NetworkUnavailable)',
    });
  });

  it('Local: only nodes with a ready endpoint', () => {
    const nodes = facts(node('a'), node('b'), node('c'));
    const eps = endpointNodes([slice(ep('b'), ep('c', { ready: false, serving: true, terminating: true }))]);
    assert.deepEqual(eligibleNodes(svc('Local'), nodes, all, eps), { ok: true, nodes: ['b'] });
  });

  it('no ready endpoint anywhere: not announced; terminating-but-serving endpoints keep it announced', () => {
    const nodes = facts(node('a'), node('b'));
    assert.deepEqual(eligibleNodes(svc(), nodes, all, endpointNodes([])), {
      ok: false,
      reason: 'NoEndpoints',
      message: 'the Service has no ready endpoint',
    });
    const notReady = endpointNodes([slice(ep('a', { ready: false, serving: false }))]);
    assert.equal(eligibleNodes(svc(), nodes, all, notReady).ok, false);
    const draining = endpointNodes([slice(ep('b', { ready: false, serving: true, terminating: true }))]);
    assert.deepEqual(eligibleNodes(svc('Local'), nodes, all, draining), { ok: true, nodes: ['b'] });
  });

  it('endpoints with unset conditions count as ready (the API says nil means true)', () => {
    assert.deepEqual([...endpointNodes([slice(ep('a'))]).nodes], ['a']);
  });
});
