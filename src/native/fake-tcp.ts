// The fake TCP of fake.ts: listeners with MD5 keys, connects that honour keys and GTSM, and
// in-memory connected stream pairs.
import { Duplex } from 'node:stream';
import { socketSetupError, systemError } from './errors.js';
import type { FakeHost } from './fake.js';
import { canonical, familyOf, inPrefix, isWildcard } from './fake-ip.js';
import { schedule } from './fake-schedule.js';
import { checkBindable } from './fake-sockets.js';
import type {
  TcpConnection,
  TcpConnectOptions,
  TcpListener,
  TcpListenerHandlers,
  TcpListenOptions,
  TcpMd5Key,
  TcpMd5Peer,
} from './types.js';

const DEFAULT_TTL = 64;

function keyBytes(key: TcpMd5Key | undefined): Buffer | undefined {
  if (key === undefined) return undefined;
  return typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
}

/** One end of an in-memory connection; like a net.Socket, it ends its side when the peer does. */
class FakeTcpStream extends Duplex {
  peer: FakeTcpStream | undefined;

  constructor() {
    super({ allowHalfOpen: false });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (!peer || peer.destroyed) {
      callback(systemError('EPIPE', 'write'));
      return;
    }
    const copy = Buffer.from(chunk);
    schedule(() => {
      if (!peer.destroyed) peer.push(copy);
    });
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#endPeer();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#endPeer();
    callback(error);
  }

  #endPeer(): void {
    const peer = this.peer;
    if (peer) schedule(() => !peer.destroyed && !peer.readableEnded && peer.push(null));
  }
}

function streamPair(): [FakeTcpStream, FakeTcpStream] {
  const a = new FakeTcpStream();
  const b = new FakeTcpStream();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

function sameKey(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

export class FakeTcpListener implements TcpListener {
  readonly address: string;
  readonly port: number;
  readonly ttl: number;
  readonly minTtl: number;
  readonly v6Only: boolean;
  readonly #host: FakeHost;
  readonly #handlers: TcpListenerHandlers;
  readonly #keys = new Map<string, { peer: TcpMd5Peer; key: Buffer }>();
  #open = true;

  constructor(host: FakeHost, options: TcpListenOptions, handlers: TcpListenerHandlers) {
    const address = canonical(options.address);
    checkBindable(host, address, 'TCP', options);
    const clashes = (port: number): boolean =>
      [...host.tcpListeners].some(
        (l) => l.port === port && (l.address === address || isWildcard(l.address) || isWildcard(address)),
      );
    if (options.port !== 0 && clashes(options.port))
      throw systemError('EADDRINUSE', 'bind', `${address}:${options.port}`);
    this.#host = host;
    this.address = address;
    this.port = options.port === 0 ? host.allocatePort(clashes) : options.port;
    this.ttl = options.ttl ?? DEFAULT_TTL;
    this.minTtl = options.minTtl ?? 0;
    this.v6Only = options.v6Only ?? false;
    this.#handlers = handlers;
    for (const { key, ...peer } of options.md5Peers ?? []) this.setMd5(peer, key);
    host.tcpListeners.add(this);
  }

  setMd5(peer: TcpMd5Peer, key: TcpMd5Key | null): void {
    if (!this.#open) throw systemError('EBADF', 'setsockopt');
    const bits = familyOf(peer.address) === 'IPv4' ? 32 : 128;
    const prefixLength = peer.prefixLength ?? bits;
    const id = `${canonical(peer.address)}/${prefixLength}`;
    if (key === null) this.#keys.delete(id);
    else this.#keys.set(id, { peer: { address: peer.address, prefixLength }, key: keyBytes(key)! });
  }

  close(): void {
    this.#open = false;
    this.#host.tcpListeners.delete(this);
  }

  /** @internal Whether this listener takes connections to `address`. */
  accepts(address: string, port: number): boolean {
    if (port !== this.port) return false;
    if (this.address === address) return true;
    if (!isWildcard(this.address)) return false;
    return (
      familyOf(this.address) === familyOf(address) || (familyOf(this.address) === 'IPv6' && !this.v6Only)
    );
  }

  /** @internal The key for connections from `source`: the longest matching prefix. */
  keyFor(source: string): Buffer | undefined {
    let best: { length: number; key: Buffer } | undefined;
    for (const { peer, key } of this.#keys.values()) {
      const length = peer.prefixLength ?? 0;
      if (inPrefix(source, peer.address, length) && (!best || length > best.length)) best = { length, key };
    }
    return best?.key;
  }

  /** @internal */
  accept(connection: TcpConnection): void {
    if (this.#open) this.#handlers.onConnection(connection);
  }
}

export function fakeTcpConnect(host: FakeHost, options: TcpConnectOptions): Promise<TcpConnection> {
  return new Promise<TcpConnection>((resolve, reject) => {
    const { signal } = options;
    signal?.throwIfAborted();
    if (!(options.timeoutMs > 0)) throw new RangeError('timeoutMs must be a positive number');
    if (!(options.port >= 1 && options.port <= 65535)) throw new RangeError('port must be 1..65535');
    const remote = canonical(options.remote);
    const peer = `${remote}:${options.port}`;
    const route = host.route(remote);
    let source = options.local === undefined ? route?.source : canonical(options.local);
    if (source !== undefined && options.local !== undefined && !host.ownsAddress(source)) {
      throw systemError('EADDRNOTAVAIL', 'bind', source);
    }
    if (
      options.localPort !== undefined &&
      options.localPort > 0 &&
      options.localPort < 1024 &&
      !host.netBindService
    ) {
      throw socketSetupError(systemError('EACCES', 'bind'), 'TCP', {
        address: source,
        port: options.localPort,
      });
    }
    const listener = route && [...route.host.tcpListeners].find((l) => l.accepts(remote, options.port));
    if (route && !listener) {
      schedule(() => reject(systemError('ECONNREFUSED', 'connect', peer)));
      return;
    }
    source ??= familyOf(remote) === 'IPv4' ? '0.0.0.0' : '::';
    const dropped =
      !route ||
      !listener ||
      !sameKey(listener.keyFor(source), keyBytes(options.md5Key)) ||
      listener.minTtl > (options.ttl ?? DEFAULT_TTL) ||
      (options.minTtl ?? 0) > listener.ttl;
    if (dropped) {
      // The SYN (or SYN-ACK) is silently dropped, so the connect times out as on Linux.
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        reject(systemError('ETIMEDOUT', 'connect', peer));
      }, options.timeoutMs);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      return;
    }
    const localPort = options.localPort || host.allocatePort(() => false);
    const [near, far] = streamPair();
    schedule(() => {
      if (signal?.aborted) {
        near.destroy();
        far.destroy();
        reject(signal.reason);
        return;
      }
      listener.accept({
        stream: far,
        localAddress: remote,
        localPort: options.port,
        remoteAddress: source,
        remotePort: localPort,
      });
      resolve({
        stream: near,
        localAddress: source,
        localPort,
        remoteAddress: remote,
        remotePort: options.port,
      });
    });
  });
}
