/** Things tests do to a running control plane besides starting and stopping it. */
import { join } from 'node:path';
import type { AdminRequest, ApiResponse } from './admin-request.js';
import { writeKubeconfig } from './kubeconfig.js';

function expectStatus(res: ApiResponse, ok: readonly number[], what: string): void {
  if (!ok.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${res.text.slice(0, 500)}`);
}

export interface ServiceAccountKubeconfigOptions {
  request: AdminRequest;
  server: string;
  caPath: string;
  dir: string;
  namespace: string;
  name: string;
  /** Token lifetime; defaults to a day (the API default is one hour). */
  expirationSeconds?: number;
}

/**
 * Creates the namespace and ServiceAccount if missing, requests a token for it with the
 * TokenRequest API and writes a kubeconfig using that token. Returns the kubeconfig path.
 */
export async function writeServiceAccountKubeconfig(opts: ServiceAccountKubeconfigOptions): Promise<string> {
  const { request, namespace, name } = opts;
  const ns = await request('POST', '/api/v1/namespaces', { metadata: { name: namespace } });
  expectStatus(ns, [201, 409], `create namespace ${namespace}`);
  const sa = await request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name } });
  expectStatus(sa, [201, 409], `create serviceaccount ${namespace}/${name}`);
  const tokenRequest = {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: opts.expirationSeconds ?? 86_400 },
  };
  const res = await request<{ status?: { token?: string } }>(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    tokenRequest,
  );
  expectStatus(res, [201], `TokenRequest for ${namespace}/${name}`);
  const token = res.body?.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token: ${res.text}`);
  const path = join(opts.dir, `sa-${namespace}-${name}.kubeconfig`);
  await writeKubeconfig(path, {
    server: opts.server,
    caPath: opts.caPath,
    token,
    user: `system:serviceaccount:${namespace}:${name}`,
    namespace,
  });
  return path;
}

async function etcdPost<T>(etcdUrl: string, path: string, body: unknown): Promise<T> {
  const res = await fetch(new URL(path, etcdUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/**
 * Compacts etcd's history up to its current revision (through the v3 JSON gateway), so that
 * watches resuming from an older resourceVersion get 410 Gone. Returns the revision.
 */
export async function compactEtcd(etcdUrl: string): Promise<number> {
  const key = Buffer.from('/').toString('base64');
  const range = await etcdPost<{ header?: { revision?: string } }>(etcdUrl, '/v3/kv/range', {
    key,
    limit: 1,
    keys_only: true,
  });
  const revision = Number(range.header?.revision);
  if (!Number.isSafeInteger(revision) || revision < 1) {
    throw new Error(`etcd /v3/kv/range returned no revision: ${JSON.stringify(range)}`);
  }
  await etcdPost(etcdUrl, '/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}

/** etcd's `/health` says `{"health":"true"}` once it serves. */
export async function etcdHealthy(etcdUrl: string): Promise<boolean> {
  const res = await fetch(new URL('/health', etcdUrl), { signal: AbortSignal.timeout(2_000) });
  const body = (await res.json()) as { health?: string };
  return res.ok && body.health === 'true';
}
