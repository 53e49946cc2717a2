/**
 * `lab up`'s last step: install Portico the way a cluster admin would, `kubectl apply -k manifests/`,
 * `kubectl wait --for=condition=Established` on the CRDs it created, then `kubectl apply -R -f
 * examples/` (whose IPAddressPools the API server refuses until their CRD is served). The lab
 * kubelet runs Portico's image as this checkout's binary.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/util/package-root.js';
import { k8sBinaries } from '../cluster/binaries.js';
import { exec } from './exec.js';

export interface InstallSources {
  /** A kustomization directory. Default: the checkout's manifests/. */
  manifests?: string;
  /** A directory of YAML files. Default: the checkout's examples/. */
  examples?: string;
}

const CRD_WAIT_S = 60;

/** The CRDs named in `kubectl apply` output (`customresourcedefinition.apiextensions.k8s.io/<name> created`). */
export function appliedCrds(applyOutput: string): string[] {
  const crd = /^customresourcedefinition\.apiextensions\.k8s\.io\/(\S+) /gm;
  return [...applyOutput.matchAll(crd)].map((m) => m[1] ?? '');
}

const hasYaml = (dir: string) =>
  existsSync(dir) && readdirSync(dir, { recursive: true }).some((f) => /\.ya?ml$/.test(String(f)));

export async function installPortico(
  kubeconfig: string,
  log: (line: string) => void,
  sources: InstallSources = {},
): Promise<void> {
  const manifests =
    sources.manifests ?? process.env.PORTICO_LAB_MANIFESTS ?? join(packageRoot(), 'manifests');
  const examples = sources.examples ?? process.env.PORTICO_LAB_EXAMPLES ?? join(packageRoot(), 'examples');
  const { paths } = await k8sBinaries(['kubectl']);
  const kubectl = async (args: string[], what: string) => {
    const r = await exec(paths.kubectl, ['--kubeconfig', kubeconfig, ...args], { timeoutMs: 90_000 });
    if (r.code !== 0) throw new Error(`installing ${what} failed: ${r.stderr.trim().split('\n')[0]}`);
    for (const line of r.stdout.trim().split('\n').filter(Boolean)) log(`  ${line}`);
    return r.stdout;
  };
  if (existsSync(join(manifests, 'kustomization.yaml'))) {
    log(`installing Portico: kubectl apply -k ${manifests}`);
    const crds = appliedCrds(await kubectl(['apply', '-k', manifests], manifests));
    if (crds.length > 0) {
      log(`waiting until the API server serves ${crds.join(', ')}`);
      const wait = ['wait', '--for=condition=Established', `--timeout=${CRD_WAIT_S}s`];
      await kubectl([...wait, ...crds.map((name) => `crd/${name}`)], `the CRDs ${crds.join(', ')}`);
    }
  } else {
    log(`no kustomization in ${manifests}: nothing of Portico to install`);
  }
  if (hasYaml(examples)) {
    log(`applying the examples: kubectl apply -R -f ${examples}`);
    await kubectl(['apply', '-R', '-f', examples], examples);
  }
}
