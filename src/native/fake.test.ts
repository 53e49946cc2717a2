import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { halfWordFilter } from './bpf.js';
import { MissingCapabilityError } from './errors.js';
import { FakeHost, FakeSegment } from './fake.js';
import { parseMac } from './interfaces.js';
import type { Icmp6MessageInfo, PacketFrameInfo, TcpConnection, UdpMessageInfo } from './types.js';

const BROADCAST = 'ff:ff:ff:ff:ff:ff';
const ETH_ARP = 0x0806;
const ETH_IPV6 = 0x86dd;

function frame(destination: string, source: string, ethertype: number, payload: number[] = [0, 1]): Buffer {
  const header = Buffer.alloc(14);
  parseMac(destination).copy(header, 0);
  parseMac(source).copy(header, 6);
  header.writeUInt16BE(ethertype, 12);
  return Buffer.concat([header, Buffer.from(payload)]);
}

const noError = (error: Error): never => assert.fail(error);

function lan() {
  const segment = new FakeSegment('lan');
  const a = new FakeHost('a');
  const b = new FakeHost('b');
  const c = new FakeHost('c');
  const ethA = a.addInterface(segment, {
    name: 'eth0',
    addresses: ['192.0.2.11', '2001:db8::11', 'fe80::11'],
  });
  const ethB = b.addInterface(segment, {
    name: 'eth0',
    addresses: ['192.0.2.12', '2001:db8::12', 'fe80::12'],
  });
  const ethC = c.addInterface(segment, {
    name: 'eth0',
    addresses: ['192.0.2.13', '2001:db8::13', 'fe80::13'],
  });
  return { segment, a, b, c, ethA, ethB, ethC };
}

function packetCollector() {
  const frames: { frame: Buffer; info: PacketFrameInfo }[] = [];
  const errors: Error[] = [];
  return {
    frames,
    errors,
    handlers: {
      onFrame: (f: Buffer, info: PacketFrameInfo) => frames.push({ frame: f, info }),
      onError: (e: Error) => errors.push(e),
    },
  };
}

