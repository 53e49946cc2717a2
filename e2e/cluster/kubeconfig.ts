import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

export const CONTEXT_NAME = 'portico-test';

export interface KubeconfigSpec {
  server: string;
  /** Absolute path of the CA file. */
  caPath: string;
  token: string;
  user: string;
  /** Default namespace of the context. */
  namespace?: string;
}

/** Writes a token-authenticated kubeconfig (mode 0600) with a single context named `portico-test`. */
export async function writeKubeconfig(path: string, spec: KubeconfigSpec): Promise<void> {
  const context: Record<string, string> = { cluster: CONTEXT_NAME, user: spec.user };
  if (spec.namespace) context.namespace = spec.namespace;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: CONTEXT_NAME, cluster: { server: spec.server, 'certificate-authority': spec.caPath } },
    ],
    users: [{ name: spec.user, user: { token: spec.token } }],
    contexts: [{ name: CONTEXT_NAME, context }],
    'current-context': CONTEXT_NAME,
  };
  await writeFile(path, stringify(config), { mode: 0o600 });
}
