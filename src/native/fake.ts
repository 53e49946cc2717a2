// A pure-TypeScript NetworkIo for tests without privileges: hosts with interfaces on shared
// segments (one segment = one switch with its LAN). What it models:
// - Packet sockets: a frame sent on one interface reaches the packet sockets of the other
//   interfaces on its segment whose EtherType matches and whose BPF filter passes it (unicast
//   only to the interface owning the destination MAC, like a learning switch); never the sender.
// - ICMPv6 sockets: hop limit 255; multicast reaches an interface only if it is in the group
//   (joined by one of its sockets, or ff02::1, or its addresses' solicited-node groups).
// - UDP and TCP between the hosts of a segment (and to the host's own addresses); TTL 64 unless
//   set. TCP with MD5 keys that differ on the two sides, or a GTSM minTtl not met, times out
//   like the real thing; no listener gives ECONNREFUSED.
// The layers are separate: ICMPv6 messages are not visible to packet sockets, and frames built by
// hand do not reach ICMPv6, UDP or TCP sockets. Deliveries run on later event-loop turns;
// `await segment.flush()` (or settle()) waits for all of them.
import { systemError } from './errors.js';
import { canonical, familyOf, isLinkLocal, isLinkScope, solicitedNodeGroup } from './fake-ip.js';
import { schedule, settle } from './fake-schedule.js';
import { FakeIcmp6Socket, FakePacketSocket, FakeUdpTtlSocket } from './fake-sockets.js';
import { FakeTcpListener, fakeTcpConnect } from './fake-tcp.js';
import { formatMac } from './interfaces.js';
import type {
  Icmp6Handlers,
  Icmp6Socket,
  Icmp6SocketOptions,
  InterfaceInfo,
  NetworkIo,
  PacketHandlers,
  PacketSocket,
  PacketSocketOptions,
  TcpConnection,
  TcpConnectOptions,
  TcpListener,
  TcpListenerHandlers,
  TcpListenOptions,
  UdpHandlers,
  UdpTtlSocket,
  UdpTtlSocketOptions,
} from './types.js';

export { settle } from './fake-schedule.js';

export interface SentFrame {
  /** Undefined for a frame injected from outside. */
  readonly from: FakeInterface | undefined;
  readonly frame: Buffer;
}

export interface SentIcmp6 {
  readonly from: FakeInterface | undefined;
  readonly message: Buffer;
  readonly source: string;
  readonly destination: string;
  readonly hopLimit: number;
}

/** A broadcast domain: the interfaces attached to it see each other's frames. */
export class FakeSegment {
  /** Every frame sent on the segment, in order. */
  readonly frames: SentFrame[] = [];
  /** Every ICMPv6 message sent on the segment, in order, with the hop limit it was sent with. */
  readonly icmp6: SentIcmp6[] = [];
  readonly #interfaces = new Set<FakeInterface>();

  constructor(readonly name = 'segment') {}

