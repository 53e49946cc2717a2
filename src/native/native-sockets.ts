// PacketSocket, Icmp6Socket and UdpTtlSocket over the native addon.
import { formatIP, parseIP } from '../api/address.js';
import {
  type AddonIcmp6Socket,
  type AddonPacketSocket,
  type AddonUdpSocket,
  loadAddon,
  type NativeAddon,
} from './addon.js';
import { needing, socketSetupError } from './errors.js';
import { parseMac, readInterface } from './interfaces.js';
import type {
  Icmp6Handlers,
  Icmp6Socket,
  Icmp6SocketOptions,
  InterfaceInfo,
  PacketHandlers,
  PacketSocket,
  PacketSocketOptions,
  UdpHandlers,
  UdpTtlSocket,
  UdpTtlSocketOptions,
} from './types.js';

export class NativePacketSocket implements PacketSocket {
  readonly interface: InterfaceInfo;
  readonly ethertype: number;
  readonly #socket: AddonPacketSocket;

  constructor(options: PacketSocketOptions, handlers: PacketHandlers, addon: NativeAddon = loadAddon()) {
    this.interface = readInterface(options.interface);
    this.ethertype = options.ethertype;
    const { ifindex } = this.interface;
    const filter = options.filter?.length ? options.filter : undefined;
    this.#socket = needing(
      `opening a packet socket on ${options.interface}`,
      'CAP_NET_RAW',
      () =>
        new addon.PacketSocket(
          { ifindex, ethertype: options.ethertype, filter },
          (...[error, frame, info]) => {
            if (error) handlers.onError(error);
            else handlers.onFrame(frame, info);
          },
        ),
    );
  }

  send(frame: Uint8Array): void {
    this.#socket.send(frame);
  }

  addMembership(mac: string): void {
    this.#socket.addMembership(parseMac(mac));
  }

  dropMembership(mac: string): void {
    this.#socket.dropMembership(parseMac(mac));
  }

  close(): void {
    this.#socket.close();
  }

  /** Lets the process exit while this socket is open (as net.Socket#unref). */
  unref(): void {
    this.#socket.unref();
  }

  ref(): void {
    this.#socket.ref();
  }
}

export class NativeIcmp6Socket implements Icmp6Socket {
  readonly interface: InterfaceInfo;
  readonly #socket: AddonIcmp6Socket;
  readonly #groups = new Set<string>();

  constructor(options: Icmp6SocketOptions, handlers: Icmp6Handlers, addon: NativeAddon = loadAddon()) {
    this.interface = readInterface(options.interface);
    const { ifindex, name } = this.interface;
    this.#socket = needing(
      `opening an ICMPv6 socket on ${name}`,
      'CAP_NET_RAW',
      () =>
        new addon.Icmp6Socket(
          { ifindex, ifname: name, types: options.types },
          (...[error, message, info]) => {
            if (error) handlers.onError(error);
            else handlers.onMessage(message, info);
          },
        ),
    );
  }

  send(message: Uint8Array, destination: string, options?: { readonly source?: string }): void {
    this.#socket.send(message, destination, options?.source);
  }

  joinGroup(group: string): void {
    const key = formatIP(parseIP(group));
    if (this.#groups.has(key)) return;
    this.#socket.joinGroup(key);
    this.#groups.add(key);
  }

  leaveGroup(group: string): void {
    const key = formatIP(parseIP(group));
    if (!this.#groups.has(key)) return;
    this.#socket.leaveGroup(key);
    this.#groups.delete(key);
  }

  close(): void {
    this.#socket.close();
    this.#groups.clear();
  }

  unref(): void {
    this.#socket.unref();
  }

  ref(): void {
    this.#socket.ref();
  }
}

export class NativeUdpTtlSocket implements UdpTtlSocket {
  readonly address: string;
  readonly port: number;
  readonly #socket: AddonUdpSocket;

  constructor(options: UdpTtlSocketOptions, handlers: UdpHandlers, addon: NativeAddon = loadAddon()) {
    const { address, port, ttl, bindDevice } = options;
    try {
      this.#socket = new addon.UdpSocket({ address, port, ttl, bindDevice }, (...[error, data, info]) => {
        if (error) handlers.onError(error);
        else handlers.onMessage(data, info);
      });
    } catch (error) {
      throw socketSetupError(error, 'UDP', options);
    }
    const local = this.#socket.address();
    this.address = local.address;
    this.port = local.port;
  }

  send(data: Uint8Array, address: string, port: number): void {
    this.#socket.send(data, address, port);
  }

  close(): void {
    this.#socket.close();
  }

  unref(): void {
    this.#socket.unref();
  }

  ref(): void {
    this.#socket.ref();
  }
}
