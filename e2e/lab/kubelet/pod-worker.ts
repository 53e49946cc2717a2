/**
 * One Pod on a lab node, from its first sight to its end: check that the lab can run it, give it a
 * network namespace and a ServiceAccount kubeconfig, run its containers, keep its status written,
 * and on deletion stop its processes within the grace period and finalise the API object.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient } from '../../../src/k8s/client.js';
import { isConflict, isNotFound, oneLine } from '../../../src/k8s/errors.js';
import { Resources } from '../../../src/k8s/resources.js';
import { updateStatus } from '../../../src/k8s/status.js';
import type { Logger } from '../../../src/util/logger.js';
import { resolveImage } from '../images/registry.js';
import type { LabPlan, NodePlan } from '../plan.js';
import { addPod, removePod } from '../pods.js';
import type { LabState } from '../state.js';
import { ContainerRunner, rfc3339 } from './container.js';
import { readEnvSources } from './env-sources.js';
import { gracePeriodMs, podDirectory, restartsSoFar } from './pod-lifecycle.js';
import { type ObservedContainer, type ObservedPod, podStatus } from './pod-status.js';
import type { Container, Pod } from './pod-types.js';
import { containerProcess, type ProcessContext } from './process-spec.js';
import type { BackoffOptions } from './restart.js';
import { TOKEN_EXPIRATION_SECONDS, writePodKubeconfig } from './token.js';

export const FIELD_MANAGER = 'portico-lab-kubelet';
/** Renew the token at 80% of its life, as the kubelet does. */
const TOKEN_REFRESH_MS = TOKEN_EXPIRATION_SECONDS * 800;

export interface PodWorkerContext {
  client: KubeClient;
  plan: LabPlan;
  /** The node the Pods run on, one of plan.nodes. */
  node: NodePlan;
  state: LabState;
  /** What the Pods' kubeconfigs point at. */
  apiServer: { server: string; caPath: string };
  /** Where each Pod gets `<namespace>_<name>_<uid>/` with its kubeconfig and container logs. */
  podDir: string;
  backoff: BackoffOptions;
  logger: Logger;
}

interface PodNetns {
  netns: string;
  ips: string[];
  /** False for hostNetwork Pods, which live in the node's namespace. */
  owned: boolean;
}

export class PodWorker {
  private pod: Pod;
  private runners: ContainerRunner[] = [];
  private network: PodNetns | undefined;
  /** Containers the lab cannot run, with the waiting reason that says why. */
  private blocked: Record<string, ObservedContainer> = {};
  private unsupported: { reason: string; message: string } | undefined;
  /** Why the containers are still being created (a failing step that is retried), for their status. */
  private creating: string | undefined;
  private readonly startTime: string;
  private readonly halt = new AbortController();
  private readonly setup: Promise<void>;
  private shutdown: Promise<void> | undefined;
  private finalizing: Promise<void> | undefined;
  private tokenTimer: NodeJS.Timeout | undefined;
  private lastWritten = '';
  private syncing: Promise<void> | undefined;
  private dirty = false;
  private readonly log: Logger;

  constructor(
    private readonly ctx: PodWorkerContext,
    pod: Pod,
  ) {
    this.pod = pod;
    this.startTime = pod.status?.startTime ?? rfc3339();
    this.log = ctx.logger.child({ pod: `${pod.metadata.namespace}/${pod.metadata.name}` });
    this.setup = this.prepare().catch((err: unknown) => {
      if (!this.halt.signal.aborted) this.log.error({ err: oneLine(err) }, 'cannot start the pod');
    });
    this.update(pod);
  }

  /** Pids of the containers running now. */
  pids(): number[] {
    return this.runners.flatMap((r) => r.pid ?? []);
  }

  /** A new version of the Pod from the informer. */
  update(pod: Pod): void {
    this.pod = pod;
    if (pod.metadata.deletionTimestamp) void this.finalize();
  }

  /** The kubelet stops: processes and network go, the Pod object stays. */
  stop(): Promise<void> {
    return this.stopEverything(gracePeriodMs(this.pod));
  }

  /** The Pod is being deleted: stop it within its grace period, then delete the object for good. */
  finalize(): Promise<void> {
    this.finalizing ??= (async () => {
      const grace = gracePeriodMs(this.pod);
      this.log.info({ graceMs: grace }, 'pod deleted; stopping its containers');
      await this.stopEverything(grace);
      await this.syncStatus().catch(() => {});
      const { name = '', namespace, uid } = this.pod.metadata;
      const pods = this.ctx.client.resource<Pod>(Resources.pods);
      for (let attempt = 1; ; attempt++) {
        try {
          // as the kubelet: gracePeriodSeconds 0 removes the object; the uid keeps a new Pod of the same name safe
          await pods.delete(name, namespace, { uid, gracePeriodSeconds: 0 });
          this.log.info('pod finalised');
          return;
        } catch (err) {
          if (isNotFound(err) || isConflict(err)) return;
          if (attempt >= 6) {
            this.log.error({ err: oneLine(err) }, 'cannot delete the pod; giving up');
            return;
          }
          this.log.warn({ err: oneLine(err), attempt }, 'cannot delete the pod; retrying');
          await sleep(500 * 2 ** attempt);
        }
      }
    })();
    return this.finalizing;
  }