  get interfaces(): readonly FakeInterface[] {
    return [...this.#interfaces];
  }

  /** Waits until every fake delivery so far (and those it triggers) has run. */
  flush(): Promise<void> {
    return settle();
  }

  /** A frame arriving from outside (e.g. from a client not modelled as a FakeHost). */
  injectFrame(frame: Uint8Array): void {
    this.carryFrame(undefined, Buffer.from(frame));
  }

  /** An ICMPv6 message arriving from outside, e.g. one with a hop limit other than 255. */
  injectIcmp6(packet: { message: Uint8Array; source: string; destination: string; hopLimit?: number }): void {
    const { message, source, destination, hopLimit = 255 } = packet;
    this.carryIcmp6(undefined, {
      message: Buffer.from(message),
      source: canonical(source),
      destination: canonical(destination),
      hopLimit,
    });
  }

  /** @internal */
  attach(iface: FakeInterface): void {
    this.#interfaces.add(iface);
  }

  /** @internal */
  carryFrame(from: FakeInterface | undefined, frame: Buffer): void {
    this.frames.push({ from, frame });
    for (const iface of this.#interfaces) {
      if (iface !== from && iface.up) iface.receiveFrame(frame);
    }
  }

  /** @internal */
  carryIcmp6(from: FakeInterface | undefined, packet: Omit<SentIcmp6, 'from'>): void {
    this.icmp6.push({ from, ...packet });
    for (const iface of this.#interfaces) {
      if (iface !== from && iface.up) iface.receiveIcmp6(packet);
    }
  }
}

export interface FakeInterfaceOptions {
  readonly name: string;
  /** Default: 02:00:00:<host number>:00:<interface number>. */
  readonly mac?: string;
  readonly mtu?: number;
  readonly addresses?: readonly string[];
}

export class FakeInterface implements InterfaceInfo {
  readonly name: string;
  readonly ifindex: number;
  readonly mac: string;
  readonly mtu: number;
  /** @internal */
  readonly packetSockets = new Set<FakePacketSocket>();
  /** @internal */
  readonly icmp6Sockets = new Set<FakeIcmp6Socket>();
  /** Link-layer multicast memberships added by packet sockets (recorded, not enforced). */
  readonly memberships = new Set<string>();
  readonly #addresses: string[];
  #up = true;

  constructor(
    readonly host: FakeHost,
    readonly segment: FakeSegment,
    options: FakeInterfaceOptions & { ifindex: number; mac: string },
  ) {
    this.name = options.name;
    this.ifindex = options.ifindex;
    this.mac = options.mac.toLowerCase();
    this.mtu = options.mtu ?? 1500;
    this.#addresses = (options.addresses ?? []).map(canonical);
  }

  get up(): boolean {
    return this.#up;
  }

  get addresses(): readonly string[] {
    return this.#addresses;
  }

