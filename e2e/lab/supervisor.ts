/**
 * `portico lab serve`: the lab's cluster, run by a detached process so it outlives `lab up`.
 * It starts the control plane on the host's LAN address, registers one Node per node namespace
 * and keeps them Ready, runs a real kube-proxy and a lab kubelet for each node namespace, and writes `<state>/ready`
 * once all of that works. Every child pid is recorded as it is spawned, so `lab down` cleans up
 * even after a SIGKILL of this process. SIGTERM stops everything in order and exits 0.
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { KubeClient } from '../../src/k8s/client.js';
import { loadKubeconfig } from '../../src/k8s/kubeconfig.js';
import { k8sBinaries, k8sVersion } from '../cluster/binaries.js';
import { KCM_CONTROLLERS } from '../cluster/components.js';
import { type ControlPlane, startControlPlane } from '../cluster/control-plane.js';
import { waitFor } from '../support/wait.js';
import { type KubeProxies, startKubeProxies } from './kube-proxies.js';
import { LabKubelet } from './kubelet/kubelet.js';
import { nodesReady, registerNodes, startHeartbeats } from './lab-nodes.js';
import { type LabPlan, planLab } from './plan.js';
import { clusterPaths, readRecord } from './record.js';
import { LabState } from './state.js';

export const SUPERVISOR_NAME = 'lab-supervisor';
export const SUPERVISOR_COMMAND = 'lab serve';
const READY_TIMEOUT_MS = 100_000;

const LAB_CONTROLLERS = [
  ...KCM_CONTROLLERS,
  'deployment-controller',
  'replicaset-controller',
  'daemonset-controller',
  'node-lifecycle-controller',
];

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

function serviceRange(plan: LabPlan): string {
  return [plan.serviceCidr.v4, ...(plan.serviceCidr.v6 ? [plan.serviceCidr.v6] : [])].join(',');
}

async function allowKubeProxy(plane: ControlPlane): Promise<string> {
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'portico-lab:kube-proxy' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node-proxier' },
    subjects: [{ kind: 'ServiceAccount', name: 'kube-proxy', namespace: 'kube-system' }],
  };
  const res = await plane.adminRequest(
    'POST',
    '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    binding,
  );
  if (![201, 409].includes(res.status))
    throw new Error(`bind kube-proxy to system:node-proxier: HTTP ${res.status}`);
  return plane.serviceAccountKubeconfig('kube-system', 'kube-proxy');
}

/** Runs the lab's cluster until SIGTERM. Resolves once it serves; the process stays up on its timers. */
export async function serveLab(): Promise<void> {
  const state = new LabState();
  const record = readRecord(state);
  if (!record) throw new Error(`no lab is recorded in ${state.dir}`);
  const plan = planLab(record.spec);
  const paths = clusterPaths(state);
  state.recordProcess({ name: SUPERVISOR_NAME, pid: process.pid, command: SUPERVISOR_COMMAND });
  state.recordDir(paths.clusterDir);
  mkdirSync(paths.logDir, { recursive: true });
  rmSync(paths.ready, { force: true });

  let plane: ControlPlane | undefined;
  let proxies: KubeProxies | undefined;
  let heartbeats: { stop(): void } | undefined;
  let kubelets: LabKubelet[] = [];
  let client: KubeClient | undefined;
  let stopping = false;
  const stopAll = async () => {
    rmSync(paths.ready, { force: true });
    await Promise.all(kubelets.map((k) => k.stop()));
    client?.close();
    heartbeats?.stop();
    await proxies?.stop();
    await plane?.stop();
  };
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping the pods, kube-proxies, heartbeats and the control plane`);
    await stopAll();
    log('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  try {
    const started = performance.now();
    const own = new Set([...process.listeners('SIGTERM'), ...process.listeners('SIGINT')]);
    // Every child's command line names the cluster dir (data dir, cert dir or kubeconfig).
    const recordChild = (name: string, pid: number, netns?: string) =>
      state.recordProcess({ name, pid, command: paths.clusterDir, netns });
    plane = await startControlPlane({
      dir: paths.clusterDir,
      apiserver: {
        address: plan.controlPlane.address.v4,
        port: plan.controlPlane.apiserverPort,
        serviceClusterIpRange: serviceRange(plan),
      },
      scheduler: true,
      controllers: LAB_CONTROLLERS,
      onSpawn: (name, pid) => recordChild(name, pid),
    });
    // The control plane's registry stops it on SIGTERM and exits 143; here the order is ours.
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      for (const l of process.listeners(sig)) if (!own.has(l)) process.off(sig, l);
    }
    const apiserverMs = performance.now() - started;
    log(`control plane serves at ${plane.server} after ${apiserverMs.toFixed(0)} ms`);
    copyFileSync(plane.kubeconfigPath, paths.kubeconfig);

    const version = k8sVersion();
    const [proxyKubeconfig, bins] = await Promise.all([allowKubeProxy(plane), k8sBinaries(['kube-proxy'])]);
    await registerNodes(plane.adminRequest, plan, version);
    heartbeats = startHeartbeats(plane.adminRequest, plan, (err) => log(`heartbeat: ${err.message}`));
    proxies = startKubeProxies(plan, {
      binary: bins.paths['kube-proxy'],
      kubeconfig: proxyKubeconfig,
      logDir: paths.logDir,
      onSpawn: (name, pid, netns) => recordChild(name, pid, netns),
      log,
    });
    const request = plane.adminRequest;
    await waitFor('Ready nodes', () => nodesReady(request, plan), { timeoutMs: READY_TIMEOUT_MS });
    const nodesMs = performance.now() - started;
    const running = proxies;
    await waitFor('every kube-proxy /healthz', () => running.healthy(), { timeoutMs: READY_TIMEOUT_MS });
    const proxiesMs = performance.now() - started;
    client = KubeClient.fromKubeconfig(loadKubeconfig({ flag: plane.kubeconfigPath }), {
      userAgent: 'portico-lab-kubelet',
    });
    state.recordDir(paths.podDir);
    const kubeletLog = pino({ level: 'info' }, pino.destination(join(paths.logDir, 'kubelet.log')));
    kubelets = plan.nodes.map(
      (node) =>
        new LabKubelet({
          client: client!,
          plan,
          node,
          state,
          // Pods reach the API as in a cluster: through the `kubernetes` Service, forwarded by kube-proxy.
          apiServer: { server: `https://${plan.kubernetesService}`, caPath: plane!.caPath },
          podDir: paths.podDir,
          logger: kubeletLog,
        }),
    );
    await Promise.all(kubelets.map((k) => k.start()));
    const timings = { apiserverMs, nodesMs, proxiesMs, controlPlane: plane.timings };
    writeFileSync(paths.ready, `${JSON.stringify(timings)}\n`);
    log(`ready: ${JSON.stringify(timings)}`);
  } catch (err) {
    log(`the cluster did not come up: ${(err as Error).message}`);
    await stopAll();
    throw err;
  }
}
