/**
 * Starts a test control plane (etcd, kube-apiserver, kube-controller-manager) and keeps it running
 * until Ctrl-C:  node --import tsx e2e/cluster/cli.ts [--no-kcm] [--v=N]
 * Set PORTICO_KEEP_TEST_DIR=1 to keep the state dir (/tmp/portico-control-plane-*) afterwards.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { k8sBinaries } from './binaries.js';
import { startControlPlane } from './control-plane.js';

const args = process.argv.slice(2);
const verbosity = args.find((arg) => arg.startsWith('--v='));
const options = {
  controllerManager: !args.includes('--no-kcm'),
  logLevel: verbosity ? Number(verbosity.slice(4)) : 1,
};

process.stderr.write('starting the test control plane...\n');
const plane = await startControlPlane(options).catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
const t = plane.timings;
const fmt = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
process.stderr.write(
  `ready in ${fmt(t.totalMs)} (etcd ${fmt(t.etcdMs)}, apiserver ${fmt(t.apiserverMs)}, ` +
    `controller-manager ${fmt(t.controllerManagerMs)}); state and logs in ${plane.dir}\n`,
);
console.log(`export KUBECONFIG=${plane.kubeconfigPath}`);
const kubectl = join((await k8sBinaries()).dir, 'kubectl');
process.stderr.write(
  `then e.g.: ${existsSync(kubectl) ? kubectl : 'kubectl'} get ns   (Ctrl-C stops everything)\n`,
);

// The registry's SIGINT/SIGTERM handlers stop the plane and exit. Meanwhile, report crashes.
const expected = Object.keys(plane.pids());
const watchdog = setInterval(() => {
  const running = plane.pids();
  const dead = expected.filter((name) => running[name] === undefined);
  if (dead.length === 0) return;
  clearInterval(watchdog);
  for (const name of dead) process.stderr.write(`${name} died; last lines:\n${plane.tail(name)}\n`);
  void plane.stop().finally(() => process.exit(1));
}, 2_000);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => clearInterval(watchdog));
