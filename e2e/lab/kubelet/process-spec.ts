/**
 * The process a container becomes on a lab node: argv from the image table and the container's
 * command/args, and the environment a kubelet would give it, with `$(VAR)` expansion, fieldRefs,
 * secret and ConfigMap keys, the `kubernetes` Service variables and the lab's KUBECONFIG.
 */
import { basename } from 'node:path';
import { type ImageCommands, resolveImage, unsupportedImageMessage } from '../images/registry.js';
import { expandWith } from './expand.js';
import type { Container, EnvVar, KeySelector, Pod } from './pod-types.js';
import { serviceAccountOf } from './pod-types.js';

export interface ProcessContext {
  nodeName: string;
  hostIP: string;
  /** Defaults to [hostIP]. */
  hostIPs?: string[];
  /** The Pod's addresses (the node's for hostNetwork Pods), primary first. */
  podIPs: string[];
  kubeconfigPath: string;
  /** Secrets of the Pod's namespace by name, with decoded values. */
  secrets?: Record<string, Record<string, string>>;
  configMaps?: Record<string, Record<string, string>>;
  /** The `kubernetes` Service's ClusterIP and port (198.19.0.1 and 443). */
  apiServiceHost?: string;
  apiServicePort?: number;
  /** The image's own environment (PATH, …): lowest precedence and, as in Kubernetes, not expandable. */
  imageEnv?: Record<string, string>;
  /** For tests: how the images run (registry.imageCommands() when absent). */
  commands?: ImageCommands;
}

export type ProcessSpec =
  | { ok: true; argv: string[]; env: Record<string, string>; cwd?: string }
  | { ok: false; reason: 'ImageNotSupported' | 'CreateContainerConfigError'; message: string };

type Failure = Extract<ProcessSpec, { ok: false }>;

/** The executables each lab image provides, by basename, for a container `command` to name. */
export const IMAGE_BINARIES: Record<'echo' | 'portico' | 'kubectl', readonly string[]> = {
  echo: ['echo', 'echo-server'],
  portico: ['portico'],
  kubectl: ['kubectl'],
};

const configError = (message: string): Failure => ({
  ok: false,
  reason: 'CreateContainerConfigError',
  message,
});

/** The variables a kubelet derives from the `kubernetes` Service (docker-link style), as ServiceEnv. */
export function apiServiceEnv(host: string, port: number): Record<string, string> {
  const addr = host.includes(':') ? `[${host}]` : host;
  const prefix = `KUBERNETES_PORT_${port}_TCP`;
  return {
    KUBERNETES_SERVICE_HOST: host,
    KUBERNETES_SERVICE_PORT: String(port),
    KUBERNETES_SERVICE_PORT_HTTPS: String(port),
    KUBERNETES_PORT: `tcp://${addr}:${port}`,
    [prefix]: `tcp://${addr}:${port}`,
    [`${prefix}_PROTO`]: 'tcp',
    [`${prefix}_PORT`]: String(port),
    [`${prefix}_ADDR`]: host,
  };
}

