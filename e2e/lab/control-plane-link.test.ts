import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ipaddr from 'ipaddr.js';
import { hostLinkBatch } from './control-plane-link.js';
import { LAB_ROUTE_ROOTS, labDestinations, safetyNetBatch, serviceRangeRoutes } from './host-routes.js';
import { kubeProxyArgs } from './kube-proxies.js';
import { nodeObject } from './lab-nodes.js';
import { planLab } from './plan.js';

describe('the cluster half of the lab plan', () => {
  it('routes only the lab peers and the Service range over the host link, never the whole LAN prefix', () => {
    const lines = hostLinkBatch(planLab({ nodes: 2 }));
    assert.deepEqual(lines.slice(0, 3), [
      'addr add 192.0.2.254/24 dev portico-host noprefixroute',
      'addr add 2001:db8:0:1::fe/64 dev portico-host nodad noprefixroute',
      'link set portico-host up',
    ]);
    assert.ok(lines.includes('route add 192.0.2.12/32 dev portico-host proto 181'));
    assert.ok(lines.includes('route add 198.18.2.0/24 via 192.0.2.12 dev portico-host proto 181'));
    assert.ok(lines.includes('route add 2001:db8:0:12::/64 via 2001:db8:0:1::12 dev portico-host proto 181'));
    assert.ok(!lines.some((l) => /route add (192\.0\.2\.0\/24|default)/.test(l)));
    assert.equal(hostLinkBatch(planLab({ ipv6: false })).filter((l) => l.includes(':')).length, 0);
  });

  it('sends the Service range to every node (ECMP), after the routes to those nodes', () => {
    const lines = hostLinkBatch(planLab({ nodes: 3 }));
    const v4 = lines.findIndex((l) => l.startsWith('route add 198.19.0.0/16 '));
    assert.equal(
      lines[v4],
      'route add 198.19.0.0/16 proto 181 src 192.0.2.254 nexthop via 192.0.2.11 dev portico-host ' +
        'nexthop via 192.0.2.12 dev portico-host nexthop via 192.0.2.13 dev portico-host',
    );
    assert.ok(v4 > lines.indexOf('route add 192.0.2.13/32 dev portico-host proto 181'));
    assert.ok(
      lines.includes(
        'route add 2001:db8:0:20::/108 proto 181 src 2001:db8:0:1::fe metric 1024 nexthop via 2001:db8:0:1::11 dev portico-host ' +
          'nexthop via 2001:db8:0:1::12 dev portico-host nexthop via 2001:db8:0:1::13 dev portico-host',
      ),
    );
    assert.ok(!hostLinkBatch(planLab({ ipv6: false })).some((l) => l.includes('2001:db8:0:20::')));
  });

  it('routes the Service range over the nodes left when links are cut, and leaves it to the safety net when none is', () => {
    const plan = planLab({ nodes: 3 });
    const [one, , three] = plan.nodes;
    assert.deepEqual(serviceRangeRoutes(plan, [one!, three!]), [
      'route replace 198.19.0.0/16 proto 181 src 192.0.2.254 nexthop via 192.0.2.11 dev portico-host nexthop via 192.0.2.13 dev portico-host',
      'route replace 2001:db8:0:20::/108 proto 181 src 2001:db8:0:1::fe metric 1024 nexthop via 2001:db8:0:1::11 dev portico-host nexthop via 2001:db8:0:1::13 dev portico-host',
    ]);
    // The safety net has the same prefix: only `unicast` (IPv4) and the metric (IPv6) keep a deletion off it.
    assert.deepEqual(serviceRangeRoutes(plan, []), [
      'route del unicast 198.19.0.0/16 proto 181',
      'route del 2001:db8:0:20::/108 proto 181 metric 1024',
    ]);
    assert.deepEqual(serviceRangeRoutes(planLab({ ipv6: false }), []), [
      'route del unicast 198.19.0.0/16 proto 181',
    ]);
  });

  it('has a safety net for every lab destination except the LAN prefix and its router, which the host may share', () => {
    const plan = planLab({ nodes: 2 });
    assert.deepEqual(labDestinations(plan), [
      '192.0.2.11/32',
      '192.0.2.12/32',
      '192.0.2.100/32',
      '192.0.2.254/32',
      '198.18.0.0/16',
      '198.19.0.0/16',
      '198.51.100.0/25',
      '198.51.100.128/25',
      '203.0.113.0/24',
      '2001:db8:0:1::/64',
      '2001:db8:0:10::/60',
      '2001:db8:0:20::/108',
      '2001:db8:0:2::/64',
      '2001:db8:0:3::/64',
      '2001:db8:0:100::/64',
    ]);
    assert.equal(
      safetyNetBatch(plan)[0],
      'route replace unreachable 192.0.2.11/32 metric 4294967295 proto 181',
    );
    // Every destination lies inside the ranges teardown sweeps, so none can outlive `lab down`.
    const inside = (dst: string) =>
      [...LAB_ROUTE_ROOTS.v4, ...LAB_ROUTE_ROOTS.v6].some((root) => {
        const [a, b] = [ipaddr.parseCIDR(dst), ipaddr.parseCIDR(root)];
        return a[0].kind() === b[0].kind() && a[1] >= b[1] && a[0].match(b);
      });
    assert.deepEqual(
      labDestinations(plan).filter((d) => !inside(d)),
      [],
    );
    assert.deepEqual(labDestinations(planLab({ ipv6: false, lanClient: false })).length, 9);
  });

  it('leaves the second LAN to the safety net: the host is not on it, so nothing routes it over the host link', () => {
    const plan = planLab({ nodes: 3 });
    const second = [plan.secondLan.v4, plan.secondLan.v6!];
    for (const dst of second) {
      assert.ok(
        safetyNetBatch(plan).includes(`route replace unreachable ${dst} metric 4294967295 proto 181`),
      );
    }
    const hostLink = hostLinkBatch(plan);
    assert.ok(!hostLink.some((l) => /198\.51\.100\.|2001:db8:0:3:/.test(l)), hostLink.join('\n'));
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
