// TCP connections and listeners with MD5 keys, TTL and GTSM, over the native addon: the addon
// creates and connects (or listens on) the socket, and Node's net module takes over its fd.
import { Server, Socket } from 'node:net';
import { type AddonTcpListenOptions, loadAddon, type NativeAddon } from './addon.js';
import { socketSetupError } from './errors.js';
import type {
  TcpConnection,
  TcpConnectOptions,
  TcpListener,
  TcpListenerHandlers,
  TcpListenOptions,
  TcpMd5Key,
  TcpMd5Peer,
} from './types.js';

function keyBytes(key: TcpMd5Key): Buffer {
  return typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
}

function connectionOf(socket: Socket): TcpConnection {
  return {
    stream: socket,
    localAddress: socket.localAddress ?? '',
    localPort: socket.localPort ?? 0,
    remoteAddress: socket.remoteAddress ?? '',
    remotePort: socket.remotePort ?? 0,
  };
}

/** Connects (MD5 key set before the SYN); the connection's stream is a net.Socket. */
export function tcpConnect(
  options: TcpConnectOptions,
  addon: NativeAddon = loadAddon(),
): Promise<TcpConnection> {
  const { signal, md5Key, ...rest } = options;
  return new Promise<TcpConnection>((resolve, reject) => {
    signal?.throwIfAborted();
    const request = { ...rest, md5Key: md5Key === undefined ? undefined : keyBytes(md5Key) };
    let cancel: () => void;
    const onAbort = (): void => {
      cancel();
      reject(signal?.reason);
    };
    try {
      cancel = addon.tcpConnect(request, (...[error, fd]) => {
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(connectionOf(new Socket({ fd, readable: true, writable: true })));
      });
    } catch (error) {
      const { local: address, localPort: port, bindDevice } = options;
      throw socketSetupError(error, 'TCP', { address, port, bindDevice });
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Sets (or with null removes) the MD5 key for `peer` on a TCP socket's fd. */
export function setMd5(
  fd: number,
  peer: TcpMd5Peer,
  key: TcpMd5Key | null,
  addon: NativeAddon = loadAddon(),
): void {
  addon.setMd5(fd, peer.address, peer.prefixLength, key === null ? null : keyBytes(key));
}

export class NativeTcpListener implements TcpListener {
  readonly address: string;
  readonly port: number;
  readonly #fd: number;
  readonly #server: Server;
  readonly #addon: NativeAddon;

  constructor(options: TcpListenOptions, handlers: TcpListenerHandlers, addon: NativeAddon = loadAddon()) {
    const request: AddonTcpListenOptions = {
      ...options,
      md5Peers: options.md5Peers?.map((peer) => ({ ...peer, key: keyBytes(peer.key) })),
    };
    try {
      this.#fd = addon.tcpListen(request);
    } catch (error) {
      throw socketSetupError(error, 'TCP', options);
    }
    this.#addon = addon;
    this.#server = new Server((socket) => handlers.onConnection(connectionOf(socket)));
    this.#server.on('error', (error) => handlers.onError(error));
    this.#server.listen({ fd: this.#fd });
    const bound = this.#server.address();
    this.address = bound !== null && typeof bound === 'object' ? bound.address : options.address;
    this.port = bound !== null && typeof bound === 'object' ? bound.port : options.port;
  }

  setMd5(peer: TcpMd5Peer, key: TcpMd5Key | null): void {
    setMd5(this.#fd, peer, key, this.#addon);
  }

  close(): void {
    this.#server.close();
  }

  unref(): void {
    this.#server.unref();
  }

  ref(): void {
    this.#server.ref();
  }
}
