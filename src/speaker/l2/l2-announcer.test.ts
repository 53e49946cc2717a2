import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { FakeHost, FakeSegment } from '../../native/fake.js';
import type { Clock, Timer } from '../../util/clock.js';
import { silentLogger } from '../../util/logger.js';
import { ARP_REPLY, ARP_REQUEST, decodeArp, encodeArpFrame } from './arp.js';
import { decodeEthernet } from './ethernet.js';
import { ipv6ToText, parseIpBytes } from './ip-bytes.js';
import { L2Announcer } from './l2-announcer.js';
import { l2Metrics } from './l2-metrics.js';
import { BROADCAST_MAC, ZERO_MAC } from './mac.js';
import { decodeNdp, encodeNdp } from './ndp.js';
import { solicitedNodeAddress } from './ndp-addresses.js';

/** A clock whose timers run only when the test advances it. */
class ManualClock implements Clock {
  private t = 0;
  private timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  now(): number {
    return this.t;
  }
  wallNow(): number {
    return this.t;
  }
  setTimer(delayMs: number, fn: () => void): Timer {
    const timer = { at: this.t + delayMs, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }
  sleep(): Promise<void> {
    return Promise.resolve();
  }
  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      const next = this.timers.filter((x) => !x.cancelled && x.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.t = next.at;
      next.cancelled = true;
      next.fn();
    }
    this.t = until;
  }
}

const bytes = (ip: string) => {
  const p = parseIpBytes(ip);
  if (!p.ok) throw new Error(p.error);
  return p.value.bytes;
};
const mac = (text: string) => Buffer.from(text.split(':').map((h) => Number.parseInt(h, 16)));

function setup() {
  const segment = new FakeSegment('lan');
  const node = new FakeHost('node');
  const eth0 = node.addInterface(segment, {
    name: 'eth0',
    mac: '02:00:00:00:00:0a',
    addresses: ['192.0.2.10', 'fe80::a'],
  });
  const client = new FakeHost('client');
  const clientIf = client.addInterface(segment, {
    name: 'eth0',
    mac: '02:00:00:00:00:64',
    addresses: ['192.0.2.100', 'fe80::64'],
  });
  const clock = new ManualClock();
  const registry = new Registry();
  const announcer = new L2Announcer({ io: node, clock, logger: silentLogger, metrics: l2Metrics(registry) });
  announcer.setInterfaces([{ name: 'eth0', ifindex: eth0.ifindex, mac: eth0.mac, arp: true, ndp: true }]);
  const arpFrom = (since: number) =>
    segment.frames
      .slice(since)
      .filter((f) => f.from === eth0)
      .map((f) => {
        const eth = decodeEthernet(f.frame);
        assert.ok(eth.ok);
        const arp = decodeArp(eth.value.payload);
        assert.ok(arp.ok);
        return { dst: eth.value.destination.toString('hex'), ...arp.value };
      });
  const arpRequest = (vip: string) =>
    encodeArpFrame(BROADCAST_MAC, mac(clientIf.mac), {
      operation: ARP_REQUEST,
      senderMac: mac(clientIf.mac),
      senderIp: bytes('192.0.2.100'),
      targetMac: ZERO_MAC,
      targetIp: bytes(vip),
    });
  return { segment, eth0, clientIf, clock, announcer, registry, arpFrom, arpRequest };
}

describe('L2 announcer over a fake segment', () => {
  it('answers ARP for an owned address only, and goes silent the moment it is given up', async () => {
    const { segment, announcer, arpFrom, arpRequest } = setup();
    let mark = segment.frames.length;
    segment.injectFrame(arpRequest('203.0.113.10'));
    await segment.flush();
    assert.deepEqual(arpFrom(mark), [], 'no answer for an address not owned');

    announcer.setOwned(new Map([['203.0.113.10', { interfaces: 'all' }]]));
    mark = segment.frames.length;
    segment.injectFrame(arpRequest('203.0.113.10'));
    await segment.flush();
    const replies = arpFrom(mark);
    assert.equal(replies.length, 1);
    assert.equal(replies[0]!.operation, ARP_REPLY);
    assert.equal(replies[0]!.dst, '020000000064', 'unicast to the requester');
    assert.equal(replies[0]!.senderMac.toString('hex'), '02000000000a');

    announcer.setOwned(new Map());
    mark = segment.frames.length;
    segment.injectFrame(arpRequest('203.0.113.10'));
    await segment.flush();
    assert.deepEqual(arpFrom(mark), []);
    announcer.close();
  });

  it('sends both gratuitous ARP forms at takeover and every second for five seconds, then stops', async () => {
    const { segment, announcer, arpFrom, clock } = setup();
    const mark = segment.frames.length;
    announcer.setOwned(new Map([['203.0.113.10', { interfaces: 'all' }]]));
    clock.advance(10_000);
    await segment.flush();
    const sent = arpFrom(mark);
    assert.equal(sent.length, 12, 'six rounds of request + reply form');
    assert.deepEqual(
      sent.slice(0, 2).map((a) => [a.operation, a.dst, a.targetMac.toString('hex')]),
      [
        [ARP_REQUEST, 'ffffffffffff', '000000000000'],
        [ARP_REPLY, 'ffffffffffff', '02000000000a'],
      ],
    );
    announcer.close();
  });

  it('does not answer on an interface the advertisements leave out', async () => {
    const { segment, announcer, arpFrom, arpRequest } = setup();
    announcer.setOwned(new Map([['203.0.113.10', { interfaces: ['eth1'] }]]));
    const mark = segment.frames.length;
    segment.injectFrame(arpRequest('203.0.113.10'));
    await segment.flush();
    assert.deepEqual(arpFrom(mark), []);
    announcer.close();
  });

  it('joins the solicited-node group of an owned IPv6 address, answers its NS, and leaves it when disowned', async () => {
    const { segment, announcer, clientIf } = setup();
    const vip = '2001:db8:0:100::10';
    const group = ipv6ToText(solicitedNodeAddress(bytes(vip)));
    const ns = encodeNdp(
      { kind: 'neighbor-solicitation', code: 0, target: bytes(vip), sourceLinkAddress: mac(clientIf.mac) },
      { source: bytes('fe80::64'), destination: bytes(group) },
    );
    const answers = () => segment.icmp6.filter((m) => m.message[0] === 136 && m.destination === 'fe80::64');
    segment.injectIcmp6({ message: ns, source: 'fe80::64', destination: group });
    await segment.flush();
    assert.equal(answers().length, 0, 'not joined: the NS does not even arrive');

    announcer.setOwned(new Map([[vip, { interfaces: 'all' }]]));
    segment.injectIcmp6({ message: ns, source: 'fe80::64', destination: group });
    await segment.flush();
    assert.equal(answers().length, 1);
    const na = decodeNdp(answers()[0]!.message);
    assert.ok(na.ok && na.value.message.kind === 'neighbor-advertisement');
    assert.equal(na.value.message.solicited, true);
    assert.equal(answers()[0]!.source, vip, 'sourced from the VIP');
    assert.equal(answers()[0]!.hopLimit, 255);

    // A solicitation with another hop limit was forwarded by a router: dropped.
    segment.injectIcmp6({ message: ns, source: 'fe80::64', destination: group, hopLimit: 64 });
    announcer.setOwned(new Map());
    segment.injectIcmp6({ message: ns, source: 'fe80::64', destination: group });
    await segment.flush();
    assert.equal(answers().length, 1);
    announcer.close();
  });
});
