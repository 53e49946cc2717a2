/**
 * The HTTPS server the API server calls for admission: it decodes `admission.k8s.io/v1`
 * AdmissionReviews, hands each request to the handler registered for its path, and answers with the
 * handler's verdict. The serving certificate can be replaced at any time without a restart.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { Counter, Histogram, type Registry } from 'prom-client';
import { oneLine } from '../../k8s/errors.js';
import { listen } from '../../util/listen.js';
import { type Logger, silentLogger } from '../../util/logger.js';
import {
  type AdmissionRequest,
  type AdmissionResult,
  admissionResponse,
  parseAdmissionReview,
} from './admission-review.js';

export type {
  AdmissionOperation,
  AdmissionRequest,
  AdmissionResult,
  AdmissionReviewResponse,
} from './admission-review.js';

export type AdmissionHandler = (request: AdmissionRequest) => AdmissionResult | Promise<AdmissionResult>;

export interface WebhookServerOptions {
  /** Default 0.0.0.0. */
  host?: string;
  port: number;
  logger?: Logger;
  registry?: Registry;
  /** Largest request body accepted; default 3 MiB. */
  maxBodyBytes?: number;
  /** How long close() lets requests in flight finish before cutting their connections; default 5 s. */
  closeGraceMs?: number;
}

/**
 * An AdmissionReview carries the object and, for updates, the old object too; the API server
 * stores objects of up to about 1.5 MiB, so 3 MiB holds any review of a storable object.
 */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

const HEALTH_PATHS = new Set(['/healthz', '/livez', '/readyz']);
const TLS_ERROR_LOG_INTERVAL_MS = 60_000;
const KEEP_ALIVE_TIMEOUT_MS = 120_000;

type Outcome = 'allowed' | 'denied' | 'error';

export class WebhookServer {
  private readonly routes = new Map<string, AdmissionHandler>();
  private readonly log: Logger;
  private readonly metrics: ReturnType<typeof webhookMetrics> | undefined;
  private tls: SecureContextOptions | undefined;
  private server: https.Server | undefined;
  private inFlight = 0;
  private closing: (() => void) | undefined;
  private tlsErrors = { count: 0, loggedAt: 0 };

  constructor(private readonly options: WebhookServerOptions) {
    this.log = (options.logger ?? silentLogger).child({ server: 'webhook' });
    this.metrics = options.registry && webhookMetrics(options.registry);
  }

  /** Serves `handler` at `path` (e.g. `/validate-ipaddresspool`). */
  route(path: string, handler: AdmissionHandler): void {
    if (!path.startsWith('/')) throw new Error(`a webhook path starts with "/": "${path}"`);
    if (HEALTH_PATHS.has(path) || this.routes.has(path)) throw new Error(`the webhook path ${path} is taken`);
    this.routes.set(path, handler);
    this.metrics?.requests.inc({ path, result: 'allowed' }, 0);
  }

  /**
   * Uses this certificate (with its chain, if any) and key for every handshake from now on;
   * connections already open keep theirs. Throws, keeping the old pair, if the pair is unusable.
   */
  setCertificate(certPem: string, keyPem: string): void {
    const tls: SecureContextOptions = { cert: certPem, key: keyPem, minVersion: 'TLSv1.2' };
    try {
      createSecureContext(tls);
    } catch (err) {
      throw new Error(`the webhook serving certificate cannot be used: ${oneLine(err)}`);
    }
    this.tls = tls;
    this.server?.setSecureContext(tls);
  }

  async listen(): Promise<AddressInfo> {
    if (!this.tls) {
      throw new Error('the webhook server needs a certificate: call setCertificate() before listen()');
    }
    if (this.server) throw new Error('the webhook server is already listening');
    const server = https.createServer(
      { ...this.tls, requestTimeout: 30_000, headersTimeout: 10_000 },
      (req, res) => {
        this.serve(req, res).catch((err: unknown) => {
          this.log.error({ err: oneLine(err) }, 'webhook request failed');
          if (!res.headersSent) reply(res, 500, 'internal error\n');
          else res.destroy();
        });
      },
    );
    // Longer than the API server's idle timeout (Go's 90 s), so the client closes idle connections,
    // never us: a close racing a new request would fail that admission call with EOF.
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server.on('tlsClientError', (err) => this.noteTlsError(err));
    this.server = server;
    await listen(server, this.options.port, this.options.host);
    const address = server.address() as AddressInfo;
    this.log.info(
      { address: address.address, port: address.port, paths: [...this.routes.keys()] },
      'listening',
    );
    return address;
  }

