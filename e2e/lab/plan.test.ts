import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ipaddr from 'ipaddr.js';
import { LabSpecError, namespaceFor, planLab, planNamespaces, SECOND_LAN_IF } from './plan.js';

const ALLOWED = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '198.18.0.0/15', '2001:db8::/32'].map(
  (c) => ipaddr.parseCIDR(c),
);

function inAllowedRange(text: string): boolean {
  const [addr] = text.includes('/') ? ipaddr.parseCIDR(text) : [ipaddr.parse(text)];
  return ALLOWED.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits));
}

/** Every address or prefix string anywhere in the plan. */
function addressesIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string' && (ipaddr.isValid(value) || ipaddr.isValidCIDR(value))) out.push(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) addressesIn(v, out);
  return out;
}

describe('lab plan', () => {
  it('uses only documentation and benchmarking ranges', () => {
    for (const plan of [planLab(), planLab({ nodes: 9, ipv6: true }), planLab({ ipv6: false })]) {
      const addresses = addressesIn(plan);
      assert.ok(addresses.length > 15, `found ${addresses.length} addresses`);
      for (const a of addresses) assert.ok(inAllowedRange(a), `${a} is outside the allowed ranges`);
    }
  });

  it('gives every node distinct addresses and pod CIDRs inside the pod supernet', () => {
    const plan = planLab({ nodes: 9 });
    const lan = plan.nodes.map((n) => n.lan.v4);
    assert.equal(new Set(lan).size, 9);
    assert.equal(new Set(plan.nodes.map((n) => n.podCidr.v6)).size, 9);
    const [v4net, v4bits] = ipaddr.parseCIDR(plan.podSupernet.v4);
    const [v6net, v6bits] = ipaddr.parseCIDR(plan.podSupernet.v6!);
    for (const n of plan.nodes) {
      assert.ok(ipaddr.parseCIDR(n.podCidr.v4)[0].match(v4net, v4bits));
      assert.ok(
        ipaddr.parseCIDR(n.podCidr.v6!)[0].match(v6net, v6bits),
        `${n.podCidr.v6} in ${plan.podSupernet.v6}`,
      );
      assert.ok(ipaddr.parse(n.podGateway.v4).match(ipaddr.parseCIDR(n.podCidr.v4)));
    }
    assert.ok(!lan.includes(plan.router.lan.v4) && !lan.includes(plan.lanClient!.address.v4));
  });

  it('puts every node and the lan-client on a second LAN that overlaps no other lab range', () => {
    const plan = planLab({ nodes: 9 });
    assert.equal(SECOND_LAN_IF, 'eth1');
    assert.equal(plan.switch.secondBridge, 'br1');
    assert.deepEqual(plan.secondLan, { v4: '198.51.100.128/25', v6: '2001:db8:0:3::/64' });
    const [n1, n9] = [plan.nodes[0]!, plan.nodes[8]!];
    assert.deepEqual(
      [n1.secondSwitchPort, n1.secondLan],
      ['s-node-1', { v4: '198.51.100.139', v6: '2001:db8:0:3::11' }],
    );
    assert.deepEqual(n9.secondLan, { v4: '198.51.100.147', v6: '2001:db8:0:3::19' });
    assert.equal(plan.lanClient!.secondSwitchPort, 's-lan-client');
    assert.deepEqual(plan.lanClient!.secondLan, { v4: '198.51.100.228', v6: '2001:db8:0:3::100' });
    // The client link gave up its upper half; router .1 and client .10 stay where they were.
    assert.equal(plan.client.link.v4, '198.51.100.0/25');
    assert.deepEqual([plan.router.clientLink.v4, plan.client.address.v4], ['198.51.100.1', '198.51.100.10']);

    const second = [...plan.nodes.map((n) => n.secondLan), plan.lanClient!.secondLan];
    for (const family of ['v4', 'v6'] as const) {
      const addrs = second.map((a) => a[family]!);
      assert.equal(new Set(addrs).size, addrs.length, `distinct ${family} addresses`);
      const segment = ipaddr.parseCIDR(plan.secondLan[family]!);
      for (const a of addrs) assert.ok(ipaddr.parse(a).match(segment), `${a} in ${plan.secondLan[family]}`);
      const others = [
        plan.lan[family],
        plan.client.link[family],
        plan.podSupernet[family],
        plan.serviceCidr[family],
      ];
      for (const other of others) {
        const [net, bits] = ipaddr.parseCIDR(other!);
        const [segNet, segBits] = segment;
        const overlap = segNet.match(net, Math.min(bits, segBits));
        assert.ok(!overlap, `${plan.secondLan[family]} overlaps ${other}`);
      }
    }
    const v4only = planLab({ ipv6: false });
    assert.equal(v4only.secondLan.v6, undefined);
    assert.ok(v4only.nodes.every((n) => n.secondLan.v6 === undefined));
    assert.equal(planLab({ lanClient: false }).lanClient, undefined);
  });

  it('names every namespace with the portico- prefix and keeps link names within 15 characters', () => {
    const plan = planLab({ nodes: 9 });
    for (const ns of planNamespaces(plan)) assert.match(ns, /^portico-/);
    const ports = [
      ...plan.nodes.flatMap((n) => [n.switchPort, n.secondSwitchPort]),
      plan.router.switchPort,
      plan.lanClient!.switchPort!,
      plan.lanClient!.secondSwitchPort,
      plan.controlPlane.switchPort,
    ];
    for (const port of ports) {
      assert.ok(port.length <= 15, `${port} is too long for a Linux interface name`);
    }
    assert.equal(new Set(ports).size, ports.length, 'switch ports share one namespace');
    assert.equal(new Set(planNamespaces(plan)).size, planNamespaces(plan).length);
  });

  it('drops every IPv6 address in IPv4-only mode', () => {
    const plan = planLab({ ipv6: false });
    assert.ok(addressesIn(plan).every((a) => !a.includes(':')));
  });

  it('maps exec names to namespaces', () => {
    const plan = planLab({ nodes: 2, lanClient: false });
    assert.equal(namespaceFor(plan, 'node-2'), 'portico-node-2');
    assert.equal(namespaceFor(plan, 'router'), 'portico-router');
    assert.equal(namespaceFor(plan, 'node-3'), undefined);
    assert.equal(namespaceFor(plan, 'lan-client'), undefined);
  });

  it('rejects impossible specs with one line', () => {
    assert.throws(() => planLab({ nodes: 0 }), LabSpecError);
    assert.throws(() => planLab({ nodes: 10 }), /1 to 9 nodes/);
    assert.throws(() => planLab({ router: 'quagga' as never }), /frr, bird or gobgp/);
  });
});
