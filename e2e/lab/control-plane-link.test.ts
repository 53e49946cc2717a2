import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostLinkBatch } from './control-plane-link.js';
import { kubeProxyArgs } from './kube-proxies.js';
import { nodeObject } from './lab-nodes.js';
import { planLab } from './plan.js';

describe('the cluster half of the lab plan', () => {
  it('routes only the lab peers over the host link, never the whole LAN prefix', () => {
    const lines = hostLinkBatch(planLab({ nodes: 2 }));
    assert.deepEqual(lines.slice(0, 3), [
      'addr add 192.0.2.254/24 dev portico-host noprefixroute',
      'addr add 2001:db8:0:1::fe/64 dev portico-host nodad noprefixroute',
      'link set portico-host up',
    ]);
    assert.ok(lines.includes('route add 192.0.2.12/32 dev portico-host'));
    assert.ok(lines.includes('route add 198.18.2.0/24 via 192.0.2.12 dev portico-host'));
    assert.ok(lines.includes('route add 2001:db8:0:12::/64 via 2001:db8:0:1::12 dev portico-host'));
    assert.ok(!lines.some((l) => /route add (192\.0\.2\.0\/24|default)/.test(l)));
    assert.equal(hostLinkBatch(planLab({ ipv6: false })).filter((l) => l.includes(':')).length, 0);
  });

  it('describes each node as its kubelet would: both InternalIPs, pod CIDRs, Ready', () => {
    const plan = planLab({ ipv6: true });
    const node = nodeObject(plan.nodes[2]!, 'v1.36.3') as {
      spec: { podCIDRs: string[] };
      status: {
        addresses: { type: string; address: string }[];
        conditions: { type: string; status: string }[];
      };
    };
    assert.deepEqual(node.spec.podCIDRs, ['198.18.3.0/24', '2001:db8:0:13::/64']);
    assert.deepEqual(
      node.status.addresses.map((a) => `${a.type}=${a.address}`),
      ['InternalIP=192.0.2.13', 'InternalIP=2001:db8:0:1::13', 'Hostname=node-3'],
    );
    assert.ok(node.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'));
  });

  it('gives kube-proxy both cluster CIDRs and leaves the global conntrack limits alone', () => {
    const plan = planLab();
    const args = kubeProxyArgs(plan, plan.nodes[0]!, '/k');
    assert.ok(args.includes('--cluster-cidr=198.18.0.0/16,2001:db8:0:10::/60'));
    assert.ok(args.includes('--hostname-override=node-1'));
    assert.ok(args.includes('--conntrack-max-per-core=0'));
    const v4only = planLab({ ipv6: false });
    assert.ok(kubeProxyArgs(v4only, v4only.nodes[0]!, '/k').includes('--cluster-cidr=198.18.0.0/16'));
  });
});
