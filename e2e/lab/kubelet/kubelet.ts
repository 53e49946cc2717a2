/**
 * The lab kubelet: runs the Pods the scheduler (or a test) put on one lab node as processes, in
 * pod network namespaces of the node's pod CIDR (or the node's own namespace for hostNetwork),
 * and writes their status back, as the kubelet of a real node would. One PodWorker per Pod.
 */
import { mkdirSync } from 'node:fs';
import { Informer } from '../../../src/k8s/informer.js';
import { Resources } from '../../../src/k8s/resources.js';
import { type Logger, silentLogger } from '../../../src/util/logger.js';
import type { Pod } from './pod-types.js';
import { PodWorker, type PodWorkerContext } from './pod-worker.js';

export interface LabKubeletOptions extends Omit<PodWorkerContext, 'backoff' | 'logger'> {
  logger?: Logger;
  /** CrashLoopBackOff: first delay and cap. Default 10 s and 300 s, as the kubelet. */
  restartBackoff?: { baseMs: number; maxMs: number };
}

export class LabKubelet {
  private readonly workers = new Map<string, PodWorker>();
  private informer: Informer<Pod> | undefined;
  private readonly log: Logger;

  constructor(private readonly options: LabKubeletOptions) {
    this.log = (options.logger ?? silentLogger).child({ kubelet: options.node.name });
  }

  /** Starts watching the node's Pods; resolves once the first list has been handled. */
  async start(): Promise<void> {
    if (this.informer) return;
    mkdirSync(this.options.podDir, { recursive: true, mode: 0o700 });
    // a fresh cache on every start, so that a restarted kubelet sees every Pod again
    const informer = new Informer<Pod>(this.options.client.resource<Pod>(Resources.pods), {
      fieldSelector: `spec.nodeName=${this.options.node.name}`,
      logger: this.log,
    });
    this.informer = informer;
    informer.addHandler({
      onAdd: (pod) => this.observe(pod),
      onUpdate: (_, pod) => this.observe(pod),
      onDelete: (pod) => this.forget(pod),
    });
    informer.start();
    await informer.waitForSync();
    this.log.info('lab kubelet started');
  }

  /** Stops every Pod's processes (SIGTERM, SIGKILL after its grace) and removes their namespaces; Pod objects stay. */
  async stop(): Promise<void> {
    await this.informer?.stop();
    this.informer = undefined;
    const workers = [...this.workers.values()];
    this.workers.clear();
    await Promise.all(workers.map((w) => w.stop()));
    this.log.info({ pods: workers.length }, 'lab kubelet stopped');
  }

  /** Pids of the container processes running now, by Pod uid. */
  processes(): Record<string, number[]> {
    return Object.fromEntries([...this.workers].map(([uid, w]) => [uid, w.pids()]));
  }

  private observe(pod: Pod): void {
    const uid = pod.metadata.uid;
    if (!uid) return;
    const worker = this.workers.get(uid);
    if (worker) worker.update(pod);
    else this.workers.set(uid, new PodWorker(this.workerContext(), pod));
  }

  /** The object is gone (finalised by us or force-deleted): stop what still runs. */
  private forget(pod: Pod): void {
    const uid = pod.metadata.uid ?? '';
    const worker = this.workers.get(uid);
    if (!worker) return;
    this.workers.delete(uid);
    void worker.stop();
  }

  private workerContext(): PodWorkerContext {
    const { logger: _, restartBackoff, ...common } = this.options;
    return { ...common, backoff: restartBackoff ?? { baseMs: 10_000, maxMs: 300_000 }, logger: this.log };
  }
}
