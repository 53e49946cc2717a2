/** The Pod conditions the lab kubelet owns. */
import { setCondition } from '../../../src/k8s/status.js';
import type { Condition } from '../../../src/k8s/types.js';
import type { ContainerStatus, Pod, PodCondition, PodPhase } from './pod-types.js';

/** Waiting reasons that mean the lab cannot run the container; their message goes into the Pod's conditions. */
export const CANNOT_RUN = new Set(['ImageNotSupported', 'CreateContainerConfigError']);
const OWNED = new Set(['Initialized', 'ContainersReady', 'Ready']);

function toCondition(c: PodCondition, now: string): Condition {
  const { lastProbeTime: _, ...rest } = c;
  return {
    ...rest,
    reason: c.reason ?? '',
    message: c.message ?? '',
    lastTransitionTime: c.lastTransitionTime ?? now,
  };
}

function toPodCondition(c: Condition): PodCondition {
  const out: PodCondition = { type: c.type, status: c.status };
  if (c.reason) out.reason = c.reason;
  if (c.message) out.message = c.message;
  // as the API server returns them, so that a status read back compares equal
  return { ...out, lastProbeTime: null, lastTransitionTime: c.lastTransitionTime };
}

/**
 * The Pod's conditions after this update, as the kubelet sets them: PodScheduled (added only if the
 * scheduler's is missing), Initialized, ContainersReady and Ready (False with ContainersNotReady
 * naming the unready containers, PodCompleted once Succeeded, or the reason and message of why the
 * lab cannot run a container). lastTransitionTime moves only when a status changes; conditions
 * other components own are kept as they are.
 */
export function podConditions(
  pod: Pod,
  phase: PodPhase,
  statuses: ContainerStatus[],
  unsupported: { reason: string; message: string } | undefined,
  now: string,
): PodCondition[] {
  const existing = pod.status?.conditions ?? [];
  let list = existing.map((c) => toCondition(c, now));
  const set = (type: string, ok: boolean, reason = '', message = '') => {
    list = setCondition(list, { type, status: ok ? 'True' : 'False', reason, message }, now);
  };
  if (!list.some((c) => c.type === 'PodScheduled')) set('PodScheduled', true);
  set('Initialized', true, phase === 'Succeeded' ? 'PodCompleted' : '');
  const unready = pod.spec.containers
    .map((c) => c.name)
    .filter((n) => !statuses.find((s) => s.name === n)?.ready);
  const blocked = statuses.find((s) => CANNOT_RUN.has(s.state?.waiting?.reason ?? ''))?.state?.waiting;
  const cannot = unsupported ?? (blocked && { reason: blocked.reason ?? '', message: blocked.message ?? '' });
  for (const type of ['ContainersReady', 'Ready']) {
    if (unready.length === 0) set(type, true);
    else if (phase === 'Succeeded') set(type, false, 'PodCompleted');
    else if (cannot) set(type, false, cannot.reason, cannot.message);
    else set(type, false, 'ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`);
  }
  return list.map((c) => {
    const original = existing.find((e) => e.type === c.type);
    return OWNED.has(c.type) || !original ? toPodCondition(c) : original;
  });
}
