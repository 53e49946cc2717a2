/** What `lab up` and `lab status` say about the lab's cluster, seen as a user sees it: through kubectl. */
import { existsSync } from 'node:fs';
import { k8sBinaries } from '../cluster/binaries.js';
import { exec } from './exec.js';
import { kubeProxyHealth } from './kube-proxies.js';
import type { LabPlan } from './plan.js';
import { clusterPaths } from './record.js';
import type { LabState } from './state.js';
import { runningSupervisor } from './supervisor-control.js';

async function kubectl(state: LabState, args: readonly string[]) {
  const { paths } = await k8sBinaries(['kubectl']);
  return exec(paths.kubectl, [
    '--kubeconfig',
    clusterPaths(state).kubeconfig,
    '--request-timeout=5s',
    ...args,
  ]);
}

/** `kubectl get nodes,svc -A -o wide` with the lab's kubeconfig. */
export async function kubectlOverview(state: LabState): Promise<string> {
  const r = await kubectl(state, ['get', 'nodes,svc', '-A', '-o', 'wide']);
  return r.code === 0 ? r.stdout : `(kubectl failed: ${r.stderr.trim()})\n`;
}

interface NodeList {
  items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
}

export interface ClusterHealth {
  healthy: boolean;
  lines: string[];
}

export async function clusterHealth(plan: LabPlan, state: LabState): Promise<ClusterHealth> {
  const lines: string[] = [];
  let healthy = true;
  const report = (ok: boolean, what: string) => {
    healthy &&= ok;
    lines.push(`${ok ? 'ok     ' : 'FAILED '} ${what}`);
  };
  const supervisor = runningSupervisor(state);
  report(
    supervisor !== undefined,
    `lab supervisor ${supervisor === undefined ? 'is not running' : `pid ${supervisor}`}`,
  );
  if (!existsSync(clusterPaths(state).kubeconfig)) {
    report(false, 'no kubeconfig: the cluster never started');
    return { healthy, lines };
  }
  const server = `https://${plan.controlPlane.address.v4}:${plan.controlPlane.apiserverPort}`;
  const readyz = await kubectl(state, ['get', '--raw', '/readyz']);
  report(
    readyz.code === 0,
    `kube-apiserver ${server} /readyz ${readyz.code === 0 ? 'ok' : readyz.stderr.trim()}`,
  );
  if (readyz.code === 0) {
    const nodes = await kubectl(state, ['get', 'nodes', '-o', 'json']);
    const items = nodes.code === 0 ? (JSON.parse(nodes.stdout) as NodeList).items : [];
    for (const node of plan.nodes) {
      const item = items.find((i) => i.metadata.name === node.name);
      const ready = item?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      report(ready, `node ${node.name} ${item ? (ready ? 'Ready' : 'NotReady') : 'missing'}`);
    }
  }
  const health = await Promise.all(plan.nodes.map((n) => kubeProxyHealth(n.netns)));
  plan.nodes.forEach((node, i) => {
    report(health[i] === 200, `kube-proxy on ${node.name} /healthz ${health[i] || 'does not answer'}`);
  });
  return { healthy, lines };
}