/** Go's FormatMap: sorted `key="value"` lines, as a fieldRef to a whole label/annotation map gives. */
function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(map?.[k])}`)
    .join('\n');
}

/** The value of a downward-API fieldPath, or undefined if the lab does not know the path. */
export function fieldValue(pod: Pod, fieldPath: string, ctx: ProcessContext): string | undefined {
  const { metadata: meta } = pod;
  const sub = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fieldPath);
  if (sub) return (sub[1] === 'labels' ? meta.labels : meta.annotations)?.[sub[2]!] ?? '';
  const hostIPs = ctx.hostIPs ?? [ctx.hostIP];
  const values: Record<string, () => string> = {
    'metadata.name': () => meta.name ?? '',
    'metadata.namespace': () => meta.namespace ?? '',
    'metadata.uid': () => meta.uid ?? '',
    'metadata.labels': () => formatMap(meta.labels),
    'metadata.annotations': () => formatMap(meta.annotations),
    'spec.nodeName': () => pod.spec.nodeName ?? ctx.nodeName,
    'spec.serviceAccountName': () => serviceAccountOf(pod),
    'status.hostIP': () => hostIPs[0] ?? '',
    'status.hostIPs': () => hostIPs.join(','),
    'status.podIP': () => ctx.podIPs[0] ?? '',
    'status.podIPs': () => ctx.podIPs.join(','),
  };
  return Object.hasOwn(values, fieldPath) ? values[fieldPath]!() : undefined;
}

function keyValue(
  kind: 'Secret' | 'ConfigMap',
  ref: KeySelector,
  maps: Record<string, Record<string, string>> | undefined,
  namespace: string,
): string | Failure | undefined {
  const name = ref.name ?? '';
  const data = maps && Object.hasOwn(maps, name) ? maps[name] : undefined;
  if (!data) return ref.optional ? undefined : configError(`${kind.toLowerCase()} "${name}" not found`);
  if (Object.hasOwn(data, ref.key)) return data[ref.key];
  return ref.optional
    ? undefined
    : configError(`couldn't find key ${ref.key} in ${kind} ${namespace}/${name}`);
}

/** One env var's value: a string, undefined to leave it unset (optional ref missing), or a failure. */
function envValue(pod: Pod, v: EnvVar, vars: Record<string, string>, ctx: ProcessContext) {
  const namespace = pod.metadata.namespace ?? 'default';
  const from = v.valueFrom;
  if (!from) return expandWith(v.value ?? '', vars);
  if (from.fieldRef) {
    const value = fieldValue(pod, from.fieldRef.fieldPath, ctx);
    return (
      value ?? configError(`env ${v.name}: the lab does not support fieldPath ${from.fieldRef.fieldPath}`)
    );
  }
  if (from.secretKeyRef) return keyValue('Secret', from.secretKeyRef, ctx.secrets, namespace);
  if (from.configMapKeyRef) return keyValue('ConfigMap', from.configMapKeyRef, ctx.configMaps, namespace);
  return configError(
    `env ${v.name}: the lab supports value, fieldRef, secretKeyRef and configMapKeyRef only`,
  );
}

/** argv, environment and working directory of `container`, or why the lab cannot run it. */
export function containerProcess(pod: Pod, container: Container, ctx: ProcessContext): ProcessSpec {
  const image = resolveImage(container.image, ctx.commands);
  if (!image)
    return { ok: false, reason: 'ImageNotSupported', message: unsupportedImageMessage(container.image) };
  const service = apiServiceEnv(ctx.apiServiceHost ?? '198.19.0.1', ctx.apiServicePort ?? 443);
  const vars: Record<string, string> = { ...service };
  const defined: Record<string, string> = {};
  for (const v of container.env ?? []) {
    const value = envValue(pod, v, vars, ctx);
    if (typeof value === 'object') return value;
    if (value === undefined) continue;
    vars[v.name] = value;
    defined[v.name] = value;
  }
  const command = (container.command ?? []).map((s) => expandWith(s, vars));
  const args = (container.args ?? []).map((s) => expandWith(s, vars));
  let argv = [...image.command, ...args];
  if (command.length > 0) {
    const binaries = IMAGE_BINARIES[image.name];
    if (!binaries.includes(basename(command[0]!))) {
      const want = binaries.join(' or ');
      return configError(
        `command ${JSON.stringify(command[0])} is not in image ${container.image}, which runs ${want}`,
      );
    }
    argv = [...image.command, ...command.slice(1), ...args];
  }
  const env = {
    ...ctx.imageEnv,
    HOSTNAME: (pod.spec.hostNetwork ? ctx.nodeName : pod.metadata.name) ?? '',
    KUBECONFIG: ctx.kubeconfigPath,
    ...service,
    ...defined,
  };
  return container.workingDir ? { ok: true, argv, env, cwd: container.workingDir } : { ok: true, argv, env };
}
