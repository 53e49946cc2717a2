/**
 * The Pod's credentials, as the kubelet projects them: a TokenRequest for the Pod's ServiceAccount,
 * bound to the Pod (so the token dies with it), written into a kubeconfig next to the Pod's logs.
 */

import type { KubeClient } from '../../../src/k8s/client.js';
import { writeKubeconfig } from '../../cluster/kubeconfig.js';
import { type Pod, serviceAccountOf } from './pod-types.js';

export const TOKEN_EXPIRATION_SECONDS = 3600;

interface TokenRequestStatus {
  status?: { token?: string; expirationTimestamp?: string };
}

/** A token for the Pod's ServiceAccount with the API server's default audience, bound to the Pod. */
export async function requestPodToken(client: KubeClient, pod: Pod): Promise<string> {
  const namespace = pod.metadata.namespace ?? 'default';
  const sa = serviceAccountOf(pod);
  const body = {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: {
      expirationSeconds: TOKEN_EXPIRATION_SECONDS,
      boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.metadata.name, uid: pod.metadata.uid },
    },
  };
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(sa)}/token`;
  const res = await client.request<TokenRequestStatus>('POST', path, { body });
  const token = res?.status?.token;
  if (!token) throw new Error(`the TokenRequest for ServiceAccount ${namespace}/${sa} returned no token`);
  return token;
}

export interface PodKubeconfig {
  server: string;
  caPath: string;
}

/** Writes `path` (mode 0600): the API server, its CA file and a fresh token of the Pod's ServiceAccount. */
export async function writePodKubeconfig(
  client: KubeClient,
  pod: Pod,
  path: string,
  api: PodKubeconfig,
): Promise<void> {
  const token = await requestPodToken(client, pod);
  const namespace = pod.metadata.namespace ?? 'default';
  await writeKubeconfig(path, {
    server: api.server,
    caPath: api.caPath,
    token,
    user: `system:serviceaccount:${namespace}:${serviceAccountOf(pod)}`,
    namespace,
  });
}
