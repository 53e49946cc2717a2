import { readFile } from 'node:fs/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeconfigError, oneLine } from './errors.js';
import { ExecCredentialPlugin } from './exec-credential.js';
import type { ClusterConfig, UserConfig } from './kubeconfig-file.js';

/** TLS material and headers for talking to one API server, shaped like https.RequestOptions. */
export interface Credentials {
  ca?: Buffer;
  cert?: Buffer | string;
  key?: Buffer | string;
  /** false only with insecure-skip-tls-verify; otherwise left to Node (and NODE_TLS_REJECT_UNAUTHORIZED). */
  rejectUnauthorized?: boolean;
  servername?: string;
  headers: Record<string, string | string[]>;
  /** Epoch milliseconds after which these must not be used (an exec credential's expiry). */
  expiresAt?: number;
}

export interface CredentialSource {
  get(): Promise<Credentials>;
  /** The server answered 401: forget any cached token so the next get() fetches a fresh one. */
  invalidate?(): void;
}

/** The credentials of one kubeconfig cluster and user. Files are read anew on every get(). */
export class KubeconfigCredentials implements CredentialSource {
  private readonly exec: ExecCredentialPlugin | undefined;
  private authProvider: Promise<KubeConfig> | undefined;

  constructor(
    private readonly cluster: ClusterConfig,
    private readonly user: UserConfig,
  ) {
    this.exec = user.exec && new ExecCredentialPlugin(user.exec, cluster);
  }

  async get(): Promise<Credentials> {
    const { cluster, user } = this;
    const [ca, cert, key, tokenFromFile, plugin, fromProvider] = await Promise.all([
      cluster.caFile ? readCredentialFile('certificate-authority', cluster.caFile) : cluster.caData,
      user.certFile ? readCredentialFile('client-certificate', user.certFile) : user.certData,
      user.keyFile ? readCredentialFile('client-key', user.keyFile) : user.keyData,
      !user.token && user.tokenFile ? readCredentialFile('token', user.tokenFile) : undefined,
      this.exec?.get(),
      user.authProvider ? this.authProviderAuthorization() : undefined,
    ]);
    const headers: Credentials['headers'] = {};
    const token = user.token ?? (tokenFromFile?.toString('utf8').trim() || plugin?.token);
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (fromProvider) headers.Authorization = fromProvider;
    else if (user.username !== undefined || user.password !== undefined) {
      const pair = `${user.username ?? ''}:${user.password ?? ''}`;
      headers.Authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    }
    if (user.impersonate) headers['Impersonate-User'] = user.impersonate;
    if (user.impersonateUid) headers['Impersonate-Uid'] = user.impersonateUid;
    if (user.impersonateGroups) headers['Impersonate-Group'] = user.impersonateGroups;
    const credentials: Credentials = {
      ca,
      cert: plugin?.clientCertificateData ?? cert,
      key: plugin?.clientKeyData ?? key,
      servername: cluster.tlsServerName,
      headers,
    };
    if (cluster.insecureSkipTlsVerify) credentials.rejectUnauthorized = false;
    if (plugin?.expiresAt !== undefined) credentials.expiresAt = plugin.expiresAt;
    return credentials;
  }

  invalidate(): void {
    this.exec?.invalidate();
  }

  /**
   * The deprecated auth-providers (oidc, gcp, azure) are delegated to @kubernetes/client-node,
   * imported only here: loading it costs a third of a second and tens of megabytes.
   */
  private async authProviderAuthorization(): Promise<string | undefined> {
    this.authProvider ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
      const kc = new KubeConfig();
      // Only the Authorization header is taken from it, so its cluster is a placeholder. The
      // provider refreshes tokens into this config object, which is kept for the next call.
      kc.loadFromOptions({
        clusters: [{ name: 'auth-provider', server: 'https://auth-provider.invalid', skipTLSVerify: false }],
        users: [{ name: this.user.name, authProvider: structuredClone(this.user.authProvider) }],
        contexts: [{ name: 'auth-provider', cluster: 'auth-provider', user: this.user.name }],
        currentContext: 'auth-provider',
      });
      return kc;
    });
    const kc = await this.authProvider;
    const options: { headers: Record<string, unknown> } = { headers: {} };
    try {
      await kc.applyToHTTPSOptions(options);
    } catch (err) {
      throw new KubeconfigError(
        `auth-provider "${this.user.authProvider?.name}" of user "${this.user.name}": ${oneLine(err)}`,
      );
    }
    const authorization = options.headers.Authorization;
    return typeof authorization === 'string' ? authorization : undefined;
  }
}

async function readCredentialFile(what: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KubeconfigError(`cannot read the ${what} file ${path}: ${code ?? String(err)}`);
  }
}
