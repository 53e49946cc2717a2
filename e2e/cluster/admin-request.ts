/**
 * A tiny HTTPS client for the test apiserver: a bearer token, a CA file, JSON in and out. Enough
 * for setting up the control plane and for smoke tests; real code goes through src/k8s/.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

export interface ApiConnection {
  /** `https://127.0.0.1:<port>` */
  server: string;
  token: string;
  /** PEM file the serving certificate chains to. */
  caPath: string;
}

export interface ApiResponse<T = unknown> {
  status: number;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  body: T;
  text: string;
}

export interface ApiRequestOptions {
  /** Defaults to `application/json`; use e.g. `application/merge-patch+json` for PATCH. */
  contentType?: string;
  timeoutMs?: number;
}

export type AdminRequest = <T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  options?: ApiRequestOptions,
) => Promise<ApiResponse<T>>;

/** Sends one request. Resolves for every HTTP status; rejects only on transport errors and timeouts. */
export function apiRequest<T = unknown>(
  connection: ApiConnection,
  method: string,
  path: string,
  body?: unknown,
  options: ApiRequestOptions = {},
): Promise<ApiResponse<T>> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = {
    accept: 'application/json',
    authorization: `Bearer ${connection.token}`,
  };
  if (payload !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  const url = new URL(path, connection.server);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers,
        ca: readFileSync(connection.caPath),
        timeout: options.timeoutMs ?? 10_000,
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('error', reject);
        res.on('end', () => {
          let parsed: unknown;
          if (text && /json/.test(res.headers['content-type'] ?? '')) {
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = undefined;
            }
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T, text });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Binds `apiRequest` to one connection. */
export function requester(connection: ApiConnection): AdminRequest {
  return (method, path, body, options) => apiRequest(connection, method, path, body, options);
}
