/**
 * The faults the failover benchmark injects into the owner of a VIP: its cable pulled, its speaker
 * killed (SIGKILL) or stopped (SIGTERM), and the same with the API server frozen (SIGSTOP), so that
 * nothing can come from it. A killed speaker's Pod is deleted and the DaemonSet makes a fresh one, so
 * the kubelet's crash-loop back-off (10 s doubling) never slows the next repetition.
 */
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { setLink } from '../../e2e/lab/faults.js';
import type { Kubectl } from '../../e2e/lab/kubectl.js';
import { speakerPid } from '../../e2e/lab/l2-probe.js';
import type { LabPlan } from '../../e2e/lab/plan.js';
import { signal } from '../../e2e/lab/proc.js';
import type { Fault } from './trial.js';

interface PodList {
  items: {
    metadata: { name: string; deletionTimestamp?: string };
    spec: { nodeName?: string };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}

const SPEAKERS = ['-n', 'portico-system', '-l', 'app.kubernetes.io/component=speaker'];

function speakerPods(kubectl: Kubectl) {
  return kubectl.json<PodList>('get', 'pods', ...SPEAKERS).items;
}

/** Waits until every node has a Ready speaker Pod that is not being deleted. */
export async function speakersReady(kubectl: Kubectl, nodes: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = speakerPods(kubectl).filter(
      (p) =>
        !p.metadata.deletionTimestamp &&
        p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    if (new Set(ready.map((p) => p.spec.nodeName)).size === nodes && ready.length === nodes) return;
    if (Date.now() > deadline) throw new Error(`the speakers did not all become Ready in ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** The lab's kube-apiserver, frozen and thawed. */
export function apiServer(stateDir: string) {
  const pid = () => {
    const r = spawnSync('pgrep', ['-f', `kube-apiserver .*${stateDir}`], { encoding: 'utf8' });
    const pids = r.stdout.split('\n').filter(Boolean).map(Number);
    if (pids.length !== 1)
      throw new Error(`expected one kube-apiserver of ${stateDir}, found ${pids.length}`);
    return pids[0]!;
  };
  return {
    freeze: () => signal(pid(), 'SIGSTOP'),
    thaw: () => signal(pid(), 'SIGCONT'),
  };
}

export function linkCut(plan: LabPlan): Fault {
  return {
    inject: (owner) => setLink(plan, owner, 'down'),
    recover: (owner) => setLink(plan, owner, 'up'),
  };
}

/** Signals the owner's speaker, then replaces its Pod (once the API server answers). */
export function speakerSignal(plan: LabPlan, kubectl: Kubectl, sig: 'SIGKILL' | 'SIGTERM'): Fault {
  return {
    inject: async (owner) => {
      signal(speakerPid(plan, owner), sig);
    },
    recover: async (owner) => {
      const pod = speakerPods(kubectl).find((p) => p.spec.nodeName === owner);
      if (pod)
        kubectl('delete', 'pod', ...SPEAKERS.slice(0, 2), pod.metadata.name, '--grace-period=0', '--force');
      await speakersReady(kubectl, plan.nodes.length);
    },
  };
}

/** The same fault with the API server frozen from before the fault until it is undone. */
export function withoutApiServer(fault: Fault, api: ReturnType<typeof apiServer>): Fault {
  return {
    inject: async (owner) => {
      api.freeze();
      await fault.inject(owner);
    },
    recover: async (owner) => {
      api.thaw();
      await fault.recover(owner);
    },
  };
}

export const noFault: Fault = { inject: async () => {}, recover: async () => {} };
