/** Facts about a Pod the lab kubelet derives without I/O: where its files go, its grace period, its restarts. */
import { join } from 'node:path';
import type { Pod } from './pod-types.js';

const DEFAULT_GRACE_SECONDS = 30;

/** The directory of a Pod's kubeconfig and logs: `<podDir>/<namespace>_<name>_<uid>`. */
export function podDirectory(podDir: string, pod: Pod): string {
  const { namespace, name, uid } = pod.metadata;
  return join(podDir, `${namespace}_${name}_${uid}`);
}

/** The grace period of a deletion: the one the delete asked for, else the Pod's own, else 30 s. */
export function gracePeriodMs(pod: Pod): number {
  const meta = pod.metadata as Pod['metadata'] & { deletionGracePeriodSeconds?: number };
  const seconds =
    meta.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
  return seconds * 1000;
}

/**
 * The restart count a container starts from when the kubelet (re)starts: what its status already
 * counts, plus one if it had run, since its process died with the previous kubelet.
 */
export function restartsSoFar(pod: Pod, container: string): number {
  const status = pod.status?.containerStatuses?.find((s) => s.name === container);
  if (!status) return 0;
  return status.restartCount + (status.state?.running || status.state?.terminated ? 1 : 0);
}
