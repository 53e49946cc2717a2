/** kubectl against a lab's kubeconfig, synchronous and never throwing (except kubectl.json on failure). */
import { spawnSync } from 'node:child_process';

export interface Kubectl {
  (...args: string[]): { code: number | null; stdout: string; stderr: string };
  /** With `input` on stdin (for `-f -`). */
  withInput(input: string, ...args: string[]): { code: number | null; stdout: string; stderr: string };
  /** `-o json`, parsed; throws with kubectl's message when it fails. */
  json<T>(...args: string[]): T;
}

export function kubectlFor(binary: () => string, kubeconfig: string): Kubectl {
  const withInput = (input: string, ...args: string[]) => {
    const r = spawnSync(binary(), ['--kubeconfig', kubeconfig, '--request-timeout=10s', ...args], {
      encoding: 'utf8',
      input,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const kubectl = (...args: string[]) => withInput('', ...args);
  return Object.assign(kubectl, {
    withInput,
    json<T>(...args: string[]): T {
      const r = kubectl(...args, '-o', 'json');
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim()}`);
      return JSON.parse(r.stdout) as T;
    },
  });
}
