// The fake packet, ICMPv6 and UDP sockets of fake.ts.
import { runBpf } from './bpf.js';
import { MissingCapabilityError, socketSetupError, systemError } from './errors.js';
import type { FakeHost, FakeInterface, SentIcmp6 } from './fake.js';
import { canonical, familyOf, isWildcard } from './fake-ip.js';
import { schedule } from './fake-schedule.js';
import { parseMac } from './interfaces.js';
import {
  type BpfInstruction,
  type Icmp6Handlers,
  type Icmp6Socket,
  type Icmp6SocketOptions,
  type InterfaceInfo,
  type PacketHandlers,
  type PacketSocket,
  type PacketSocketOptions,
  PacketType,
  type UdpHandlers,
  type UdpMessageInfo,
  type UdpTtlSocket,
  type UdpTtlSocketOptions,
} from './types.js';

const ETH_P_ALL = 0x0003;
const DEFAULT_TTL = 64;

function closedError(syscall: string): Error {
  return systemError('EBADF', syscall, '(socket is closed)');
}

function requireRaw(host: FakeHost, action: string): void {
  if (!host.netRaw)
    throw new MissingCapabilityError(action, 'CAP_NET_RAW', { cause: systemError('EPERM', 'socket') });
}

export class FakePacketSocket implements PacketSocket {
  readonly interface: InterfaceInfo;
  readonly ethertype: number;
  readonly #iface: FakeInterface;
  readonly #filter: readonly BpfInstruction[] | undefined;
  readonly #handlers: PacketHandlers;
  #open = true;

  constructor(host: FakeHost, options: PacketSocketOptions, handlers: PacketHandlers) {
    this.#iface = host.interface(options.interface);
    requireRaw(host, `opening a packet socket on ${options.interface}`);
    if (!Number.isInteger(options.ethertype) || options.ethertype < 0 || options.ethertype > 0xffff) {
      throw new TypeError('ethertype must be 0..0xffff');
    }
    this.interface = this.#iface.info();
    this.ethertype = options.ethertype;
    this.#filter = options.filter?.length ? options.filter : undefined;
    this.#handlers = handlers;
    this.#iface.packetSockets.add(this);
  }

