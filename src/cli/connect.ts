import { KubeClient } from '../k8s/client.js';
import { ApiError, ConnectionError, KubeconfigError, oneLine } from '../k8s/errors.js';
import { loadKubeconfig } from '../k8s/kubeconfig.js';

/** Exit code for a configuration problem the user must fix: bad kubeconfig, unreachable or untrusted server. */
export const EXIT_CONFIG = 2;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/**
 * Loads the kubeconfig and proves the API server answers and accepts our credentials, so a
 * component fails at start with one line that says what to fix, instead of retrying forever.
 */
export async function connect(kubeconfigFlag: string | undefined, component: string): Promise<KubeClient> {
  let client: KubeClient | undefined;
  try {
    const loaded = loadKubeconfig({ flag: kubeconfigFlag });
    client = KubeClient.fromKubeconfig(loaded, { userAgent: `portico-${component}` });
    await client.version();
    return client;
  } catch (err) {
    client?.close();
    if (err instanceof KubeconfigError || err instanceof ConnectionError)
      throw new CliError(err.message, EXIT_CONFIG);
    if (err instanceof ApiError && (err.code === 401 || err.code === 403)) {
      const why =
        err.code === 401 ? 'rejected the credentials in the kubeconfig' : 'denied access to /version';
      throw new CliError(`the API server at ${client?.server} ${why} (HTTP ${err.code})`, EXIT_CONFIG);
    }
    throw new CliError(`cannot talk to the API server: ${oneLine(err)}`, EXIT_CONFIG);
  }
}
