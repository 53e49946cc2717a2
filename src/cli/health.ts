/** The /metrics, /healthz and /readyz server of a component, from its --metrics-bind-address. */
import type { Registry } from 'prom-client';
import { oneLine } from '../k8s/errors.js';
import { HealthServer } from '../k8s/health-server.js';
import type { ComponentFlags } from './component-flags.js';
import { CliError, EXIT_CONFIG } from './connect.js';

export function healthServer(flags: ComponentFlags, registry: Registry): HealthServer {
  return new HealthServer({
    registry,
    host: flags.metricsBindAddress.host,
    port: flags.metricsBindAddress.port,
  });
}

/** Listens unless the port is 0; a port in use is a one-line configuration error. */
export async function serveHealth(health: HealthServer, flags: ComponentFlags): Promise<void> {
  const { host, port } = flags.metricsBindAddress;
  if (port === 0) return;
  try {
    await health.listen();
  } catch (err) {
    throw new CliError(`cannot serve metrics on ${host}:${port}: ${oneLine(err)}`, EXIT_CONFIG);
  }
}
