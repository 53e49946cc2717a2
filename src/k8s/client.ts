import { setMaxListeners } from 'node:events';
import type { IncomingMessage } from 'node:http';
import * as http from 'node:http';
import * as https from 'node:https';
import type { CredentialSource, Credentials } from './credentials.js';
import { ApiError, describeConnectionError } from './errors.js';
import type { LoadedKubeconfig } from './kubeconfig.js';
import { ResourceClient } from './resource-client.js';
import type { ResourceRef } from './resources.js';
import type { KubeObject, Status, WatchEvent } from './types.js';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Defaults to application/json when there is a body. */
  contentType?: string;
  /** Defaults to application/json. */
  accept?: string;
  signal?: AbortSignal;
  /** Whole-request deadline; defaults to the client's (30 s). Watches have none. */
  timeoutMs?: number;
}

export interface KubeClientOptions {
  userAgent?: string;
  requestTimeoutMs?: number;
}

type TlsMaterial = Pick<https.AgentOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername'>;

const CREDENTIALS_TTL_MS = 10_000;

/**
 * A small Kubernetes REST client over one keep-alive agent per set of credentials.
 *
 * `@kubernetes/client-node` 1.4 creates a new https.Agent for every request and every watch
 * reconnect, leaking a socket each time (kubernetes-client/javascript#2893), and importing it
 * loads its whole generated API. We do the HTTP ourselves, so a watch restart reuses or cleanly
 * closes its socket, and take TLS material and headers from a CredentialSource.
 */

export class KubeClient {
  readonly server: string;
  private readonly url: URL;
  private agent: http.Agent | undefined;
  private agentKey = '';
  /** The credentials object the agent was last checked against: the same object needs no check. */
  private agentSource: Credentials | undefined;
  private closed = false;
  /** The credentials and TLS material, fetched at most every CREDENTIALS_TTL_MS or when they expire. */
  private credentials: { at: number; expiresAt?: number; options: Promise<Credentials> } | undefined;

  constructor(
    private readonly credentialSource: CredentialSource,
    server: string,
    private readonly options: KubeClientOptions = {},
  ) {
    this.server = server;
    this.url = new URL(server);
  }

  static fromKubeconfig(loaded: LoadedKubeconfig, options?: KubeClientOptions): KubeClient {
    return new KubeClient(loaded.credentials, loaded.server, options);
  }

  resource<T extends KubeObject>(ref: ResourceRef): ResourceClient<T> {
    return new ResourceClient<T>(this, ref);
  }

