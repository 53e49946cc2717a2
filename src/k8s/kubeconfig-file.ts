import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { parse } from 'yaml';
import { KubeconfigError, oneLine } from './errors.js';

/** A kubeconfig cluster entry; file paths are absolute. */
export interface ClusterConfig {
  name: string;
  server?: string;
  caFile?: string;
  caData?: Buffer;
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string;
  proxyUrl?: string;
  /** The `client.authentication.k8s.io/exec` extension, passed to exec plugins with provideClusterInfo. */
  execExtension?: unknown;
}

export interface ExecConfig {
  /** Absolute when the kubeconfig gave a path; a bare name is looked up in $PATH. */
  command: string;
  args: string[];
  env: { name: string; value: string }[];
  apiVersion: string;
  installHint?: string;
  provideClusterInfo: boolean;
  interactiveMode?: string;
}

export interface AuthProviderConfig {
  name: string;
  config: Record<string, string>;
}

/** A kubeconfig user entry; file paths are absolute. */
export interface UserConfig {
  name: string;
  token?: string;
  tokenFile?: string;
  certFile?: string;
  certData?: Buffer;
  keyFile?: string;
  keyData?: Buffer;
  username?: string;
  password?: string;
  impersonate?: string;
  impersonateUid?: string;
  impersonateGroups?: string[];
  exec?: ExecConfig;
  authProvider?: AuthProviderConfig;
}

export interface ContextConfig {
  name: string;
  cluster: string;
  user?: string;
  namespace?: string;
}

export interface Kubeconfig {
  clusters: Map<string, ClusterConfig>;
  users: Map<string, UserConfig>;
  contexts: Map<string, ContextConfig>;
  currentContext?: string;
}

/** Reads and parses one kubeconfig file; any problem is a one-line KubeconfigError naming the file. */
export function readKubeconfigFile(path: string): Kubeconfig {
  try {
    return parseKubeconfig(readFileSync(path, 'utf8'), path);
  } catch (err) {
    if (err instanceof KubeconfigError) throw err;
    throw new KubeconfigError(`kubeconfig ${path}: ${oneLine(err)}`);
  }
}

/** Parses kubeconfig text; relative paths in it are taken relative to `path`'s directory, as kubectl does. */
export function parseKubeconfig(text: string, path: string): Kubeconfig {
  let doc: unknown;
  try {
    doc = parse(text, { logLevel: 'error' });
  } catch (err) {
    // The yaml package appends a code frame after the first line.
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
    throw new KubeconfigError(`kubeconfig ${path}: invalid YAML: ${first.replace(/:$/, '')}`);
  }
  try {
    return fromDocument(doc, dirname(resolve(path)));
  } catch (err) {
    throw new KubeconfigError(`kubeconfig ${path}: ${oneLine(err)}`);
  }
}

/**
 * Merges kubeconfigs the way kubectl merges the files in $KUBECONFIG: the first to define a
 * cluster, user or context name wins, and so does the first to set current-context.
 */
export function mergeKubeconfigs(configs: Kubeconfig[]): Kubeconfig {
  const merged: Kubeconfig = { clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const config of configs) {
    merged.currentContext ??= config.currentContext;
    for (const key of ['clusters', 'users', 'contexts'] as const) {
      const into = merged[key] as Map<string, unknown>;
      for (const [name, entry] of config[key]) if (!into.has(name)) into.set(name, entry);
    }
  }
  return merged;
}

type Fields = Record<string, unknown>;

function fromDocument(doc: unknown, dir: string): Kubeconfig {
  const top = mapping(doc, 'the top level');
  const config: Kubeconfig = {
    clusters: named(top, 'clusters', 'cluster', (f, where) => cluster(f, where, dir)),
    users: named(top, 'users', 'user', (f, where) => user(f, where, dir)),
    contexts: named(top, 'contexts', 'context', (f, where) => ({
      cluster: string(f, 'cluster', where) ?? '',
      user: string(f, 'user', where),
      namespace: string(f, 'namespace', where),
    })),
  };
  const current = string(top, 'current-context', 'the top level');
  if (current) config.currentContext = current;
  return config;
}

/** Reads a list of `{ name, <inner>: {...} }` entries into a map by name. */
function named<T>(
  top: Fields,
  key: string,
  inner: string,
  read: (fields: Fields, where: string) => Omit<T, 'name'>,
): Map<string, T> {
  const out = new Map<string, T>();
  for (const [i, item] of list(top[key], key).entries()) {
    const entry = mapping(item, `${key}[${i}]`);
    const name = string(entry, 'name', `${key}[${i}]`);
    if (!name) throw new Error(`${key}[${i}] has no name`);
    if (out.has(name)) throw new Error(`two ${key} are named "${name}"`);
    const where = `${inner} "${name}"`;
    out.set(name, { name, ...read(mapping(entry[inner], where), where) } as T);
  }
  return out;
}

