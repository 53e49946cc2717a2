// The raw network I/O the speaker needs beyond Node's own sockets: Ethernet frames (ARP),
// ICMPv6 with multicast group joins (NDP), TCP with MD5 keys and GTSM (BGP), and UDP that reads
// the received TTL (BFD). `NetworkIo` is implemented by the native addon (native-io.ts) and by a
// pure-TypeScript fake (fake.ts) for tests without privileges.
//
// Receiving is callback-based: the handlers are given when a socket is opened, so no message can
// arrive before anyone listens, and each socket has exactly one consumer. Handlers run on the event
// loop; an exception thrown by one is an uncaught exception, as with Node's own sockets. Sockets
// keep the process alive until closed.
import type { Duplex } from 'node:stream';

/** A classic BPF instruction, as in Linux's struct sock_filter: [code, jt, jf, k]. */
export type BpfInstruction = readonly [code: number, jt: number, jf: number, k: number];

export interface InterfaceInfo {
  readonly name: string;
  readonly ifindex: number;
  /** Lower case, colon separated: 02:00:00:00:00:01. */
  readonly mac: string;
  readonly mtu: number;
}

/** Linux's sll_pkttype: how a received frame was addressed relative to the receiving interface. */
export const PacketType = { host: 0, broadcast: 1, multicast: 2, otherHost: 3, outgoing: 4 } as const;

export interface PacketFrameInfo {
  /** One of PacketType. */
  readonly pkttype: number;
  readonly ifindex: number;
}

export interface PacketSocketOptions {
  /** Interface name, e.g. eth0. */
  readonly interface: string;
  /** Frames of this EtherType are received (0x0806 ARP, 0x86dd IPv6; 0x0003 for all). */
  readonly ethertype: number;
  /** Attached before the socket is bound, so no unfiltered frame is ever received. */
  readonly filter?: readonly BpfInstruction[];
}

export interface PacketHandlers {
  /** A frame received on the interface, Ethernet header included; never one this host sent. */
  onFrame(frame: Buffer, info: PacketFrameInfo): void;
  /** A receive error, e.g. ENETDOWN when the link goes down; the socket keeps receiving. */
  onError(error: Error): void;
}

/** An AF_PACKET socket bound to one interface and one EtherType. */
export interface PacketSocket {
  readonly interface: InterfaceInfo;
  readonly ethertype: number;
  /** Sends a whole Ethernet frame (header included) out of the interface. */
  send(frame: Uint8Array): void;
  /** Link-layer multicast membership (programs the NIC filter only; sends no MLD/IGMP). */
  addMembership(mac: string): void;
  dropMembership(mac: string): void;
  close(): void;
}

export interface Icmp6SocketOptions {
  readonly interface: string;
  /** ICMPv6 types to receive, e.g. [135] for neighbour solicitations; others are filtered in the kernel. */
  readonly types: readonly number[];
}

export interface Icmp6MessageInfo {
  readonly source: string;
  readonly destination: string;
  /** As received; NDP messages must be dropped unless it is 255 (RFC 4861). */
  readonly hopLimit: number;
  readonly ifindex: number;
}

export interface Icmp6Handlers {
  /** An ICMPv6 message (no IPv6 header) received on the interface. */
  onMessage(message: Buffer, info: Icmp6MessageInfo): void;
  onError(error: Error): void;
}

/** A raw ICMPv6 socket bound to one interface; sends with hop limit 255, and does not hear itself. */
export interface Icmp6Socket {
  readonly interface: InterfaceInfo;
  /** Sends an ICMPv6 message (checksum left zero: the kernel computes it). */
  send(message: Uint8Array, destination: string, options?: { readonly source?: string }): void;
  /** IP-layer join (the kernel sends MLD reports); joining a group twice is a no-op. */
  joinGroup(group: string): void;
  /** Leaving a group not joined is a no-op. */
  leaveGroup(group: string): void;
  close(): void;
}

export interface UdpTtlSocketOptions {
  /** Local address, or 0.0.0.0 / :: for any; an IPv6 socket is IPv6-only. */
  readonly address: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** TTL / hop limit of every datagram sent (255 for single-hop BFD); the system default otherwise. */
  readonly ttl?: number;
  readonly bindDevice?: string;
}

export interface UdpMessageInfo {
  readonly address: string;
  readonly port: number;
  /** The TTL / hop limit the datagram arrived with, or -1 if unknown. */
  readonly ttl: number;
}

export interface UdpHandlers {
  onMessage(data: Buffer, info: UdpMessageInfo): void;
  onError(error: Error): void;
}

export interface UdpTtlSocket {
  readonly address: string;
  readonly port: number;
  send(data: Uint8Array, address: string, port: number): void;
  close(): void;
}

/** TCP-MD5 (RFC 2385) key, as configured on routers: a password string or raw bytes (at most 80). */
export type TcpMd5Key = string | Uint8Array;

export interface TcpConnectOptions {
  readonly remote: string;
  readonly port: number;
  readonly local?: string;
  readonly localPort?: number;
  readonly md5Key?: TcpMd5Key;
  /** TTL / hop limit of the packets sent (255 with GTSM). */
  readonly ttl?: number;
  /** GTSM (RFC 5082): packets arriving with a lower TTL / hop limit are dropped. */
  readonly minTtl?: number;
  readonly bindDevice?: string;
  /** Rejects with ETIMEDOUT after this long (a key mismatch looks like a timeout: the SYN is dropped). */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface TcpConnection {
  /** A net.Socket from the native implementation. */
  readonly stream: Duplex;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

export interface TcpMd5Peer {
  /** A peer address, or a network with prefixLength (for dynamic neighbours). */
  readonly address: string;
  readonly prefixLength?: number;
}

export interface TcpListenOptions {
  readonly address: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly backlog?: number;
  readonly md5Peers?: readonly (TcpMd5Peer & { readonly key: TcpMd5Key })[];
  readonly ttl?: number;
  readonly minTtl?: number;
  readonly bindDevice?: string;
  /** For :: only: accept IPv6 only (default: IPv4 too, as IPv4-mapped addresses). */
  readonly v6Only?: boolean;
}

export interface TcpListenerHandlers {
  onConnection(connection: TcpConnection): void;
  onError(error: Error): void;
}

export interface TcpListener {
  readonly address: string;
  readonly port: number;
  /** Sets (or with null removes) the MD5 key for connections from a peer. */
  setMd5(peer: TcpMd5Peer, key: TcpMd5Key | null): void;
  /** Stops accepting; established connections stay open. */
  close(): void;
}

export interface NetworkIo {
  interfaceInfo(name: string): InterfaceInfo;
  openPacket(options: PacketSocketOptions, handlers: PacketHandlers): PacketSocket;
  openIcmp6(options: Icmp6SocketOptions, handlers: Icmp6Handlers): Icmp6Socket;
  openUdp(options: UdpTtlSocketOptions, handlers: UdpHandlers): UdpTtlSocket;
  tcpConnect(options: TcpConnectOptions): Promise<TcpConnection>;
  tcpListen(options: TcpListenOptions, handlers: TcpListenerHandlers): TcpListener;
}