describe('FakeSegment packet sockets', () => {
  it('carries a frame to the other interfaces with a socket of its EtherType, not back to the sender', async () => {
    const { segment, a, b, c, ethA } = lan();
    const atA = packetCollector();
    const atB = packetCollector();
    const ipv6AtC = packetCollector();
    const sender = a.openPacket({ interface: 'eth0', ethertype: ETH_ARP }, atA.handlers);
    b.openPacket({ interface: 'eth0', ethertype: ETH_ARP }, atB.handlers);
    c.openPacket({ interface: 'eth0', ethertype: ETH_IPV6 }, ipv6AtC.handlers);
    const sent = frame(BROADCAST, ethA.mac, ETH_ARP);
    sender.send(sent);
    assert.equal(atB.frames.length, 0, 'delivered on a later turn of the event loop');
    await segment.flush();
    assert.deepEqual(atB.frames, [{ frame: sent, info: { pkttype: 1, ifindex: 2 } }]);
    assert.deepEqual(atA.frames, []);
    assert.deepEqual(ipv6AtC.frames, []);
    assert.equal(segment.frames.length, 1);
    assert.equal(segment.frames[0]?.from, ethA);
  });

  it('delivers unicast only to the owner of the destination MAC, and multicast to all', async () => {
    const { segment, a, b, c, ethA, ethB } = lan();
    const atB = packetCollector();
    const atC = packetCollector();
    const sender = a.openPacket({ interface: 'eth0', ethertype: ETH_IPV6 }, packetCollector().handlers);
    b.openPacket({ interface: 'eth0', ethertype: ETH_IPV6 }, atB.handlers);
    c.openPacket({ interface: 'eth0', ethertype: 0x0003 }, atC.handlers);
    sender.send(frame(ethB.mac, ethA.mac, ETH_IPV6));
    sender.send(frame('33:33:00:00:00:01', ethA.mac, ETH_IPV6));
    await segment.flush();
    assert.deepEqual(
      atB.frames.map((f) => f.info.pkttype),
      [0, 2],
    );
    assert.deepEqual(
      atC.frames.map((f) => f.info.pkttype),
      [2],
    );
  });

  it('honours the BPF filter, and segments are separate', async () => {
    const { segment, a, b, ethA } = lan();
    const other = new FakeSegment('other');
    const d = new FakeHost('d');
    d.addInterface(other, { name: 'eth0' });
    const requestsOnly = packetCollector();
    const atD = packetCollector();
    // ARP opcode at offset 20: 1 = request.
    b.openPacket(
      { interface: 'eth0', ethertype: ETH_ARP, filter: halfWordFilter(20, [1]) },
      requestsOnly.handlers,
    );
    d.openPacket({ interface: 'eth0', ethertype: ETH_ARP }, atD.handlers);
    const sender = a.openPacket({ interface: 'eth0', ethertype: ETH_ARP }, packetCollector().handlers);
    const arp = (opcode: number): Buffer =>
      frame(BROADCAST, ethA.mac, ETH_ARP, [0, 1, 8, 0, 6, 4, 0, opcode]);
    sender.send(arp(2));
    sender.send(arp(1));
    await segment.flush();
    assert.deepEqual(
      requestsOnly.frames.map((f) => f.frame.readUInt16BE(20)),
      [1],
    );
    assert.deepEqual(atD.frames, []);
  });

  it('a link that goes down reports ENETDOWN, carries nothing, and carries again when up', async () => {
    const { segment, a, b, ethA, ethB } = lan();
    const atB = packetCollector();
    const sender = a.openPacket({ interface: 'eth0', ethertype: ETH_ARP }, packetCollector().handlers);
    b.openPacket({ interface: 'eth0', ethertype: ETH_ARP }, atB.handlers);
    ethB.setLink(false);
    sender.send(frame(BROADCAST, ethA.mac, ETH_ARP));
    await segment.flush();
    assert.deepEqual(
      atB.errors.map((e) => (e as Error & { code: string }).code),
      ['ENETDOWN'],
    );
    assert.equal(atB.frames.length, 0);
    ethA.setLink(false);
    assert.throws(() => sender.send(frame(BROADCAST, ethA.mac, ETH_ARP)), { code: 'ENETDOWN' });
    ethA.setLink(true);
    ethB.setLink(true);
    sender.send(frame(BROADCAST, ethA.mac, ETH_ARP));
    await segment.flush();
    assert.equal(atB.frames.length, 1);
  });

  it('rejects short frames, unknown interfaces and use after close; records memberships', () => {
    const { a, ethA } = lan();
    const socket = a.openPacket({ interface: 'eth0', ethertype: ETH_ARP }, packetCollector().handlers);
    assert.throws(() => socket.send(Buffer.alloc(13)), RangeError);
    assert.throws(() => a.openPacket({ interface: 'eth9', ethertype: ETH_ARP }, packetCollector().handlers), {
      code: 'ENODEV',
    });
    socket.addMembership('33:33:FF:00:00:01');
    assert.deepEqual([...ethA.memberships], ['3333ff000001']);
    socket.dropMembership('33:33:ff:00:00:01');
    assert.deepEqual([...ethA.memberships], []);
    socket.close();
    assert.throws(() => socket.send(Buffer.alloc(60)), { code: 'EBADF' });
    assert.deepEqual(socket.interface, { name: 'eth0', ifindex: 2, mac: ethA.mac, mtu: 1500 });
  });

  it('without CAP_NET_RAW, raw sockets fail with the one-line capability message', () => {
    const segment = new FakeSegment();
    const host = new FakeHost('unprivileged', { netRaw: false });
    host.addInterface(segment, { name: 'eth0' });
    assert.throws(
      () => host.openPacket({ interface: 'eth0', ethertype: ETH_ARP }, packetCollector().handlers),
      {
        name: 'MissingCapabilityError',
        message: 'opening a packet socket on eth0 needs CAP_NET_RAW (run the speaker with that capability)',
      },
    );
    assert.throws(
      () => host.openIcmp6({ interface: 'eth0', types: [135] }, { onMessage: () => {}, onError: noError }),
      (error: unknown) => error instanceof MissingCapabilityError && error.capability === 'CAP_NET_RAW',
    );
  });
});

function icmpCollector() {
  const messages: { message: Buffer; info: Icmp6MessageInfo }[] = [];
  return {
    messages,
    handlers: {
      onMessage: (m: Buffer, info: Icmp6MessageInfo) => messages.push({ message: m, info }),
      onError: noError,
    },
  };
}

