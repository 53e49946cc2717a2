/**
 * Locates the Kubernetes test binaries built by e2e/k8s-harness/build.sh, building the missing
 * ones on first use. `PORTICO_K8S_BIN` points at a ready folder instead (nothing is built then).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isExecutable } from '../../src/util/files.js';

export type K8sBinaryName =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kube-proxy'
  | 'kubectl';

export interface K8sBinaries {
  /** The folder holding the binaries. */
  dir: string;
  /** Absolute path of each binary (only the requested ones are guaranteed to exist). */
  paths: Record<K8sBinaryName, string>;
}

const ALL: readonly K8sBinaryName[] = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kube-proxy',
  'kubectl',
];
const CONTROL_PLANE: readonly K8sBinaryName[] = ['etcd', 'kube-apiserver', 'kube-controller-manager'];

/** e2e/k8s-harness/, from the source (e2e/cluster/) or from the compiled CLI (dist/e2e/cluster/). */
const harnessDir =
  [
    fileURLToPath(new URL('../k8s-harness/', import.meta.url)),
    fileURLToPath(new URL('../../../e2e/k8s-harness/', import.meta.url)),
  ].find((dir) => existsSync(join(dir, 'go.mod'))) ??
  fileURLToPath(new URL('../k8s-harness/', import.meta.url));

/** The Kubernetes version pinned by the harness go.mod, e.g. `v1.36.3`. */
export function k8sVersion(): string {
  const gomod = readFileSync(join(harnessDir, 'go.mod'), 'utf8');
  const match = /^require k8s\.io\/kubernetes (v[0-9.]+)/m.exec(gomod);
  if (!match?.[1])
    throw new Error(`cannot read the pinned k8s.io/kubernetes version from ${harnessDir}go.mod`);
  return match[1];
}

function pathsIn(dir: string): Record<K8sBinaryName, string> {
  return Object.fromEntries(ALL.map((name) => [name, join(dir, name)])) as Record<K8sBinaryName, string>;
}

/** Runs build.sh for `names`, streaming its progress (stderr) to ours; resolves to the folder it prints. */
function runBuild(names: readonly K8sBinaryName[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(harnessDir, 'build.sh'), ...names], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const folder = stdout.trim().split('\n').at(-1)?.trim();
      if (code === 0 && folder) resolve(folder);
      else
        reject(new Error(`e2e/k8s-harness/build.sh ${names.join(' ')} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

const pending = new Map<string, Promise<K8sBinaries>>();

/**
 * Returns the paths of the Kubernetes binaries, building the missing ones from `need` with build.sh
 * (a cold build takes many minutes). Binaries that already exist are used as they are.
 */
export function k8sBinaries(need: readonly K8sBinaryName[] = CONTROL_PLANE): Promise<K8sBinaries> {
  const key = [...need].sort().join(',');
  let result = pending.get(key);
  if (!result) {
    result = locate(need);
    pending.set(key, result);
    result.catch(() => pending.delete(key));
  }
  return result;
}

/** Where the binaries are (or will be built): $PORTICO_K8S_BIN, $PORTICO_K8S_CACHE or ~/.cache/portico/k8s/<version>. */
export function k8sBinaryDir(): string {
  return (
    process.env.PORTICO_K8S_BIN ??
    process.env.PORTICO_K8S_CACHE ??
    join(homedir(), '.cache', 'portico', 'k8s', k8sVersion())
  );
}

async function locate(need: readonly K8sBinaryName[]): Promise<K8sBinaries> {
  const override = process.env.PORTICO_K8S_BIN;
  if (override) {
    const missing = need.filter((name) => !isExecutable(join(override, name)));
    if (missing.length > 0) {
      throw new Error(`PORTICO_K8S_BIN=${override} lacks executable ${missing.join(', ')}`);
    }
    return { dir: override, paths: pathsIn(override) };
  }
  const cache = k8sBinaryDir();
  const missing = need.filter((name) => !isExecutable(join(cache, name)));
  if (missing.length === 0) return { dir: cache, paths: pathsIn(cache) };
  process.stderr.write(`portico e2e: building missing Kubernetes binaries: ${missing.join(', ')}\n`);
  const dir = await runBuild(missing);
  const stillMissing = need.filter((name) => !isExecutable(join(dir, name)));
  if (stillMissing.length > 0)
    throw new Error(`build.sh did not produce ${stillMissing.join(', ')} in ${dir}`);
  return { dir, paths: pathsIn(dir) };
}
