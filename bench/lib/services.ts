/** The benchmark's Services: numbered names, distinct addresses from 198.18.0.0/15, bulk create/patch/delete. */
import { createService } from '../../e2e/controller/harness.js';
import type { KubeClient } from '../../src/k8s/client.js';
import { isAlreadyExists } from '../../src/k8s/errors.js';
import { Resources } from '../../src/k8s/resources.js';
import type { Namespace, Service } from '../../src/k8s/types.js';
import { forEachLimited } from './concurrency.js';

export const BENCH_LABEL = 'portico.dev/bench';
const RANGE_BASE = ((198 << 24) >>> 0) | (18 << 16);
const RANGE_SIZE = 2 ** 17;

/** The i-th address of 198.18.0.0/15 after 198.18.0.0 itself. */
export function benchIP(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i >= RANGE_SIZE - 2)
    throw new RangeError(`no benchmark address #${i}`);
  const n = RANGE_BASE + 1 + i;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export const serviceNames = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);

export async function ensureNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.resource<Namespace>(Resources.namespaces).create({ metadata: { name } });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}

/**
 * A LoadBalancer Service as a user would create it, but without node ports: a bare control plane has
 * 2768 of them (30000-32767), fewer than the Services a benchmark creates, and Portico does not use them.
 */
export function createBenchService(client: KubeClient, namespace: string, name: string): Promise<Service> {
  return createService(client, namespace, name, {
    labels: { [BENCH_LABEL]: 'controller-allocation' },
    spec: { allocateLoadBalancerNodePorts: false },
  });
}

/** Creates the named bench Services, `concurrency` at a time. */
export async function createServices(
  client: KubeClient,
  namespace: string,
  names: readonly string[],
  concurrency: number,
): Promise<void> {
  await forEachLimited(names, concurrency, async (name) => {
    await createBenchService(client, namespace, name);
  });
}

/** The baseline's status write: a merge patch of the address alone on the status subresource. */
export async function patchIngress(
  client: KubeClient,
  namespace: string,
  name: string,
  ip: string,
): Promise<void> {
  await client
    .resource<Service>(Resources.services)
    .patch(
      name,
      namespace,
      { status: { loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } } },
      { type: 'merge', subresource: 'status', fieldManager: 'portico-bench' },
    );
}

/** Deletes the named Services and waits until a list of the namespace comes back empty. */
export async function deleteServices(
  client: KubeClient,
  namespace: string,
  names: readonly string[],
  concurrency: number,
): Promise<void> {
  const services = client.resource<Service>(Resources.services);
  await forEachLimited(names, concurrency, async (name) => {
    await services.delete(name, namespace);
  });
  for (let i = 0; ; i++) {
    const left = await services.list({ namespace, limit: 1 });
    if (left.items.length === 0) return;
    if (i >= 600) throw new Error(`Services in ${namespace} still there 60 s after their deletion`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