describe('FakeSegment ICMPv6 sockets', () => {
  const NS = Buffer.from([135, 0, 0, 0, 0, 0, 0, 0]);
  const GROUP = 'ff02::1:ff00:99';

  it('delivers multicast only to interfaces in the group, with hop limit 255', async () => {
    const { segment, a, b, c } = lan();
    const atB = icmpCollector();
    const atC = icmpCollector();
    const sender = a.openIcmp6({ interface: 'eth0', types: [135, 136] }, icmpCollector().handlers);
    const socketB = b.openIcmp6({ interface: 'eth0', types: [135] }, atB.handlers);
    c.openIcmp6({ interface: 'eth0', types: [135] }, atC.handlers);
    sender.send(NS, GROUP);
    await segment.flush();
    assert.equal(atB.messages.length, 0, 'not joined yet');
    socketB.joinGroup('FF02:0:0:0:0:1:FF00:99');
    socketB.joinGroup(GROUP);
    sender.send(NS, GROUP);
    await segment.flush();
    assert.deepEqual(atB.messages, [
      { message: NS, info: { source: 'fe80::11', destination: GROUP, hopLimit: 255, ifindex: 2 } },
    ]);
    assert.equal(atC.messages.length, 0);
    socketB.leaveGroup(GROUP);
    socketB.leaveGroup(GROUP);
    sender.send(NS, GROUP);
    await segment.flush();
    assert.equal(atB.messages.length, 1);
    assert.deepEqual(
      segment.icmp6.map((m) => m.hopLimit),
      [255, 255, 255],
    );
  });

  it('always receives all-nodes, its solicited-node groups and its unicast addresses; filters types', async () => {
    const { segment, a, b } = lan();
    const atB = icmpCollector();
    const sender = a.openIcmp6({ interface: 'eth0', types: [] }, icmpCollector().handlers);
    b.openIcmp6({ interface: 'eth0', types: [135] }, atB.handlers);
    sender.send(NS, 'ff02::1');
    sender.send(NS, 'ff02::1:ff00:12'); // solicited-node group of 2001:db8::12 and fe80::12
    sender.send(NS, '2001:db8::12', { source: '2001:db8::11' });
    sender.send(Buffer.from([136, 0, 0, 0]), 'ff02::1');
    await segment.flush();
    assert.deepEqual(
      atB.messages.map((m) => [m.info.destination, m.info.source]),
      [
        ['ff02::1', 'fe80::11'],
        ['ff02::1:ff00:12', 'fe80::11'],
        ['2001:db8::12', '2001:db8::11'],
      ],
    );
  });

  it('sends from a source address the host does not have (as IPV6_FREEBIND allows), and records injected hop limits', async () => {
    const { segment, a, b } = lan();
    const atB = icmpCollector();
    const sender = a.openIcmp6({ interface: 'eth0', types: [] }, icmpCollector().handlers);
    b.openIcmp6({ interface: 'eth0', types: [135] }, atB.handlers);
    sender.send(NS, 'ff02::1', { source: '2001:db8::99' });
    segment.injectIcmp6({ message: NS, source: 'fe80::99', destination: 'ff02::1', hopLimit: 64 });
    await segment.flush();
    assert.deepEqual(
      atB.messages.map((m) => [m.info.source, m.info.hopLimit]),
      [
        ['2001:db8::99', 255],
        ['fe80::99', 64],
      ],
    );
  });
});

describe('FakeHost UDP', () => {
  it('reports the TTL the sender set, and the source address and port', async () => {
    const { segment, a, b } = lan();
    const received: { data: string; info: UdpMessageInfo }[] = [];
    const receiver = b.openUdp(
      { address: '0.0.0.0', port: 3784 },
      { onMessage: (data, info) => received.push({ data: data.toString(), info }), onError: noError },
    );
    const sender = a.openUdp(
      { address: '192.0.2.11', port: 0, ttl: 255 },
      { onMessage: () => {}, onError: noError },
    );
    const defaultTtl = a.openUdp({ address: '0.0.0.0', port: 0 }, { onMessage: () => {}, onError: noError });
    assert.ok(sender.port >= 32768);
    sender.send(Buffer.from('bfd'), '192.0.2.12', receiver.port);
    defaultTtl.send(Buffer.from('plain'), '192.0.2.12', 3784);
    sender.send(Buffer.from('nobody'), '192.0.2.99', 3784);
    await segment.flush();
    assert.deepEqual(received, [
      { data: 'bfd', info: { address: '192.0.2.11', port: sender.port, ttl: 255 } },
      { data: 'plain', info: { address: '192.0.2.11', port: defaultTtl.port, ttl: 64 } },
    ]);
  });

  it('refuses a port in use, a foreign address, and privileged ports without CAP_NET_BIND_SERVICE', () => {
    const { b } = lan();
    const handlers = { onMessage: () => {}, onError: noError };
    b.openUdp({ address: '192.0.2.12', port: 3784 }, handlers);
    assert.throws(() => b.openUdp({ address: '0.0.0.0', port: 3784 }, handlers), { code: 'EADDRINUSE' });
    b.openUdp({ address: '::', port: 3784 }, handlers);
    assert.throws(() => b.openUdp({ address: '192.0.2.99', port: 0 }, handlers), { code: 'EADDRNOTAVAIL' });
    const segment = new FakeSegment();
    const host = new FakeHost('x', { netBindService: false });
    host.addInterface(segment, { name: 'eth0', addresses: ['192.0.2.50'] });
    assert.throws(() => host.openUdp({ address: '192.0.2.50', port: 500 }, handlers), {
      message:
        'binding UDP port 500 of 192.0.2.50 needs CAP_NET_BIND_SERVICE (run the speaker with that capability)',
    });
  });
});