  addAddress(address: string): void {
    const key = canonical(address);
    if (!this.#addresses.includes(key)) this.#addresses.push(key);
  }

  removeAddress(address: string): void {
    const index = this.#addresses.indexOf(canonical(address));
    if (index >= 0) this.#addresses.splice(index, 1);
  }

  hasAddress(address: string): boolean {
    return this.#addresses.includes(canonical(address));
  }

  /** Link down: nothing is sent or received, and packet sockets get ENETDOWN, as on Linux. */
  setLink(up: boolean): void {
    if (up === this.#up) return;
    this.#up = up;
    if (up) return;
    for (const socket of this.packetSockets) {
      schedule(() => socket.deliverError(systemError('ENETDOWN', 'recvmsg')));
    }
  }

  /** The IPv6 multicast groups this interface receives. */
  groups(): Set<string> {
    const groups = new Set<string>(['ff02::1']);
    for (const address of this.#addresses) {
      if (familyOf(address) === 'IPv6') groups.add(solicitedNodeGroup(address));
    }
    for (const socket of this.icmp6Sockets) for (const group of socket.groups) groups.add(group);
    return groups;
  }

  /** The address to send from towards `destination` when none is chosen. */
  sourceFor(destination: string): string | undefined {
    const family = familyOf(destination);
    const candidates = this.#addresses.filter((a) => familyOf(a) === family);
    const wantLinkLocal = isLinkScope(destination);
    return candidates.find((a) => family === 'IPv4' || isLinkLocal(a) === wantLinkLocal) ?? candidates[0];
  }

  info(): InterfaceInfo {
    return { name: this.name, ifindex: this.ifindex, mac: this.mac, mtu: this.mtu };
  }

  /** @internal */
  receiveFrame(frame: Buffer): void {
    const destination = formatMac(frame.subarray(0, 6));
    const multicast = (frame[0]! & 1) === 1;
    if (!multicast && destination !== this.mac) return;
    for (const socket of this.packetSockets) socket.offer(frame, destination);
  }

  /** @internal */
  receiveIcmp6(packet: Omit<SentIcmp6, 'from'>): void {
    const accepted = this.groups().has(packet.destination) || this.hasAddress(packet.destination);
    if (!accepted) return;
    for (const socket of this.icmp6Sockets) socket.offer(packet);
  }
}

export interface FakeHostOptions {
  /** false: opening packet and ICMPv6 sockets fails as without CAP_NET_RAW. */
  readonly netRaw?: boolean;
  /** false: binding ports below 1024 fails as without CAP_NET_BIND_SERVICE. */
  readonly netBindService?: boolean;
}

let hostCount = 0;

/** A machine: its interfaces, its sockets, and NetworkIo over them. */
export class FakeHost implements NetworkIo {
  readonly netRaw: boolean;
  readonly netBindService: boolean;
  /** @internal */
  readonly udpSockets = new Set<FakeUdpTtlSocket>();
  /** @internal */
  readonly tcpListeners = new Set<FakeTcpListener>();
  readonly #interfaces = new Map<string, FakeInterface>();
  readonly #number = ++hostCount;
  #nextPort = 32768;

  constructor(
    readonly name = `host-${hostCount + 1}`,
    options: FakeHostOptions = {},
  ) {
    this.netRaw = options.netRaw ?? true;
    this.netBindService = options.netBindService ?? true;
  }

  addInterface(segment: FakeSegment, options: FakeInterfaceOptions): FakeInterface {
    if (this.#interfaces.has(options.name))
      throw new Error(`${this.name} already has an interface ${options.name}`);
    const ifindex = this.#interfaces.size + 2; // 1 is lo
    const mac = options.mac ?? formatMac(Buffer.from([2, 0, 0, this.#number & 0xff, 0, ifindex & 0xff]));
    const iface = new FakeInterface(this, segment, { ...options, ifindex, mac });
    this.#interfaces.set(options.name, iface);
    segment.attach(iface);
    return iface;
  }

  get interfaces(): readonly FakeInterface[] {
    return [...this.#interfaces.values()];
  }

  interface(name: string): FakeInterface {
    const iface = this.#interfaces.get(name);
    if (!iface) throw systemError('ENODEV', 'if_nametoindex', `(no network interface named ${name})`);
    return iface;
  }

  ownsAddress(address: string): boolean {
    return this.interfaces.some((iface) => iface.hasAddress(address));
  }

  /** @internal A free ephemeral port. */
  allocatePort(inUse: (port: number) => boolean): number {
    for (let tries = 0; tries < 28232; tries++) {
      const port = this.#nextPort;
      this.#nextPort = port === 60999 ? 32768 : port + 1;
      if (!inUse(port)) return port;
    }
    throw systemError('EADDRINUSE', 'bind', '(no free port)');
  }

  /**
   * @internal Where a packet to `destination` goes: this host itself, or the host owning it on a
   * segment shared through an interface that is up, with the source address to use.
   */
  route(destination: string): { host: FakeHost; source: string | undefined } | undefined {
    if (this.ownsAddress(destination)) return { host: this, source: canonical(destination) };
    for (const iface of this.interfaces) {
      if (!iface.up) continue;
      for (const peer of iface.segment.interfaces) {
        if (peer !== iface && peer.up && peer.hasAddress(destination)) {
          return { host: peer.host, source: iface.sourceFor(destination) };
        }
      }
    }
    return undefined;
  }

  interfaceInfo(name: string): InterfaceInfo {
    return this.interface(name).info();
  }

  openPacket(options: PacketSocketOptions, handlers: PacketHandlers): PacketSocket {
    return new FakePacketSocket(this, options, handlers);
  }

  openIcmp6(options: Icmp6SocketOptions, handlers: Icmp6Handlers): Icmp6Socket {
    return new FakeIcmp6Socket(this, options, handlers);
  }

  openUdp(options: UdpTtlSocketOptions, handlers: UdpHandlers): UdpTtlSocket {
    return new FakeUdpTtlSocket(this, options, handlers);
  }

  tcpConnect(options: TcpConnectOptions): Promise<TcpConnection> {
    return fakeTcpConnect(this, options);
  }

  tcpListen(options: TcpListenOptions, handlers: TcpListenerHandlers): TcpListener {
    return new FakeTcpListener(this, options, handlers);
  }
}
