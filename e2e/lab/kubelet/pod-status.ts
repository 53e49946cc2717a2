/**
 * The status the lab kubelet writes for a Pod, from what it observed of the Pod's processes, as
 * the kubelet generates it: phase (kubelet getPhase), conditions (pod-conditions.ts), addresses
 * and container statuses sorted by name. Fields it does not own (qosClass, …) are kept.
 */
import { podConditions } from './pod-conditions.js';
import type {
  ContainerState,
  ContainerStateTerminated,
  ContainerStatus,
  Pod,
  PodPhase,
  PodStatus,
} from './pod-types.js';

export interface Termination {
  exitCode: number;
  reason?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface ObservedContainer {
  state: 'waiting' | 'running' | 'terminated';
  /** waiting: ContainerCreating (never ran), CrashLoopBackOff (ran before) unless given; terminated: Completed / Error. */
  reason?: string;
  message?: string;
  exitCode?: number;
  startedAt?: string;
  finishedAt?: string;
  restartCount: number;
  /** Readiness from the probe (probe.containerReady); counts only while running. */
  ready: boolean;
  lastTermination?: Termination;
}

export interface ObservedPod {
  /** By container name; a container not listed is waiting in ContainerCreating. */
  containers: Record<string, ObservedContainer>;
  podIPs: string[];
  hostIP: string;
  hostIPs?: string[];
  startTime?: string;
  /** Why the lab cannot run the Pod (ImageNotSupported / CreateContainerConfigError), for its conditions. */
  unsupported?: { reason: string; message: string };
}

const CREATING: ObservedContainer = { state: 'waiting', restartCount: 0, ready: false };

function terminated(t: Termination): { terminated: ContainerStateTerminated } {
  const out: ContainerStateTerminated = {
    exitCode: t.exitCode,
    reason: t.reason ?? (t.exitCode === 0 ? 'Completed' : 'Error'),
  };
  if (t.message) out.message = t.message;
  if (t.startedAt) out.startedAt = t.startedAt;
  if (t.finishedAt) out.finishedAt = t.finishedAt;
  return { terminated: out };
}

function containerState(o: ObservedContainer): ContainerState {
  if (o.state === 'running') return { running: o.startedAt ? { startedAt: o.startedAt } : {} };
  if (o.state === 'terminated') return terminated({ ...o, exitCode: o.exitCode ?? 0 });
  const reason = o.reason ?? (o.lastTermination ? 'CrashLoopBackOff' : 'ContainerCreating');
  return { waiting: o.message ? { reason, message: o.message } : { reason } };
}

/** The phase from container statuses, as kubelet's getPhase (no init containers). */
export function podPhase(pod: Pod, statuses: ContainerStatus[]): PodPhase {
  const previous = pod.status?.phase;
  if (previous === 'Succeeded' || previous === 'Failed') return previous;
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of statuses) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.lastState?.terminated) stopped++;
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped === 0) return 'Pending';
  // a Pod being deleted whose containers all stopped is terminal whatever its restartPolicy
  const policy = pod.metadata.deletionTimestamp ? 'Never' : (pod.spec.restartPolicy ?? 'Always');
  if (policy === 'Always') return 'Running';
  if (stopped === succeeded) return 'Succeeded';
  return policy === 'Never' ? 'Failed' : 'Running';
}

/** The Pod's status from what the lab kubelet observed; `now` is the RFC 3339 time of this update. */
export function podStatus(pod: Pod, observed: ObservedPod, now: string): PodStatus {
  const statuses = pod.spec.containers
    .map((c): ContainerStatus => {
      const o = Object.hasOwn(observed.containers, c.name) ? observed.containers[c.name]! : CREATING;
      const running = o.state === 'running';
      return {
        name: c.name,
        image: c.image,
        ready: running && o.ready,
        started: running,
        restartCount: o.restartCount,
        state: containerState(o),
        lastState: o.lastTermination ? terminated(o.lastTermination) : {},
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const phase = podPhase(pod, statuses);
  const hostIPs = observed.hostIPs ?? [observed.hostIP];
  const status: PodStatus = {
    ...pod.status,
    phase,
    conditions: podConditions(pod, phase, statuses, observed.unsupported, now),
    hostIP: hostIPs[0] ?? observed.hostIP,
    hostIPs: hostIPs.map((ip) => ({ ip })),
    startTime: observed.startTime ?? pod.status?.startTime ?? now,
    containerStatuses: statuses,
  };
  delete status.podIP;
  delete status.podIPs;
  if (observed.podIPs.length > 0) {
    status.podIP = observed.podIPs[0];
    status.podIPs = observed.podIPs.map((ip) => ({ ip }));
  }
  return status;
}