  private stopEverything(graceMs: number): Promise<void> {
    this.shutdown ??= (async () => {
      this.halt.abort();
      clearTimeout(this.tokenTimer);
      await this.setup;
      await Promise.all(this.runners.map((r) => r.stop(graceMs)));
      try {
        if (this.network?.owned) await removePod(this.network.netns, { state: this.ctx.state });
        rmSync(join(podDirectory(this.ctx.podDir, this.pod), 'kubeconfig'), { force: true });
      } catch (err) {
        // the namespace stays recorded in the state file: `lab down` removes it
        this.log.error({ err: oneLine(err) }, 'cannot remove the pod network');
      }
    })();
    return this.shutdown;
  }

  private get halted(): boolean {
    return this.halt.signal.aborted;
  }

  private processContext(podIPs: string[], kubeconfigPath: string, container: Container): ProcessContext {
    const { node } = this.ctx;
    // HOME is the Pod's own directory, as a container's is its own filesystem: kubectl's cache and
    // anything else a program keeps under ~ stays with the Pod, never in the checkout.
    const path = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: dirname(kubeconfigPath),
    };
    return {
      nodeName: node.name,
      hostIP: node.lan.v4,
      hostIPs: [node.lan.v4, ...(node.lan.v6 ? [node.lan.v6] : [])],
      podIPs,
      kubeconfigPath,
      apiServiceHost: this.ctx.plan.kubernetesService,
      apiServicePort: 443,
      imageEnv:
        resolveImage(container.image ?? '')?.name === 'echo'
          ? { ...path, ...echoIdentity(this.pod, node.name, podIPs) }
          : path,
    };
  }

  private async prepare(): Promise<void> {
    const pod = this.pod;
    const phase = pod.status?.phase;
    if (pod.metadata.deletionTimestamp || phase === 'Succeeded' || phase === 'Failed') return;
    const dir = podDirectory(this.ctx.podDir, pod);
    const kubeconfigPath = join(dir, 'kubeconfig');
    const sources = await this.retry('read the Secrets and ConfigMaps of its env', () =>
      readEnvSources(this.ctx.client, pod),
    );
    if (!sources) return;
    const { node } = this.ctx;
    const hostIPs = [node.lan.v4, ...(node.lan.v6 ? [node.lan.v6] : [])];
    const check = (ips: string[]) =>
      pod.spec.containers.map((c) => ({
        container: c,
        spec: containerProcess(pod, c, { ...this.processContext(ips, kubeconfigPath, c), ...sources }),
      }));
    for (const { container, spec } of check(pod.spec.hostNetwork ? hostIPs : [])) {
      if (spec.ok) continue;
      const { reason, message } = spec;
      this.blocked[container.name] = { state: 'waiting', reason, message, restartCount: 0, ready: false };
      this.unsupported ??= { reason, message };
    }
    if (this.unsupported) {
      this.log.info(this.unsupported, 'the lab cannot run this pod');
      this.requestSync();
      return;
    }
    this.requestSync();
    const network = await this.retry('create its network namespace', () => this.createNetwork());
    if (!network) return;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const token = await this.retry('write its ServiceAccount kubeconfig', () =>
      writePodKubeconfig(this.ctx.client, pod, kubeconfigPath, this.ctx.apiServer).then(() => true),
    );
    if (!token || this.halted) return;
    this.scheduleTokenRefresh(kubeconfigPath);
    for (const { container, spec } of check(network.ips)) {
      if (!spec.ok) throw new Error(`container ${container.name}: ${spec.message}`);
      this.runners.push(
        new ContainerRunner({
          pod,
          container,
          argv: spec.argv,
          env: spec.env,
          cwd: spec.cwd,
          netns: network.netns,
          nodeNetns: node.netns,
          podIP: network.ips[0] ?? '',
          logPath: join(dir, `${container.name}.log`),
          state: this.ctx.state,
          backoff: this.ctx.backoff,
          logger: this.log,
          restartCount: restartsSoFar(pod, container.name),
          onChange: () => this.requestSync(),
        }),
      );
    }
    for (const runner of this.runners) runner.start();
  }

  private async createNetwork(): Promise<PodNetns> {
    const { node, plan, state } = this.ctx;
    if (this.pod.spec.hostNetwork) {
      const ips = [node.lan.v4, ...(node.lan.v6 ? [node.lan.v6] : [])];
      this.network = { netns: node.netns, ips, owned: false };
    } else {
      const { namespace, name } = this.pod.metadata;
      const added = await addPod(plan, node.name, { name: `${namespace}/${name}`, state });
      const ips = [added.ips.v4, ...(added.ips.v6 ? [added.ips.v6] : [])];
      this.network = { netns: added.netns, ips, owned: true };
      if (this.halted) await removePod(added.netns, { state }).then(() => (this.network = undefined));
    }
    return this.network ?? Promise.reject(new Error('stopped'));
  }

  /** Runs `step` until it succeeds (backing off up to 30 s) or the worker stops; undefined if it stopped. */
  private async retry<T>(what: string, step: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 0; !this.halted; attempt++) {
      try {
        const result = await step();
        if (this.creating) {
          this.creating = undefined;
          this.requestSync();
        }
        return result;
      } catch (err) {
        if (this.halted) return undefined;
        const delay = Math.min(30_000, 1000 * 2 ** attempt);
        this.log.warn({ err: oneLine(err), retryInMs: delay }, `cannot ${what}; retrying`);
        this.creating = `cannot ${what}: ${oneLine(err)}`;
        this.requestSync();
        await sleep(delay, undefined, { signal: this.halt.signal }).catch(() => {});
      }
    }
    return undefined;
  }

  private scheduleTokenRefresh(path: string): void {
    this.tokenTimer = setTimeout(() => {
      writePodKubeconfig(this.ctx.client, this.pod, path, this.ctx.apiServer)
        .then(() => this.scheduleTokenRefresh(path))
        .catch((err: unknown) => {
          this.log.warn({ err: oneLine(err) }, 'cannot renew the ServiceAccount token; retrying in 10 s');
          this.tokenTimer = setTimeout(() => this.scheduleTokenRefresh(path), 10_000);
        });
    }, TOKEN_REFRESH_MS);
    this.tokenTimer.unref();
  }

  private observed(): ObservedPod {
    const { node } = this.ctx;
    const containers: Record<string, ObservedContainer> = {};
    if (this.creating) {
      const creating = { reason: 'ContainerCreating', message: this.creating };
      for (const c of this.pod.spec.containers)
        containers[c.name] = { state: 'waiting', ...creating, restartCount: 0, ready: false };
    }
    Object.assign(containers, this.blocked);
    for (const r of this.runners) containers[r.name] = r.observed();
    return {
      containers,
      podIPs: this.network?.ips ?? [],
      hostIP: node.lan.v4,
      hostIPs: [node.lan.v4, ...(node.lan.v6 ? [node.lan.v6] : [])],
      startTime: this.startTime,
      ...(this.unsupported ? { unsupported: this.unsupported } : {}),
    };
  }

  /** Writes the status soon; writes never overlap and a burst of changes makes one write. */
  private requestSync(): void {
    if (this.halted) return; // a stopped kubelet writes nothing; finalize writes the last status itself
    this.dirty = true;
    this.syncing ??= (async () => {
      while (this.dirty) {
        this.dirty = false;
        try {
          await this.syncStatus();
        } catch (err) {
          if (this.halted) return;
          this.log.warn({ err: oneLine(err) }, 'cannot write the pod status; retrying in 1 s');
          await sleep(1000, undefined, { signal: this.halt.signal }).catch(() => {});
          this.dirty = !this.halted;
        }
      }
    })().finally(() => {
      this.syncing = undefined;
    });
  }

  /** Patches pods/status when what the lab observed changed since the last write. */
  private async syncStatus(): Promise<void> {
    const observed = this.observed();
    const key = JSON.stringify([observed, Boolean(this.pod.metadata.deletionTimestamp)]);
    if (key === this.lastWritten) return;
    const { name, namespace, uid } = this.pod.metadata;
    await updateStatus(
      this.ctx.client.resource<Pod>(Resources.pods),
      name ?? '',
      namespace,
      (current) => (current.metadata.uid === uid ? podStatus(current, observed, rfc3339()) : undefined),
      { fieldManager: FIELD_MANAGER },
    );
    this.lastWritten = key;
  }
}

/**
 * The lab's echo image knows which pod it serves without the downward-API env a real echo
 * Deployment would set, so `kubectl create deployment --image=portico-lab/echo` answers with its
 * identity. Lowest precedence: the Pod's own env wins.
 */
function echoIdentity(pod: Pod, nodeName: string, podIPs: string[]): Record<string, string> {
  return {
    POD_NAME: pod.metadata.name ?? '',
    POD_NAMESPACE: pod.metadata.namespace ?? '',
    NODE_NAME: nodeName,
    POD_IP: podIPs[0] ?? '',
  };
}
