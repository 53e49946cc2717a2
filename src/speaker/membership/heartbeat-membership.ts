/**
 * The main thread's handle on the heartbeat worker (heartbeat-worker.ts): starts it, passes it the
 * peers (from the Kubernetes Nodes) and this node's claims, and reports each new membership view.
 * If the worker dies, the speaker cannot know who is alive any more, so that is reported as fatal.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FromWorker, HeartbeatWorkerData, ToWorker } from './heartbeat-worker.js';
import type { MemberChange, MembershipView, Peer } from './types.js';

export interface HeartbeatMembershipOptions extends HeartbeatWorkerData {
  onView(view: MembershipView, changes: readonly MemberChange[]): void;
  onDropped?(reason: string): void;
  /** The worker failed: its socket errored or it exited unexpectedly. */
  onFatal(error: Error): void;
}

/**
 * The compiled worker beside this file (dist); from source (tests through tsx) the TypeScript file,
 * loaded by a small bootstrap that registers tsx, which a worker thread does not inherit.
 */
function startWorker(workerData: HeartbeatWorkerData): Worker {
  const js = new URL('./heartbeat-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData });
  const ts = new URL('./heartbeat-worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(ts)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

export class HeartbeatMembership {
  private readonly worker: Worker;
  private stopping = false;
  readonly listening: Promise<number>;

  constructor(private readonly o: HeartbeatMembershipOptions) {
    const { onView: _v, onDropped: _d, onFatal: _f, ...data } = o;
    this.worker = startWorker(data);
    this.listening = new Promise((resolve, reject) => {
      this.worker.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'listening':
            resolve(m.port);
            break;
          case 'view':
            this.o.onView(m.view, m.changes);
            break;
          case 'dropped':
            this.o.onDropped?.(m.reason);
            break;
          case 'error':
            reject(new Error(m.message));
            this.o.onFatal(new Error(m.message));
            break;
        }
      });
      this.worker.on('error', (err) => {
        reject(err);
        this.o.onFatal(err);
      });
      this.worker.on('exit', (code) => {
        const err = new Error(`the membership worker exited with code ${code}`);
        reject(err);
        if (!this.stopping) this.o.onFatal(err);
      });
    });
    // Reported through onFatal as well; this only keeps an unawaited promise from being "unhandled".
    this.listening.catch(() => {});
  }

  setPeers(peers: Peer[]): void {
    this.post({ type: 'peers', peers });
  }

  setClaims(ips: Iterable<string>): void {
    this.post({ type: 'claims', ips: [...ips] });
  }

  /** Announces that this node is leaving: peers take its addresses over at once. */
  leave(): void {
    this.post({ type: 'leave' });
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.post({ type: 'stop' });
    const timer = setTimeout(() => void this.worker.terminate(), 1000);
    await exited;
    clearTimeout(timer);
  }

  private post(m: ToWorker): void {
    if (!this.stopping || m.type === 'stop') this.worker.postMessage(m);
  }
}
