import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeconfigError, oneLine } from './errors.js';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeconfigSource {
  /** The `--kubeconfig` flag, if given. */
  flag?: string;
  env?: NodeJS.ProcessEnv;
  /** Overridable for tests. */
  serviceAccountDir?: string;
  home?: string;
}

export interface LoadedKubeconfig {
  kubeConfig: KubeConfig;
  /** Where it came from, for logs: a path or 'in-cluster'. */
  origin: string;
  server: string;
}

/**
 * Finds and validates the kubeconfig the way controller-runtime does: the `--kubeconfig` flag,
 * then `$KUBECONFIG`, then the in-cluster service account, then `~/.kube/config`. Unlike
 * `KubeConfig.loadFromDefault()`, it never falls back to `http://localhost:8080`: when nothing
 * usable is found it throws a one-line KubeconfigError.
 */
export function loadKubeconfig(source: KubeconfigSource = {}): LoadedKubeconfig {
  const env = source.env ?? process.env;
  if (source.flag !== undefined) {
    if (source.flag === '') throw new KubeconfigError('--kubeconfig was given an empty path');
    return fromFiles([source.flag], `--kubeconfig ${source.flag}`);
  }
  if (env.KUBECONFIG) {
    const paths = env.KUBECONFIG.split(delimiter).filter(Boolean);
    const present = paths.filter((p) => existsSync(p));
    if (present.length === 0) {
      throw new KubeconfigError(`$KUBECONFIG names ${paths.join(delimiter)}: file not found`);
    }
    return fromFiles(present, `$KUBECONFIG ${present.join(delimiter)}`);
  }
  const saDir = source.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (env.KUBERNETES_SERVICE_HOST && existsSync(join(saDir, 'token'))) {
    return inCluster(saDir, env);
  }
  const home = join(source.home ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return fromFiles([home], home);
  throw new KubeconfigError(
    'no kubeconfig found: pass --kubeconfig, set $KUBECONFIG, create ~/.kube/config, or run in a cluster with a service account',
  );
}

function fromFiles(paths: string[], origin: string): LoadedKubeconfig {
  const kc = new KubeConfig();
  for (const [i, path] of paths.entries()) {
    if (!existsSync(path)) throw new KubeconfigError(`kubeconfig ${path}: file not found`);
    const one = new KubeConfig();
    try {
      readFileSync(path); // a clear EACCES/EISDIR before the YAML parser sees it
      one.loadFromFile(path);
    } catch (err) {
      throw new KubeconfigError(`kubeconfig ${path}: ${oneLine(err)}`);
    }
    if (i === 0) kc.loadFromString(one.exportConfig());
    else kc.mergeConfig(one, true);
  }
  return { kubeConfig: kc, origin, server: validate(kc, origin) };
}

function inCluster(saDir: string, env: NodeJS.ProcessEnv): LoadedKubeconfig {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`;
  // What KubeConfig.loadFromCluster() builds, but with every file taken from saDir: its path
  // prefix argument only works for directories that end in the standard service account path.
  const namespaceFile = join(saDir, 'namespace');
  let namespace: string | undefined;
  try {
    if (existsSync(namespaceFile)) namespace = readFileSync(namespaceFile, 'utf8').trim() || undefined;
  } catch (err) {
    throw new KubeconfigError(`in-cluster configuration: ${oneLine(err)}`);
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'inCluster', server, caFile: join(saDir, 'ca.crt'), skipTLSVerify: false }],
    users: [
      {
        name: 'inClusterUser',
        authProvider: { name: 'tokenFile', config: { tokenFile: join(saDir, 'token') } },
      },
    ],
    contexts: [{ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser', namespace }],
    currentContext: 'inClusterContext',
  });
  return { kubeConfig: kc, origin: 'in-cluster', server: validate(kc, 'in-cluster configuration') };
}

/** Checks that the current context names a usable cluster, and returns its server URL. */
function validate(kc: KubeConfig, origin: string): string {
  const contextName = kc.getCurrentContext();
  if (!contextName) throw new KubeconfigError(`${origin}: no current-context is set`);
  const context = kc.getContextObject(contextName);
  if (!context) throw new KubeconfigError(`${origin}: current-context "${contextName}" is not defined`);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeconfigError(`${origin}: context "${contextName}" names no defined cluster`);
  if (!cluster.server) throw new KubeconfigError(`${origin}: cluster "${cluster.name}" has no server URL`);
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch {
    throw new KubeconfigError(
      `${origin}: cluster "${cluster.name}" has a malformed server URL "${cluster.server}"`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new KubeconfigError(`${origin}: server URL "${cluster.server}" must be https://`);
  }
  if (cluster.caFile && !existsSync(cluster.caFile)) {
    throw new KubeconfigError(`${origin}: certificate-authority file ${cluster.caFile} not found`);
  }
  if (cluster.proxyUrl) {
    throw new KubeconfigError(
      `${origin}: cluster "${cluster.name}" sets proxy-url, which Portico does not support`,
    );
  }
  const user = kc.getCurrentUser();
  for (const file of [user?.certFile, user?.keyFile]) {
    if (file && !existsSync(file))
      throw new KubeconfigError(`${origin}: client credential file ${file} not found`);
  }
  return cluster.server.replace(/\/+$/, '');
}