  /** Stops accepting connections, lets requests in flight finish (up to the grace period), then closes. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const cut = () => server.closeAllConnections();
    const timer = setTimeout(cut, this.options.closeGraceMs ?? 5_000);
    this.closing = cut;
    if (this.inFlight === 0) cut();
    await closed;
    clearTimeout(timer);
    this.closing = undefined;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (HEALTH_PATHS.has(path) && (req.method === 'GET' || req.method === 'HEAD')) {
      return reply(res, 200, 'ok\n');
    }
    const handler = this.routes.get(path);
    if (!handler) return reply(res, 404, `no admission webhook is served at ${path}\n`);
    const started = performance.now();
    this.inFlight++;
    try {
      const outcome = await this.review(req, res, path, handler);
      this.metrics?.requests.inc({ path, result: outcome });
      this.metrics?.duration.observe({ path }, (performance.now() - started) / 1000);
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.closing?.();
    }
  }

  private async review(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    handler: AdmissionHandler,
  ): Promise<Outcome> {
    const reject = (code: number, message: string, headers: Record<string, string> = {}): Outcome => {
      this.log.warn({ path, code, err: message }, 'rejected a webhook request');
      reply(res, code, `${message}\n`, headers);
      return 'error';
    };
    if (req.method !== 'POST') {
      return reject(405, `${req.method} is not allowed: send an AdmissionReview by POST`, { allow: 'POST' });
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      return reject(
        415,
        `content type ${JSON.stringify(type || '(none)')} is not allowed: send application/json`,
      );
    }
    const limit = this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const body = await readBody(req, limit);
    // `connection: close` makes Node close the socket once the answer is out, ending the upload.
    if (body === undefined) {
      return reject(413, `the body is larger than ${limit} bytes`, { connection: 'close' });
    }
    let decoded: unknown;
    try {
      decoded = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return reject(400, `the body is not valid JSON: ${oneLine(err)}`);
    }
    const parsed = parseAdmissionReview(decoded);
    if ('error' in parsed) return reject(400, parsed.error);
    const request = parsed.request;
    let result: AdmissionResult;
    let outcome: Outcome;
    try {
      result = await handler(request);
      if (typeof result?.allowed !== 'boolean') throw new Error('the handler returned no "allowed" verdict');
      outcome = result.allowed ? 'allowed' : 'denied';
    } catch (err) {
      const what = describe(request);
      this.log.error({ path, uid: request.uid, ...what, err: oneLine(err) }, 'admission handler failed');
      result = {
        allowed: false,
        code: 500,
        reason: 'InternalError',
        message: `Portico could not check this ${what.kind}: ${oneLine(err)}`,
      };
      outcome = 'error';
    }
    const payload = JSON.stringify(admissionResponse(request.uid, result));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
    if (outcome === 'denied') {
      this.log.info({ path, uid: request.uid, ...describe(request), message: result.message }, 'denied');
    }
    return outcome;
  }

  /** A failed handshake is how a caller that does not trust our certificate shows up; logged once a minute. */
  private noteTlsError(err: Error): void {
    this.tlsErrors.count++;
    this.metrics?.tlsErrors.inc();
    const now = Date.now();
    if (now - this.tlsErrors.loggedAt < TLS_ERROR_LOG_INTERVAL_MS) return;
    this.log.warn(
      { err: oneLine(err), failedHandshakes: this.tlsErrors.count },
      'TLS handshake failed; if the caller is the API server, its caBundle does not hold our CA yet',
    );
    this.tlsErrors = { count: 0, loggedAt: now };
  }
}

function describe(request: AdmissionRequest): { kind: string; operation: string; object: string } {
  const name = request.name ?? '(generated name)';
  return {
    kind: request.kind.kind,
    operation: request.operation,
    object: request.namespace ? `${request.namespace}/${name}` : name,
  };
}

function reply(res: ServerResponse, code: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(text);
}

/** The whole body, or undefined as soon as it is known to exceed `limit` (the rest is discarded). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > limit) return;
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        resolve(undefined);
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Shared by every webhook server on the registry. */
function webhookMetrics(registry: Registry) {
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  return {
    requests:
      existing<Counter<'path' | 'result'>>('portico_webhook_requests_total') ??
      new Counter({
        name: 'portico_webhook_requests_total',
        help: 'Admission requests answered, by webhook path and result (allowed, denied, error).',
        labelNames: ['path', 'result'] as const,
        registers: [registry],
      }),
    duration:
      existing<Histogram<'path'>>('portico_webhook_request_duration_seconds') ??
      new Histogram({
        name: 'portico_webhook_request_duration_seconds',
        help: 'Time from receiving an admission request to answering it, by webhook path.',
        labelNames: ['path'] as const,
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
    tlsErrors:
      existing<Counter>('portico_webhook_tls_handshake_errors_total') ??
      new Counter({
        name: 'portico_webhook_tls_handshake_errors_total',
        help: 'TLS handshakes with the webhook server that failed (for example, a caller that does not trust its CA).',
        registers: [registry],
      }),
  };
}