function cluster(f: Fields, where: string, dir: string): Omit<ClusterConfig, 'name'> {
  const extensions = list(f.extensions, `${where} extensions`).map((e) => mapping(e, `${where} extensions`));
  return {
    server: string(f, 'server', where),
    caFile: file(f, 'certificate-authority', where, dir),
    caData: base64(f, 'certificate-authority-data', where),
    insecureSkipTlsVerify: boolean(f, 'insecure-skip-tls-verify', where),
    tlsServerName: string(f, 'tls-server-name', where),
    proxyUrl: string(f, 'proxy-url', where),
    execExtension: extensions.find((e) => e.name === 'client.authentication.k8s.io/exec')?.extension,
  };
}

function user(f: Fields, where: string, dir: string): Omit<UserConfig, 'name'> {
  const groups = list(f['as-groups'], `${where} as-groups`);
  if (groups.some((g) => typeof g !== 'string')) throw new Error(`${where}: as-groups must be strings`);
  return {
    token: string(f, 'token', where),
    // `token-file` is what @kubernetes/client-node reads; kubectl's key is `tokenFile`.
    tokenFile: file(f, 'tokenFile', where, dir) ?? file(f, 'token-file', where, dir),
    certFile: file(f, 'client-certificate', where, dir),
    certData: base64(f, 'client-certificate-data', where),
    keyFile: file(f, 'client-key', where, dir),
    keyData: base64(f, 'client-key-data', where),
    username: string(f, 'username', where),
    password: string(f, 'password', where),
    impersonate: string(f, 'as', where),
    impersonateUid: string(f, 'as-uid', where),
    impersonateGroups: groups.length ? (groups as string[]) : undefined,
    exec: f.exec == null ? undefined : exec(mapping(f.exec, `${where} exec`), `${where} exec`, dir),
    authProvider: f['auth-provider'] == null ? undefined : authProvider(f['auth-provider'], where),
  };
}

function exec(f: Fields, where: string, dir: string): ExecConfig {
  const command = string(f, 'command', where) ?? '';
  const args = list(f.args, `${where} args`);
  if (args.some((a) => typeof a !== 'string')) throw new Error(`${where}: args must be strings`);
  return {
    // kubectl resolves a command given as a path against the kubeconfig's directory, not $PATH.
    command: command.includes(sep) && !isAbsolute(command) ? resolve(dir, command) : command,
    args: args as string[],
    env: list(f.env, `${where} env`).map((e, i) => {
      const entry = mapping(e, `${where} env[${i}]`);
      return {
        name: string(entry, 'name', `${where} env[${i}]`) ?? '',
        value: string(entry, 'value', `${where} env[${i}]`) ?? '',
      };
    }),
    apiVersion: string(f, 'apiVersion', where) ?? '',
    installHint: string(f, 'installHint', where),
    provideClusterInfo: boolean(f, 'provideClusterInfo', where),
    interactiveMode: string(f, 'interactiveMode', where),
  };
}

function authProvider(value: unknown, where: string): AuthProviderConfig {
  const f = mapping(value, `${where} auth-provider`);
  const config = mapping(f.config, `${where} auth-provider config`);
  for (const [key, v] of Object.entries(config)) {
    if (typeof v !== 'string') throw new Error(`${where}: auth-provider config ${key} must be a string`);
  }
  return {
    name: string(f, 'name', `${where} auth-provider`) ?? '',
    config: config as Record<string, string>,
  };
}

function mapping(value: unknown, where: string): Fields {
  if (value == null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) {
    throw new Error(`${where} must be a mapping`);
  }
  return value as Fields;
}

function list(value: unknown, where: string): unknown[] {
  if (value == null) return [];
  if (!Array.isArray(value)) throw new Error(`${where} must be a list`);
  return value;
}

function string(f: Fields, key: string, where: string): string | undefined {
  const value = f[key];
  if (value == null || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`${where}: ${key} must be a string`);
  return value;
}

function boolean(f: Fields, key: string, where: string): boolean {
  const value = f[key];
  if (value == null) return false;
  if (typeof value !== 'boolean') throw new Error(`${where}: ${key} must be true or false`);
  return value;
}

function file(f: Fields, key: string, where: string, dir: string): string | undefined {
  const value = string(f, key, where);
  return value === undefined ? undefined : resolve(dir, value);
}

function base64(f: Fields, key: string, where: string): Buffer | undefined {
  const value = string(f, key, where);
  if (value === undefined) return undefined;
  // Buffer.from silently skips characters that are not base64; a pasted PEM would pass unnoticed.
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(value)) throw new Error(`${where}: ${key} is not base64`);
  return Buffer.from(value, 'base64');
}
