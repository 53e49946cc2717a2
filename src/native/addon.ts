// The native addon (native/, built by `npm install`): its raw JS surface, and loading it.
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import type { BpfInstruction, Icmp6MessageInfo, PacketFrameInfo, UdpMessageInfo } from './types.js';

/** Called with (null, data, info) per message, or (error) on a receive error. */
export type AddonReceiver<Info> = (...args: [error: Error] | [error: null, data: Buffer, info: Info]) => void;

interface AddonSocket {
  close(): void;
  ref(): void;
  unref(): void;
}

export interface AddonPacketSocket extends AddonSocket {
  send(frame: Uint8Array): void;
  addMembership(mac: Uint8Array): void;
  dropMembership(mac: Uint8Array): void;
}

export interface AddonIcmp6Socket extends AddonSocket {
  send(message: Uint8Array, destination: string, source?: string): void;
  joinGroup(group: string): void;
  leaveGroup(group: string): void;
}

export interface AddonUdpSocket extends AddonSocket {
  send(data: Uint8Array, address: string, port: number): void;
  address(): { address: string; port: number };
}

export interface AddonTcpOptions {
  ttl?: number;
  minTtl?: number;
  bindDevice?: string;
}

export interface AddonTcpConnectOptions extends AddonTcpOptions {
  remote: string;
  port: number;
  local?: string;
  localPort?: number;
  md5Key?: Uint8Array;
  timeoutMs: number;
}

export interface AddonTcpListenOptions extends AddonTcpOptions {
  address: string;
  port: number;
  backlog?: number;
  v6Only?: boolean;
  md5Peers?: { address: string; prefixLength?: number; key: Uint8Array }[];
}

export interface NativeAddon {
  PacketSocket: new (
    options: { ifindex: number; ethertype: number; filter?: readonly BpfInstruction[] },
    receiver: AddonReceiver<PacketFrameInfo>,
  ) => AddonPacketSocket;
  Icmp6Socket: new (
    options: { ifindex: number; ifname: string; types: readonly number[] },
    receiver: AddonReceiver<Icmp6MessageInfo>,
  ) => AddonIcmp6Socket;
  UdpSocket: new (
    options: { address: string; port: number; ttl?: number; bindDevice?: string },
    receiver: AddonReceiver<UdpMessageInfo>,
  ) => AddonUdpSocket;
  /**
   * The callback gets the connected socket's fd, which the caller then owns. Returns a function
   * that cancels the connect (closing the socket; the callback is then never called).
   */
  tcpConnect(
    options: AddonTcpConnectOptions,
    callback: (...args: [error: Error] | [error: null, fd: number]) => void,
  ): () => void;
  /** A listening socket's fd. */
  tcpListen(options: AddonTcpListenOptions): number;
  /** A null key removes the peer's key. */
  setMd5(fd: number, address: string, prefixLength: number | undefined, key: Uint8Array | null): void;
}

/** The native addon is missing or cannot be loaded. */
export class NativeAddonError extends Error {
  override readonly name = 'NativeAddonError';
}

const root = packageRoot(import.meta.url);
export const ADDON_PATH = join(root, 'native', 'build', 'Release', 'portico_native.node');

const loaded = new Map<string, NativeAddon>();

/** Loads the addon once per path; a NativeAddonError says, in one line, how to build it. */
export function loadAddon(path: string = ADDON_PATH): NativeAddon {
  const cached = loaded.get(path);
  if (cached) return cached;
  if (process.platform !== 'linux') {
    throw new NativeAddonError(
      `the native addon is Linux-only; raw sockets are not available on ${process.platform}`,
    );
  }
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (error) {
    const shown = relative(root, path).startsWith('..') ? path : relative(root, path);
    const code = (error as { code?: unknown }).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ENOENT') {
      throw new NativeAddonError(
        `the native addon is not built (${shown} is missing): install g++, make and python3, then run npm rebuild`,
        { cause: error },
      );
    }
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new NativeAddonError(
      `the native addon ${shown} cannot be loaded (${reason}): rebuild it with npm rebuild`,
      {
        cause: error,
      },
    );
  }
  loaded.set(path, addon);
  return addon;
}