  /** Sends one request and returns the decoded JSON body; a Status failure becomes an ApiError. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.send(
      method,
      path,
      options,
      options.timeoutMs ?? this.options.requestTimeoutMs ?? 30_000,
    );
    const text = await readBody(res);
    if ((res.statusCode ?? 0) >= 400) throw toApiError(res.statusCode ?? 0, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * Opens a watch and yields its events until the server ends it, the signal aborts, or the
   * consumer stops iterating; the socket is destroyed in every case but a clean end.
   */
  async *watch<T>(path: string, query: Query, signal?: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    const res = await this.send('GET', path, { query: { ...query, watch: true }, signal }, 0);
    if ((res.statusCode ?? 0) >= 400) throw toApiError(res.statusCode ?? 0, await readBody(res));
    let buffered = '';
    let ended = false;
    try {
      res.setEncoding('utf8');
      for await (const chunk of res as AsyncIterable<string>) {
        buffered += chunk;
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line) yield JSON.parse(line) as WatchEvent<T>;
          newline = buffered.indexOf('\n');
        }
      }
      ended = true;
    } catch (err) {
      if (signal?.aborted) return;
      throw describeConnectionError(err, this.server);
    } finally {
      if (!ended) res.destroy();
    }
  }

  /** Checks that the server answers and the credentials are accepted; returns its version. */
  async version(): Promise<{ gitVersion: string }> {
    return this.request<{ gitVersion: string }>('GET', '/version', { timeoutMs: 10_000 });
  }

  close(): void {
    this.closed = true;
    this.agent?.destroy();
    this.agent = undefined;
  }

  private async send(method: string, path: string, options: RequestOptions, timeoutMs: number) {
    if (this.closed) throw new Error('KubeClient is closed');
    // Each request in flight listens on the signal; one signal commonly spans a whole worker pool.
    if (options.signal) setMaxListeners(0, options.signal);
    const credentials = await this.currentCredentials();
    const tls: TlsMaterial = {
      ca: credentials.ca,
      cert: credentials.cert,
      key: credentials.key,
      rejectUnauthorized: credentials.rejectUnauthorized,
      servername: credentials.servername,
    };
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: http.OutgoingHttpHeaders = {
      ...credentials.headers,
      accept: options.accept ?? 'application/json',
      'user-agent': this.options.userAgent ?? 'portico',
    };
    if (body) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = body.length;
    }
    const secure = this.url.protocol === 'https:';
    const requestOptions: https.RequestOptions = {
      method,
      host: this.url.hostname.replace(/^\[|\]$/g, ''),
      port: this.url.port || (secure ? 443 : 80),
      path: `${this.url.pathname.replace(/\/$/, '')}${path}${encodeQuery(options.query)}`,
      headers,
      agent:
        this.agentSource === credentials && this.agent ? this.agent : this.agentFor(tls, secure, credentials),
      signal: options.signal,
    };
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = (secure ? https : http).request(requestOptions, (res) => {
        if (res.statusCode === 401) this.forgetCredentials();
        resolve(res);
      });
      if (timeoutMs > 0) {
        req.setTimeout(timeoutMs, () =>
          req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
        );
      }
      req.on('error', (err: Error) =>
        reject(options.signal?.aborted ? err : describeConnectionError(err, this.server)),
      );
      req.end(body);
    });
  }

  /**
   * Reading the kubeconfig's files (CA, client certificate, service account token) on every request
   * costs a quarter of the controller's CPU under load; re-reading them every few seconds still
   * picks up a rotated token or certificate long before the old one expires.
   */
  private currentCredentials(): Promise<Credentials> {
    const now = performance.now();
    const cached = this.credentials;
    if (
      !cached ||
      now - cached.at > CREDENTIALS_TTL_MS ||
      (cached.expiresAt !== undefined && Date.now() >= cached.expiresAt)
    ) {
      const entry: NonNullable<typeof this.credentials> = { at: now, options: this.credentialSource.get() };
      entry.options.then(
        (credentials) => {
          entry.expiresAt = credentials.expiresAt;
        },
        // A failed read is not cached: the next request tries again.
        () => {
          if (this.credentials === entry) this.credentials = undefined;
        },
      );
      this.credentials = entry;
      return entry.options;
    }
    return cached.options;
  }

  /** After a 401: a token the server no longer accepts is fetched anew (an exec plugin re-run). */
  private forgetCredentials(): void {
    this.credentials = undefined;
    this.credentialSource.invalidate?.();
  }

  /** One keep-alive agent, replaced only when the TLS material changes (for example a rotated client cert). */
  private agentFor(tls: TlsMaterial, secure: boolean, source: Credentials): http.Agent {
    this.agentSource = source;
    const key = JSON.stringify([
      String(tls.ca ?? ''),
      String(tls.cert ?? ''),
      tls.rejectUnauthorized,
      tls.servername,
    ]);
    if (!this.agent || key !== this.agentKey) {
      this.agent?.destroy();
      const common = {
        keepAlive: true,
        keepAliveMsecs: 30_000,
        maxFreeSockets: 4,
        scheduling: 'lifo' as const,
      };
      this.agent = secure ? new https.Agent({ ...common, ...tls }) : new http.Agent(common);
      this.agentKey = key;
    }
    return this.agent;
  }
}

function encodeQuery(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** The whole body as text; plain listeners, as an async iterator costs a request a tenth more CPU. */
function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.once('end', () =>
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')),
    );
    res.once('error', reject);
    res.once('close', () => {
      if (!res.complete) reject(Object.assign(new Error('the response was cut off'), { code: 'ECONNRESET' }));
    });
  });
}

function toApiError(code: number, text: string): ApiError {
  try {
    const status = JSON.parse(text) as Status;
    if (status.kind === 'Status') {
      return new ApiError(code, status.reason ?? 'Unknown', status.message ?? `HTTP ${code}`, status.details);
    }
  } catch {
    // not a Status: fall through to the raw text
  }
  const reason = code === 401 ? 'Unauthorized' : code === 403 ? 'Forbidden' : 'Unknown';
  return new ApiError(code, reason, `HTTP ${code}: ${text.slice(0, 200).replace(/\s+/g, ' ').trim()}`);
}