async function readAll(connection: TcpConnection): Promise<string> {
  let text = '';
  for await (const chunk of connection.stream) text += String(chunk);
  return text;
}

describe('FakeHost TCP', () => {
  function tcpLan() {
    const net = lan();
    const accepted: TcpConnection[] = [];
    const listener = net.b.tcpListen(
      { address: '0.0.0.0', port: 179, md5Peers: [{ address: '192.0.2.11', key: 'sesame' }] },
      { onConnection: (c) => accepted.push(c), onError: noError },
    );
    return { ...net, accepted, listener };
  }

  it('connects with matching MD5 keys and carries data both ways, ending like TCP', async () => {
    const { segment, a, accepted } = tcpLan();
    const client = await a.tcpConnect({ remote: '192.0.2.12', port: 179, md5Key: 'sesame', timeoutMs: 100 });
    assert.equal(accepted.length, 1);
    const server = accepted[0]!;
    assert.deepEqual(
      [client.localAddress, client.remoteAddress, client.remotePort, server.remoteAddress, server.remotePort],
      ['192.0.2.11', '192.0.2.12', 179, '192.0.2.11', client.localPort],
    );
    const serverText = readAll(server);
    client.stream.write('OPEN');
    server.stream.write('KEEPALIVE');
    client.stream.end();
    assert.equal(await serverText, 'OPEN');
    assert.equal(await readAll(client), 'KEEPALIVE');
    await segment.flush();
  });

  it('times out with a mismatched or missing key, like a dropped SYN', async () => {
    const { a } = tcpLan();
    const started = Date.now();
    await assert.rejects(a.tcpConnect({ remote: '192.0.2.12', port: 179, md5Key: 'wrong', timeoutMs: 30 }), {
      code: 'ETIMEDOUT',
      syscall: 'connect',
    });
    assert.ok(Date.now() - started >= 25);
    await assert.rejects(a.tcpConnect({ remote: '192.0.2.12', port: 179, timeoutMs: 10 }), {
      code: 'ETIMEDOUT',
    });
  });

  it('refuses without a listener; honours keys set later, by prefix, and GTSM', async () => {
    const { a, c, listener } = tcpLan();
    await assert.rejects(a.tcpConnect({ remote: '192.0.2.12', port: 180, timeoutMs: 10 }), {
      code: 'ECONNREFUSED',
    });
    await assert.rejects(c.tcpConnect({ remote: '192.0.2.12', port: 179, md5Key: 'net', timeoutMs: 10 }), {
      code: 'ETIMEDOUT',
    });
    listener.setMd5({ address: '192.0.2.0', prefixLength: 24 }, 'net');
    await c.tcpConnect({ remote: '192.0.2.12', port: 179, md5Key: 'net', timeoutMs: 10 });
    listener.setMd5({ address: '192.0.2.11' }, null);
    await a.tcpConnect({ remote: '192.0.2.12', port: 179, md5Key: 'net', timeoutMs: 10 });

    const gtsm = c.tcpListen(
      { address: '192.0.2.13', port: 1179, minTtl: 255 },
      { onConnection: () => {}, onError: noError },
    );
    await assert.rejects(a.tcpConnect({ remote: '192.0.2.13', port: gtsm.port, timeoutMs: 10 }), {
      code: 'ETIMEDOUT',
    });
    await a.tcpConnect({ remote: '192.0.2.13', port: gtsm.port, ttl: 255, timeoutMs: 10 });
    gtsm.close();
    await assert.rejects(a.tcpConnect({ remote: '192.0.2.13', port: 1179, timeoutMs: 10 }), {
      code: 'ECONNREFUSED',
    });
  });

  it('an abort signal rejects a pending connect', async () => {
    const { a } = tcpLan();
    const controller = new AbortController();
    const pending = a.tcpConnect({
      remote: '192.0.2.12',
      port: 179,
      timeoutMs: 10_000,
      signal: controller.signal,
    });
    controller.abort(new Error('stopped'));
    await assert.rejects(pending, { message: 'stopped' });
  });
});
