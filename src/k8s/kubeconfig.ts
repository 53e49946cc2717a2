import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { type CredentialSource, KubeconfigCredentials } from './credentials.js';
import { KubeconfigError, oneLine } from './errors.js';
import {
  type ClusterConfig,
  type ContextConfig,
  type Kubeconfig,
  mergeKubeconfigs,
  readKubeconfigFile,
  type UserConfig,
} from './kubeconfig-file.js';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];

export interface KubeconfigSource {
  /** The `--kubeconfig` flag, if given. */
  flag?: string;
  env?: NodeJS.ProcessEnv;
  /** Overridable for tests. */
  serviceAccountDir?: string;
  home?: string;
}

export interface LoadedKubeconfig {
  /** Where it came from, for logs: a path or 'in-cluster'. */
  origin: string;
  server: string;
  /** The whole (merged) kubeconfig. */
  config: Kubeconfig;
  context: ContextConfig;
  cluster: ClusterConfig;
  /** The context's user; an unnamed, empty one when the context names none. */
  user: UserConfig;
  credentials: CredentialSource;
}

/**
 * Finds and validates the kubeconfig the way controller-runtime does: the `--kubeconfig` flag,
 * then `$KUBECONFIG`, then the in-cluster service account, then `~/.kube/config`. It never falls
 * back to `http://localhost:8080`: when nothing usable is found it throws a one-line KubeconfigError.
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
  const configs = paths.map((path) => {
    if (!existsSync(path)) throw new KubeconfigError(`kubeconfig ${path}: file not found`);
    return readKubeconfigFile(path);
  });
  return validate(mergeKubeconfigs(configs), origin, origin);
}

/** What client-go's rest.InClusterConfig() builds, with every file taken from saDir. */
function inCluster(saDir: string, env: NodeJS.ProcessEnv): LoadedKubeconfig {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`;
  const namespaceFile = join(saDir, 'namespace');
  let namespace: string | undefined;
  try {
    if (existsSync(namespaceFile)) namespace = readFileSync(namespaceFile, 'utf8').trim() || undefined;
  } catch (err) {
    throw new KubeconfigError(`in-cluster configuration: ${oneLine(err)}`);
  }
  const config: Kubeconfig = {
    clusters: new Map([
      [
        'inCluster',
        { name: 'inCluster', server, caFile: join(saDir, 'ca.crt'), insecureSkipTlsVerify: false },
      ],
    ]),
    // The token is re-read as the kubelet rotates it.
    users: new Map([['inClusterUser', { name: 'inClusterUser', tokenFile: join(saDir, 'token') }]]),
    contexts: new Map([
      [
        'inClusterContext',
        { name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser', namespace },
      ],
    ]),
    currentContext: 'inClusterContext',
  };
  return validate(config, 'in-cluster', 'in-cluster configuration');
}

/** Checks that the current context names a usable cluster and user. */
function validate(config: Kubeconfig, origin: string, where: string): LoadedKubeconfig {
  const contextName = config.currentContext;
  if (!contextName) throw new KubeconfigError(`${where}: no current-context is set`);
  const context = config.contexts.get(contextName);
  if (!context) throw new KubeconfigError(`${where}: current-context "${contextName}" is not defined`);
  const cluster = config.clusters.get(context.cluster);
  if (!cluster) throw new KubeconfigError(`${where}: context "${contextName}" names no defined cluster`);
  if (!cluster.server) throw new KubeconfigError(`${where}: cluster "${cluster.name}" has no server URL`);
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch {
    throw new KubeconfigError(
      `${where}: cluster "${cluster.name}" has a malformed server URL "${cluster.server}"`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new KubeconfigError(`${where}: server URL "${cluster.server}" must be https://`);
  }
  if (cluster.caFile && !existsSync(cluster.caFile)) {
    throw new KubeconfigError(`${where}: certificate-authority file ${cluster.caFile} not found`);
  }
  if (cluster.proxyUrl) {
    throw new KubeconfigError(
      `${where}: cluster "${cluster.name}" sets proxy-url, which Portico does not support`,
    );
  }
  const user = context.user ? config.users.get(context.user) : { name: '' };
  if (!user) {
    throw new KubeconfigError(
      `${where}: context "${contextName}" names user "${context.user}", which is not defined`,
    );
  }
  validateUser(user, where);
  return {
    origin,
    server: cluster.server.replace(/\/+$/, ''),
    config,
    context,
    cluster,
    user,
    credentials: new KubeconfigCredentials(cluster, user),
  };
}

function validateUser(user: UserConfig, where: string): void {
  for (const file of [user.certFile, user.keyFile, user.tokenFile]) {
    if (file && !existsSync(file))
      throw new KubeconfigError(`${where}: client credential file ${file} not found`);
  }
  if (Boolean(user.certFile || user.certData) !== Boolean(user.keyFile || user.keyData)) {
    throw new KubeconfigError(
      `${where}: user "${user.name}" needs both a client certificate and a client key, or neither`,
    );
  }
  const exec = user.exec;
  if (exec && !exec.command)
    throw new KubeconfigError(`${where}: user "${user.name}" has an exec without a command`);
  if (exec && !EXEC_API_VERSIONS.includes(exec.apiVersion)) {
    throw new KubeconfigError(
      `${where}: user "${user.name}" exec apiVersion "${exec.apiVersion}" is not supported (use ${EXEC_API_VERSIONS.join(' or ')})`,
    );
  }
  if (exec?.interactiveMode === 'Always') {
    throw new KubeconfigError(
      `${where}: user "${user.name}" exec plugin needs an interactive terminal (interactiveMode: Always), which Portico never has`,
    );
  }
}
