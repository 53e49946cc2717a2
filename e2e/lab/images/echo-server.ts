/**
 * The `portico-lab/echo` image: an HTTP server answering every request with JSON that names the
 * request it saw and who served it, the contract of the Kubernetes ingress conformance echo server
 * (path, host, method, proto, headers, namespace, ingress, service, pod) plus node, podIp and the
 * client's address. `/healthz` (and the conformance `/health`) answer 'ok' for readiness probes;
 * `?status=NNN` picks the status and `?delayMs=N` (at most 10 s) delays the answer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoIdentity {
  pod: string;
  node: string;
  namespace: string;
  service?: string;
  podIp?: string;
}

export interface EchoServerOptions {
  port: number;
  /** Default '::' (dual-stack), falling back to '0.0.0.0' where the kernel has no IPv6. */
  host?: string;
  identity: EchoIdentity;
}

/** What every non-health request gets back. */
export interface EchoResponse {
  path: string;
  host: string;
  method: string;
  proto: string;
  /** Lower-cased header names, each with all its values, as the conformance echo server. */
  headers: Record<string, string[]>;
  namespace: string;
  ingress: string;
  service: string;
  pod: string;
  node: string;
  podIp: string;
  remoteAddress: string;
}

export interface EchoServer extends http.Server {
  /** Listens on the configured port; resolves with the bound address. */
  start(): Promise<AddressInfo>;
  /**
   * SIGTERM behaviour: stop accepting, close idle keep-alive connections, let in-flight requests
   * finish (their responses close the connection), and after `graceMs` drop whatever is left.
   */
  shutdown(graceMs?: number): Promise<void>;
}

export const MAX_DELAY_MS = 10_000;
const HEALTH_PATHS = new Set(['/healthz', '/health']);

/** Strips the IPv4-mapped prefix a dual-stack socket reports for IPv4 clients. */
function plainAddress(address: string | undefined): string {
  return address?.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : (address ?? '');
}

function queryParams(url: URL): { status: number; delayMs: number } | string {
  const status = url.searchParams.get('status');
  const delay = url.searchParams.get('delayMs');
  if (status !== null && !/^[2-5]\d\d$/.test(status)) return `status must be 200-599, got '${status}'`;
  if (delay !== null && !/^\d{1,9}$/.test(delay)) return `delayMs must be a whole number, got '${delay}'`;
  return { status: status ? Number(status) : 200, delayMs: Math.min(Number(delay ?? 0), MAX_DELAY_MS) };
}

export function createEchoServer(options: EchoServerOptions): EchoServer {
  const { identity } = options;
  let stopping = false;
  let inFlight = 0;

  const server = http.createServer((req, res) => {
    inFlight++;
    res.on('close', () => inFlight--);
    res.setHeader('Server', 'portico-lab-echo');
    const url = new URL(req.url ?? '/', 'http://echo.invalid');
    const send = (status: number, type: string, body: string) => {
      if (stopping) res.setHeader('Connection', 'close');
      if (status === 204 || status === 304) return void res.writeHead(status).end();
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    req.resume();
    req.on('end', () => {
      if (HEALTH_PATHS.has(url.pathname)) {
        return stopping ? send(503, 'text/plain', 'shutting down\n') : send(200, 'text/plain', 'ok\n');
      }
      const params = queryParams(url);
      if (typeof params === 'string') return send(400, 'text/plain', `${params}\n`);
      const echo: EchoResponse = {
        path: req.url ?? '/',
        host: req.headers.host ?? '',
        method: req.method ?? '',
        proto: `HTTP/${req.httpVersion}`,
        headers: { ...req.headersDistinct } as Record<string, string[]>,
        namespace: identity.namespace,
        ingress: '',
        service: identity.service ?? '',
        pod: identity.pod,
        node: identity.node,
        podIp: identity.podIp ?? '',
        remoteAddress: plainAddress(req.socket.remoteAddress),
      };
      const body = `${JSON.stringify(echo)}\n`;
      const answer = () => send(params.status, 'application/json', body);
      if (params.delayMs > 0) setTimeout(answer, params.delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 30_000;

  const listen = (host: string) =>
    new Promise<AddressInfo>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen({ port: options.port, host, ipv6Only: false }, () => {
        server.off('error', onError);
        resolve(server.address() as AddressInfo);
      });
    });

  return Object.assign(server, {
    async start(): Promise<AddressInfo> {
      if (options.host !== undefined) return listen(options.host);
      try {
        return await listen('::');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw err;
        return listen('0.0.0.0');
      }
    },
    shutdown(graceMs = MAX_DELAY_MS + 5_000): Promise<void> {
      stopping = true;
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
        if (!server.listening && inFlight === 0) server.closeAllConnections();
      });
    },
  });
}
