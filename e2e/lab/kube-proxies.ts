/**
 * A real kube-proxy in every node namespace, against the lab apiserver: it programs that
 * namespace's netfilter tables, so ClusterIPs and NodePorts work there as on a real node. One
 * that exits is restarted with a backoff (1 s doubling to 30 s, reset after a minute of running).
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ManagedProcess } from '../cluster/process.js';
import { tryInNetns } from './exec.js';
import type { LabPlan, NodePlan } from './plan.js';

export const KUBE_PROXY_HEALTHZ = '127.0.0.1:10256';
const MAX_BACKOFF_MS = 30_000;
const STABLE_MS = 60_000;

export interface KubeProxyOptions {
  binary: string;
  kubeconfig: string;
  logDir: string;
  /** Called with every pid spawned, so a crash-safe teardown can find it. */
  onSpawn: (name: string, pid: number, netns: string) => void;
  log: (line: string) => void;
}

export function kubeProxyArgs(plan: LabPlan, node: NodePlan, kubeconfig: string): string[] {
  const clusterCidr = [plan.podSupernet.v4, ...(plan.podSupernet.v6 ? [plan.podSupernet.v6] : [])];
  return [
    `--kubeconfig=${kubeconfig}`,
    `--hostname-override=${node.name}`,
    `--cluster-cidr=${clusterCidr.join(',')}`,
    '--proxy-mode=iptables',
    '--nodeport-addresses=primary',
    '--metrics-bind-address=127.0.0.1:10249',
    `--healthz-bind-address=${KUBE_PROXY_HEALTHZ}`,
    // nf_conntrack_max is global (read-only in a namespace): leave every conntrack setting alone.
    '--conntrack-max-per-core=0',
    '--conntrack-tcp-timeout-established=0',
    '--conntrack-tcp-timeout-close-wait=0',
    '--v=1',
  ];
}

class SupervisedKubeProxy {
  private proc: ManagedProcess | undefined;
  private stopped = false;
  private backoffMs = 1_000;

  constructor(
    private readonly plan: LabPlan,
    readonly node: NodePlan,
    private readonly opts: KubeProxyOptions,
  ) {}

  get name(): string {
    return `kube-proxy-${this.node.name}`;
  }

  get alive(): boolean {
    return this.proc?.alive ?? false;
  }

  start(): void {
    const args = ['netns', 'exec', this.node.netns, this.opts.binary];
    args.push(...kubeProxyArgs(this.plan, this.node, this.opts.kubeconfig));
    const proc = new ManagedProcess(this.name, 'ip', args, join(this.opts.logDir, `${this.name}.log`));
    this.proc = proc;
    if (proc.pid !== undefined) this.opts.onSpawn(this.name, proc.pid, this.node.netns);
    const started = performance.now();
    void proc.exited.then(async () => {
      if (this.stopped) return;
      if (performance.now() - started > STABLE_MS) this.backoffMs = 1_000;
      this.opts.log(`${proc.describeExit()}; restarting in ${this.backoffMs} ms`);
      await sleep(this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
      if (!this.stopped) this.start();
    });
  }

  /** /healthz answers 200 once the first full sync of the rules is done. */
  async healthy(): Promise<boolean> {
    if (!this.alive) return false;
    return (await kubeProxyHealth(this.node.netns)) === 200;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.proc?.stop(5_000);
  }
}

/** The HTTP status of kube-proxy's /healthz inside a node namespace (0 if nothing answers). */
export async function kubeProxyHealth(netns: string): Promise<number> {
  const r = await tryInNetns(
    netns,
    'curl',
    ['-s', '-o', '/dev/null', '-m', '2', '-w', '%{http_code}', `http://${KUBE_PROXY_HEALTHZ}/healthz`],
    { timeoutMs: 5_000 },
  );
  return Number(r.stdout.trim()) || 0;
}

export interface KubeProxies {
  healthy(): Promise<boolean>;
  stop(): Promise<void>;
}

export function startKubeProxies(plan: LabPlan, opts: KubeProxyOptions): KubeProxies {
  const proxies = plan.nodes.map((node) => new SupervisedKubeProxy(plan, node, opts));
  for (const proxy of proxies) proxy.start();
  return {
    healthy: async () => (await Promise.all(proxies.map((p) => p.healthy()))).every(Boolean),
    stop: async () => {
      await Promise.all(proxies.map((p) => p.stop()));
    },
  };
}
