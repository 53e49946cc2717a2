import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lanClientBatch, nodeBatch, routerBatch } from './hosts.js';
import { planLab } from './plan.js';
import { secondSwitchPorts, switchBatch, switchPorts } from './switch.js';
import { ipv6Interfaces } from './topology.js';

describe('lab hosts and switch', () => {
  it('gives a node its LAN, its second NIC (no route through it) and its pod bridge', () => {
    const plan = planLab({ nodes: 2 });
    assert.deepEqual(nodeBatch(plan, plan.nodes[0]!), [
      'link set lo up',
      'addr add 192.0.2.11/24 dev eth0',
      'addr add 2001:db8:0:1::11/64 dev eth0 nodad',
      'link set eth0 up',
      'addr add 198.51.100.139/25 dev eth1',
      'addr add 2001:db8:0:3::11/64 dev eth1 nodad',
      'link set eth1 up',
      'link add cni0 type bridge',
      'addr add 198.18.1.1/24 dev cni0',
      'addr add 2001:db8:0:11::1/64 dev cni0 nodad',
      'link set cni0 up',
      'route add default via 192.0.2.1',
      'route add default via 2001:db8:0:1::1',
      'route add 198.18.2.0/24 via 192.0.2.12',
      'route add 2001:db8:0:12::/64 via 2001:db8:0:1::12',
    ]);
    const v4only = planLab({ nodes: 1, ipv6: false });
    const lines = nodeBatch(v4only, v4only.nodes[0]!);
    assert.ok(lines.includes('addr add 198.51.100.139/25 dev eth1'));
    assert.ok(!lines.some((l) => l.includes(':')));
  });

  it('gives the lan-client a second NIC, and the router none on the second LAN', () => {
    const plan = planLab();
    assert.deepEqual(lanClientBatch(plan), [
      'link set lo up',
      'addr add 192.0.2.100/24 dev eth0',
      'addr add 2001:db8:0:1::100/64 dev eth0 nodad',
      'link set eth0 up',
      'route add default via 192.0.2.1',
      'route add default via 2001:db8:0:1::1',
      'route add 203.0.113.0/25 dev eth0',
      'route add 2001:db8:0:100::/112 dev eth0',
      'addr add 198.51.100.228/25 dev eth1',
      'addr add 2001:db8:0:3::100/64 dev eth1 nodad',
      'link set eth1 up',
    ]);
    assert.deepEqual(lanClientBatch(planLab({ lanClient: false })), []);
    const router = routerBatch(plan);
    assert.ok(router.includes('addr add 198.51.100.1/25 dev eth1'), 'the client link is a /25');
    assert.ok(!router.some((l) => /198\.51\.100\.1[2-9]\d|2001:db8:0:3:/.test(l)));
  });

  it('builds the second LAN as its own bridge, with the nodes and the lan-client on it', () => {
    const plan = planLab({ nodes: 2 });
    const lines = switchBatch(plan);
    const br1 = lines.indexOf(
      'link add br1 type bridge stp_state 0 mcast_snooping 1 mcast_query_response_interval 10',
    );
    assert.ok(br1 > lines.indexOf('link set p-lan-client up'), 'after the LAN');
    assert.deepEqual(lines.slice(br1 + 1), [
      'link set br1 up',
      'link add s-node-1 type veth peer name eth1 netns portico-node-1',
      'link set s-node-1 master br1',
      'link set s-node-1 up',
      'link add s-node-2 type veth peer name eth1 netns portico-node-2',
      'link set s-node-2 master br1',
      'link set s-node-2 up',
      'link add s-lan-client type veth peer name eth1 netns portico-lan-client',
      'link set s-lan-client master br1',
      'link set s-lan-client up',
    ]);
    assert.ok(!lines.some((l) => l.includes('mcast_querier')), 'the querier starts later, and only on br0');
    // The LAN's port list (which the MLD snooping check watches) is br0's alone.
    assert.deepEqual(
      switchPorts(plan).map((p) => p.port),
      ['p-router', 'p-node-1', 'p-node-2', 'p-lan-client'],
    );
    assert.deepEqual(
      secondSwitchPorts(planLab({ nodes: 1, lanClient: false })).map((p) => p.port),
      ['s-node-1'],
    );
  });

  it('waits for IPv6 on both NICs of the nodes and the lan-client, and on none in IPv4-only mode', () => {
    const plan = planLab({ nodes: 2, mldSnooping: true });
    assert.deepEqual(ipv6Interfaces(plan), [
      { netns: 'portico-router', ifnames: ['eth0', 'eth1'] },
      { netns: 'portico-node-1', ifnames: ['eth0', 'eth1'] },
      { netns: 'portico-node-2', ifnames: ['eth0', 'eth1'] },
      { netns: 'portico-client', ifnames: ['eth0'] },
      { netns: 'portico-lan-client', ifnames: ['eth0', 'eth1'] },
      { netns: 'portico-switch', ifnames: ['br0'] },
    ]);
    assert.deepEqual(ipv6Interfaces(planLab({ ipv6: false })), []);
  });
});
