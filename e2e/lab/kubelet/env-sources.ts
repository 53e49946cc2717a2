/** The Secrets and ConfigMaps a Pod's env refers to, read from the API server for containerProcess. */
import type { KubeClient } from '../../../src/k8s/client.js';
import { isNotFound } from '../../../src/k8s/errors.js';
import { Resources } from '../../../src/k8s/resources.js';
import type { KubeObject } from '../../../src/k8s/types.js';
import type { Pod } from './pod-types.js';

interface DataObject extends KubeObject {
  data?: Record<string, string>;
}

export interface EnvSources {
  secrets: Record<string, Record<string, string>>;
  configMaps: Record<string, Record<string, string>>;
}

/** Reads every Secret and ConfigMap named by a secretKeyRef / configMapKeyRef; missing ones are left out. */
export async function readEnvSources(client: KubeClient, pod: Pod): Promise<EnvSources> {
  const namespace = pod.metadata.namespace ?? 'default';
  const env = pod.spec.containers.flatMap((c) => c.env ?? []);
  const secretNames = new Set(env.flatMap((v) => v.valueFrom?.secretKeyRef?.name ?? []));
  const configMapNames = new Set(env.flatMap((v) => v.valueFrom?.configMapKeyRef?.name ?? []));
  const read = async (kind: 'secrets' | 'configMaps', name: string) => {
    try {
      const obj = await client.resource<DataObject>(Resources[kind]).get(name, namespace);
      const data = obj.data ?? {};
      if (kind === 'configMaps') return [name, data] as const;
      const decoded = Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]);
      return [name, Object.fromEntries(decoded)] as const;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  const [secrets, configMaps] = await Promise.all([
    Promise.all([...secretNames].map((n) => read('secrets', n))),
    Promise.all([...configMapNames].map((n) => read('configMaps', n))),
  ]);
  const present = (list: (readonly [string, Record<string, string>] | undefined)[]) =>
    Object.fromEntries(list.filter((e) => e !== undefined));
  return { secrets: present(secrets), configMaps: present(configMaps) };
}