  send(frame: Uint8Array): void {
    if (!this.#open) throw closedError('sendto');
    if (frame.length < 14) throw new RangeError('an Ethernet frame has at least 14 bytes');
    if (!this.#iface.up) throw systemError('ENETDOWN', 'sendto');
    this.#iface.segment.carryFrame(this.#iface, Buffer.from(frame));
  }

  addMembership(mac: string): void {
    if (!this.#open) throw closedError('setsockopt');
    this.#iface.memberships.add(parseMac(mac).toString('hex'));
  }

  dropMembership(mac: string): void {
    if (!this.#open) throw closedError('setsockopt');
    this.#iface.memberships.delete(parseMac(mac).toString('hex'));
  }

  close(): void {
    this.#open = false;
    this.#iface.packetSockets.delete(this);
  }

  /** @internal A frame arriving on the interface, addressed to `destination` (a MAC). */
  offer(frame: Buffer, destination: string): void {
    const ethertype = frame.readUInt16BE(12);
    if (this.ethertype !== ETH_P_ALL && ethertype !== this.ethertype) return;
    const keep = this.#filter ? runBpf(this.#filter, frame) : frame.length;
    if (keep === 0) return;
    const pkttype =
      destination === 'ff:ff:ff:ff:ff:ff'
        ? PacketType.broadcast
        : destination === this.interface.mac
          ? PacketType.host
          : PacketType.multicast;
    const copy = Buffer.from(frame.subarray(0, keep));
    schedule(() => {
      if (this.#open) this.#handlers.onFrame(copy, { pkttype, ifindex: this.interface.ifindex });
    });
  }

  /** @internal */
  deliverError(error: Error): void {
    if (this.#open) this.#handlers.onError(error);
  }
}

export class FakeIcmp6Socket implements Icmp6Socket {
  readonly interface: InterfaceInfo;
  /** @internal The groups this socket joined. */
  readonly groups = new Set<string>();
  readonly #iface: FakeInterface;
  readonly #types: ReadonlySet<number>;
  readonly #handlers: Icmp6Handlers;
  #open = true;

  constructor(host: FakeHost, options: Icmp6SocketOptions, handlers: Icmp6Handlers) {
    this.#iface = host.interface(options.interface);
    requireRaw(host, `opening an ICMPv6 socket on ${options.interface}`);
    this.interface = this.#iface.info();
    this.#types = new Set(options.types);
    this.#handlers = handlers;
    this.#iface.icmp6Sockets.add(this);
  }

  send(message: Uint8Array, destination: string, options?: { readonly source?: string }): void {
    if (!this.#open) throw closedError('sendmsg');
    const to = canonical(destination);
    if (familyOf(to) !== 'IPv6') throw new TypeError(`not an IPv6 address: ${destination}`);
    if (!this.#iface.up) throw systemError('ENETDOWN', 'sendmsg', destination);
    // Any source, local or not: the real socket sets IPV6_FREEBIND so an NA can come from its VIP.
    const source =
      options?.source === undefined ? (this.#iface.sourceFor(to) ?? '::') : canonical(options.source);
    this.#iface.segment.carryIcmp6(this.#iface, {
      message: Buffer.from(message),
      source,
      destination: to,
      hopLimit: 255,
    });
  }

  joinGroup(group: string): void {
    if (!this.#open) throw closedError('setsockopt');
    this.groups.add(canonical(group));
  }

  leaveGroup(group: string): void {
    if (!this.#open) throw closedError('setsockopt');
    this.groups.delete(canonical(group));
  }

  close(): void {
    this.#open = false;
    this.groups.clear();
    this.#iface.icmp6Sockets.delete(this);
  }

  /** @internal A message the interface accepted. */
  offer(packet: Omit<SentIcmp6, 'from'>): void {
    const type = packet.message[0];
    if (type === undefined || !this.#types.has(type)) return;
    const message = Buffer.from(packet.message);
    const { source, destination, hopLimit } = packet;
    schedule(() => {
      if (this.#open)
        this.#handlers.onMessage(message, { source, destination, hopLimit, ifindex: this.interface.ifindex });
    });
  }
}

export class FakeUdpTtlSocket implements UdpTtlSocket {
  readonly address: string;
  readonly port: number;
  readonly #host: FakeHost;
  readonly #ttl: number;
  readonly #handlers: UdpHandlers;
  #open = true;

  constructor(host: FakeHost, options: UdpTtlSocketOptions, handlers: UdpHandlers) {
    const address = canonical(options.address);
    if (options.ttl !== undefined && !(options.ttl >= 1 && options.ttl <= 255))
      throw new RangeError('ttl must be 1..255');
    if (options.bindDevice !== undefined) host.interface(options.bindDevice);
    checkBindable(host, address, 'UDP', options);
    const clashes = (port: number): boolean =>
      [...host.udpSockets].some(
        (s) =>
          s.port === port &&
          familyOf(s.address) === familyOf(address) &&
          (s.address === address || isWildcard(s.address) || isWildcard(address)),
      );
    if (options.port !== 0 && clashes(options.port))
      throw systemError('EADDRINUSE', 'bind', `${address}:${options.port}`);
    this.#host = host;
    this.address = address;
    this.port = options.port === 0 ? host.allocatePort(clashes) : options.port;
    this.#ttl = options.ttl ?? DEFAULT_TTL;
    this.#handlers = handlers;
    host.udpSockets.add(this);
  }

  send(data: Uint8Array, address: string, port: number): void {
    if (!this.#open) throw closedError('sendto');
    const to = canonical(address);
    if (familyOf(to) !== familyOf(this.address))
      throw new TypeError(`address family differs from the socket's: ${to}`);
    if (!(port >= 1 && port <= 65535)) throw new RangeError('port must be 1..65535');
    const route = this.#host.route(to);
    if (!route) return; // like a datagram to an on-link address nobody answers ARP for: lost
    const source = isWildcard(this.address) ? route.source : this.address;
    if (source === undefined) return;
    const receiver = [...route.host.udpSockets].find(
      (s) =>
        s.port === port &&
        (s.address === to || (isWildcard(s.address) && familyOf(s.address) === familyOf(to))),
    );
    const copy = Buffer.from(data);
    const info: UdpMessageInfo = { address: source, port: this.port, ttl: this.#ttl };
    if (receiver) schedule(() => receiver.deliver(copy, info));
  }

  close(): void {
    this.#open = false;
    this.#host.udpSockets.delete(this);
  }

  /** @internal */
  deliver(data: Buffer, info: UdpMessageInfo): void {
    if (this.#open) this.#handlers.onMessage(data, info);
  }
}

/** What bind() refuses on a fake host: an address it does not have, a privileged port without the capability. */
export function checkBindable(
  host: FakeHost,
  address: string,
  protocol: 'TCP' | 'UDP',
  options: { address?: string; port: number; bindDevice?: string },
): void {
  try {
    if (!isWildcard(address) && !host.ownsAddress(address))
      throw systemError('EADDRNOTAVAIL', 'bind', address);
    if (options.port > 0 && options.port < 1024 && !host.netBindService)
      throw systemError('EACCES', 'bind', address);
  } catch (error) {
    throw socketSetupError(error, protocol, options);
  }
}
