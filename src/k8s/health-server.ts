import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { listen } from '../util/listen.js';

/** A named check: resolves true/undefined when healthy; false or a thrown error says why not. */
export type Check = () => boolean | undefined | Promise<boolean | undefined>;

export interface HealthServerOptions {
  registry: Registry;
  host?: string;
  port: number;
}

/**
 * Serves `/metrics` (Prometheus text format), `/healthz` (liveness) and `/readyz` (readiness).
 * `?verbose` lists each check, as the Kubernetes components do.
 */
export class HealthServer {
  private readonly live = new Map<string, Check>();
  private readonly ready = new Map<string, Check>();
  private server: Server | undefined;

  constructor(private readonly options: HealthServerOptions) {}

  addLivenessCheck(name: string, check: Check): void {
    this.live.set(name, check);
  }

  addReadinessCheck(name: string, check: Check): void {
    this.ready.set(name, check);
  }

  async listen(): Promise<AddressInfo> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`);
      });
    });
    this.server = server;
    await listen(server, this.options.port, this.options.host);
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    switch (url.pathname) {
      case '/metrics': {
        const body = await this.options.registry.metrics();
        res.writeHead(200, { 'content-type': this.options.registry.contentType }).end(body);
        return;
      }
      case '/healthz':
      case '/livez':
        return respond(res, await runChecks(this.live), url.searchParams.has('verbose'));
      case '/readyz':
        return respond(
          res,
          await runChecks(new Map([...this.live, ...this.ready])),
          url.searchParams.has('verbose'),
        );
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  }
}

async function runChecks(checks: Map<string, Check>): Promise<[string, string | undefined][]> {
  return Promise.all(
    [...checks].map(async ([name, check]): Promise<[string, string | undefined]> => {
      try {
        return [name, (await check()) === false ? 'not ready' : undefined];
      } catch (err) {
        return [name, err instanceof Error ? err.message : String(err)];
      }
    }),
  );
}

function respond(res: ServerResponse, results: [string, string | undefined][], verbose: boolean): void {
  const failed = results.filter(([, why]) => why !== undefined);
  const lines =
    verbose || failed.length
      ? results.map(([n, why]) => (why ? `[-]${n} failed: ${why}` : `[+]${n} ok`))
      : [];
  lines.push(failed.length ? 'failed' : 'ok');
  res.writeHead(failed.length ? 503 : 200, { 'content-type': 'text/plain' }).end(`${lines.join('\n')}\n`);
}
