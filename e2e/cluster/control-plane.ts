/**
 * A real Kubernetes control plane on loopback for tests: etcd, kube-apiserver and (optionally)
 * kube-controller-manager, with state and one log file per process in a temp dir.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type AdminRequest, requester } from './admin-request.js';
import { type K8sBinaries, type K8sBinaryName, k8sBinaries } from './binaries.js';
import {
  apiserverArgs,
  controllerManagerArgs,
  etcdArgs,
  KCM_CONTROLLERS,
  SERVICE_CLUSTER_IP_RANGE,
  schedulerArgs,
} from './components.js';
import { writeKubeconfig } from './kubeconfig.js';
import { compactEtcd, etcdHealthy, writeServiceAccountKubeconfig } from './operations.js';
import { type Pki, writePki } from './pki.js';
import { freePorts } from './ports.js';
import { ManagedProcess, tailFile, waitUntil } from './process.js';
import { register, unregister } from './registry.js';
import type { ControlPlane, ControlPlaneOptions, StartupTimings } from './types.js';

export type { ControlPlane, ControlPlaneOptions, StartupTimings } from './types.js';

const APISERVER_READY_TIMEOUT_MS = 90_000;
const ETCD_READY_TIMEOUT_MS = 30_000;
const DEFAULT_SA_TIMEOUT_MS = 60_000;

class TestControlPlane implements ControlPlane {
  readonly server: string;
  readonly etcdUrl: string;
  readonly kubeconfigPath: string;
  readonly adminToken: string;
  readonly caPath: string;
  readonly logs: Record<string, string>;
  readonly adminRequest: AdminRequest;
  timings: StartupTimings = { etcdMs: 0, apiserverMs: 0, controllerManagerMs: 0, totalMs: 0 };
  private readonly procs = new Map<string, ManagedProcess>();
  private readonly apiserverArgv: string[];
  private readonly etcdArgv: string[];
  private stopping: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    private readonly ownsDir: boolean,
    private readonly bins: K8sBinaries,
    private readonly pki: Pki,
    ports: { etcdClient: number; etcdPeer: number; apiserver: number },
    private readonly options: ControlPlaneOptions,
  ) {
    const address = options.apiserver?.address ?? '127.0.0.1';
    this.server = `https://${address.includes(':') ? `[${address}]` : address}:${ports.apiserver}`;
    this.etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
    this.kubeconfigPath = join(dir, 'admin.kubeconfig');
    this.adminToken = pki.adminToken;
    this.caPath = pki.caPath;
    const names = [
      'etcd',
      'kube-apiserver',
      ...(this.withKcm ? ['kube-controller-manager'] : []),
      ...(options.scheduler ? ['kube-scheduler'] : []),
    ];
    this.logs = Object.fromEntries(names.map((name) => [name, join(dir, `${name}.log`)]));
    this.adminRequest = requester({ server: this.server, token: pki.adminToken, caPath: pki.caPath });
    this.apiserverArgv = apiserverArgs({
      etcdUrl: this.etcdUrl,
      address,
      port: ports.apiserver,
      serviceClusterIpRange: options.apiserver?.serviceClusterIpRange ?? SERVICE_CLUSTER_IP_RANGE,
      pki,
      withControllerManager: this.withKcm,
      logLevel: this.logLevel,
    });
    this.etcdArgv = etcdArgs({ dir, clientPort: ports.etcdClient, peerPort: ports.etcdPeer });
  }

  private get withKcm(): boolean {
    return this.options.controllerManager ?? true;
  }

  private get logLevel(): number {
    return this.options.logLevel ?? 1;
  }

  private spawn(name: K8sBinaryName, args: readonly string[]): ManagedProcess {
    const proc = new ManagedProcess(name, this.bins.paths[name], args, this.logs[name]!);
    this.procs.set(name, proc);
    if (proc.pid !== undefined) this.options.onSpawn?.(name, proc.pid);
    return proc;
  }

  private proc(name: string): ManagedProcess | undefined {
    return this.procs.get(name);
  }

  async start(): Promise<void> {
    const t0 = performance.now();
    const etcd = this.spawn('etcd', this.etcdArgv);
    await waitUntil(() => etcdHealthy(this.etcdUrl), {
      what: `etcd /health at ${this.etcdUrl}`,
      timeoutMs: ETCD_READY_TIMEOUT_MS,
      watch: [etcd],
    });
    const t1 = performance.now();
    await this.startApiserver();
    await writeKubeconfig(this.kubeconfigPath, {
      server: this.server,
      caPath: this.caPath,
      token: this.adminToken,
      user: 'admin',
    });
    const t2 = performance.now();
    if (this.withKcm) {
      const kcm = this.spawn(
        'kube-controller-manager',
        controllerManagerArgs({
          kubeconfigPath: this.kubeconfigPath,
          controllers: this.options.controllers ?? KCM_CONTROLLERS,
          pki: this.pki,
          logLevel: this.logLevel,
        }),
      );
      await waitUntil(
        async () =>
          (await this.adminRequest('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status ===
          200,
        {
          what: 'the default ServiceAccount (created by KCM)',
          timeoutMs: DEFAULT_SA_TIMEOUT_MS,
          watch: [etcd, this.proc('kube-apiserver')!, kcm],
        },
      );
    }
    if (this.options.scheduler) {
      this.spawn(
        'kube-scheduler',
        schedulerArgs({ kubeconfigPath: this.kubeconfigPath, logLevel: this.logLevel }),
      );
    }
    const t3 = performance.now();
    this.timings = { etcdMs: t1 - t0, apiserverMs: t2 - t1, controllerManagerMs: t3 - t2, totalMs: t3 - t0 };
  }

  async startApiserver(): Promise<void> {
    if (this.stopping) throw new Error('the control plane is stopped');
    if (this.proc('kube-apiserver')?.alive) throw new Error('kube-apiserver is already running');
    const etcd = this.proc('etcd')!;
    const apiserver = this.spawn('kube-apiserver', this.apiserverArgv);
    await waitUntil(
      async () => {
        // The serving cert is self-signed at startup; until it exists there is nothing to verify against.
        if (!existsSync(this.caPath) || !readFileSync(this.caPath, 'utf8').includes('END CERTIFICATE'))
          return false;
        return (await this.adminRequest('GET', '/readyz', undefined, { timeoutMs: 5_000 })).status === 200;
      },
      {
        what: `kube-apiserver /readyz at ${this.server}`,
        timeoutMs: APISERVER_READY_TIMEOUT_MS,
        watch: [etcd, apiserver],
      },
    );
  }

  async killApiserver(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.proc('kube-apiserver')?.kill(signal);
  }

  compactEtcd(): Promise<number> {
    return compactEtcd(this.etcdUrl);
  }

  serviceAccountKubeconfig(namespace: string, name: string): Promise<string> {
    const { adminRequest: request, server, caPath, dir } = this;
    return writeServiceAccountKubeconfig({ request, server, caPath, dir, namespace, name });
  }

  tail(name: string, lines = 40): string {
    const path = this.logs[name];
    if (!path) throw new Error(`no log named ${name} (have ${Object.keys(this.logs).join(', ')})`);
    return tailFile(path, lines);
  }

  pids(): Record<string, number> {
    const running = [...this.procs.values()].filter((proc) => proc.alive && proc.pid !== undefined);
    return Object.fromEntries(running.map((proc) => [proc.name, proc.pid!]));
  }

  tails(lines = 25): string {
    return Object.entries(this.logs)
      .map(([name, path]) => `--- ${name} (${path})\n${tailFile(path, lines)}`)
      .join('\n');
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    // Dependents first: KCM watches the apiserver, the apiserver needs etcd to drain.
    for (const name of ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd']) {
      await this.proc(name)?.stop();
    }
    if (this.ownsDir && !keepDir()) await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
    unregister(this);
  }

  killNow(): void {
    for (const proc of this.procs.values()) proc.killNow();
    if (this.ownsDir && !keepDir()) rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

function keepDir(): boolean {
  return process.env.PORTICO_KEEP_TEST_DIR === '1';
}

/**
 * Starts etcd, kube-apiserver and (unless disabled) kube-controller-manager on loopback and waits
 * until they serve. Always `stop()` the result; on a startup failure everything started is stopped
 * and the error carries the tail of the failing process's log.
 */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const need: K8sBinaryName[] = [
    'etcd',
    'kube-apiserver',
    ...((opts.controllerManager ?? true) ? ['kube-controller-manager' as const] : []),
    ...(opts.scheduler ? ['kube-scheduler' as const] : []),
  ];
  const bins = await k8sBinaries(need);
  const dir = opts.dir ? resolve(opts.dir) : await mkdtemp(join(tmpdir(), 'portico-control-plane-'));
  if (opts.dir) await mkdir(dir, { recursive: true });
  const [pki, [etcdClient, etcdPeer, apiserver]] = await Promise.all([writePki(dir), freePorts(3)]);
  const ports = {
    etcdClient: etcdClient!,
    etcdPeer: etcdPeer!,
    apiserver: opts.apiserver?.port ?? apiserver!,
  };
  const plane = new TestControlPlane(dir, !opts.dir, bins, pki, ports, opts);
  register(plane);
  try {
    await plane.start();
  } catch (err) {
    await plane.stop().catch(() => {});
    if (err instanceof Error && !opts.dir && !keepDir()) {
      err.message += `\n(${dir} was removed; set PORTICO_KEEP_TEST_DIR=1 to keep the logs)`;
    }
    throw err;
  }
  return plane;
}
