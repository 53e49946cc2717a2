import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { KubeconfigError } from './errors.js';
import type { ClusterConfig, ExecConfig } from './kubeconfig-file.js';

/** What an exec credential plugin returned; the cert and key are PEM text. */
export interface ExecCredentialStatus {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  /** Epoch milliseconds; absent when the plugin gave no expirationTimestamp. */
  expiresAt?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Runs a kubeconfig `exec` credential plugin (client.authentication.k8s.io/v1 or v1beta1) the
 * way kubectl does, and caches its answer until its expirationTimestamp. Like client-go, an
 * answer without one is kept until invalidate() (the server rejected it).
 */
export class ExecCredentialPlugin {
  private cached: ExecCredentialStatus | undefined;
  private running: Promise<ExecCredentialStatus> | undefined;

  constructor(
    private readonly exec: ExecConfig,
    private readonly cluster: ClusterConfig,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  get(): Promise<ExecCredentialStatus> {
    const cached = this.cached;
    if (cached && (cached.expiresAt === undefined || Date.now() < cached.expiresAt)) {
      return Promise.resolve(cached);
    }
    // Concurrent callers share one run of the plugin.
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async run(): Promise<ExecCredentialStatus> {
    const { exec } = this;
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const { name, value } of exec.env) env[name] = value;
    env.KUBERNETES_EXEC_INFO = JSON.stringify({
      apiVersion: exec.apiVersion,
      kind: 'ExecCredential',
      spec: {
        interactive: false,
        ...(exec.provideClusterInfo ? { cluster: await this.clusterInfo() } : {}),
      },
    });
    const { stdout } = await this.spawn(env);
    const status = this.parse(stdout);
    this.cached = status;
    return status;
  }

  private spawn(env: NodeJS.ProcessEnv): Promise<{ stdout: string }> {
    const name = `exec credential plugin "${this.exec.command}"`;
    return new Promise((resolve, reject) => {
      const child = spawn(this.exec.command, this.exec.args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, this.timeoutMs);
      child.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const hint = this.exec.installHint ? `: ${firstLine(this.exec.installHint)}` : '';
        reject(
          new KubeconfigError(
            err.code === 'ENOENT'
              ? `${name} was not found${hint}`
              : `${name} could not be run: ${err.message}`,
          ),
        );
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (timedOut) {
          reject(new KubeconfigError(`${name} did not finish within ${this.timeoutMs / 1000} s`));
        } else if (code !== 0) {
          const why = firstLine(stderr);
          const how = code === null ? `killed by ${signal}` : `exit code ${code}`;
          reject(new KubeconfigError(`${name} failed (${how})${why ? `: ${why}` : ''}`));
        } else {
          resolve({ stdout });
        }
      });
    });
  }

  private parse(stdout: string): ExecCredentialStatus {
    const name = `exec credential plugin "${this.exec.command}"`;
    let credential: { apiVersion?: unknown; kind?: unknown; status?: Record<string, unknown> };
    try {
      credential = JSON.parse(stdout);
    } catch {
      throw new KubeconfigError(`${name} printed no ExecCredential JSON: ${firstLine(stdout) || 'nothing'}`);
    }
    if (credential?.kind !== 'ExecCredential' || credential.apiVersion !== this.exec.apiVersion) {
      throw new KubeconfigError(
        `${name} returned ${String(credential?.kind)} ${String(credential?.apiVersion)}, expected ExecCredential ${this.exec.apiVersion}`,
      );
    }
    const status = credential.status ?? {};
    const text = (key: string): string | undefined => {
      const value = status[key];
      if (value !== undefined && value !== null && typeof value !== 'string') {
        throw new KubeconfigError(`${name} returned a status.${key} that is not a string`);
      }
      return value || undefined;
    };
    const result: ExecCredentialStatus = {
      token: text('token'),
      clientCertificateData: text('clientCertificateData'),
      clientKeyData: text('clientKeyData'),
    };
    if (Boolean(result.clientCertificateData) !== Boolean(result.clientKeyData)) {
      throw new KubeconfigError(`${name} returned a client certificate without its key, or a key without it`);
    }
    if (!result.token && !result.clientCertificateData) {
      throw new KubeconfigError(`${name} returned neither a token nor a client certificate`);
    }
    const expiry = text('expirationTimestamp');
    if (expiry !== undefined) {
      result.expiresAt = Date.parse(expiry);
      if (Number.isNaN(result.expiresAt)) {
        throw new KubeconfigError(`${name} returned a malformed expirationTimestamp "${expiry}"`);
      }
    }
    return result;
  }

  /** spec.cluster of KUBERNETES_EXEC_INFO, sent only when the kubeconfig sets provideClusterInfo. */
  private async clusterInfo(): Promise<Record<string, unknown>> {
    const { cluster } = this;
    const ca = cluster.caFile ? await readFile(cluster.caFile) : cluster.caData;
    return {
      server: cluster.server,
      'tls-server-name': cluster.tlsServerName,
      'insecure-skip-tls-verify': cluster.insecureSkipTlsVerify || undefined,
      'certificate-authority-data': ca?.toString('base64'),
      config: cluster.execExtension,
    };
  }
}

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim()) ?? '';
  return line.trim().slice(0, 300);
}
