/** What the suites that drive the real `portico lab` binary share. */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/util/package-root.js';
import { LAB_ROUTE_PROTOCOL } from './host-routes.js';
import { isLabTopologyNamespace, teardown } from './teardown.js';
import { refuseIfUserLabIsUp } from './test-guard.js';

export const repoRoot = packageRoot();

/** Runs `node bin/portico.js …` with the given lab state dir; never throws. */
export function porticoWith(stateDir: string) {
  const env = { ...process.env, PORTICO_LAB_STATE_DIR: stateDir };
  return (...args: string[]) => {
    const started = performance.now();
    const r = spawnSync(process.execPath, ['bin/portico.js', ...args], {
      cwd: repoRoot,
      env,
      encoding: 'utf8',
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - started };
  };
}

/** Before a suite: refuse to run over someone's lab, compile the binary, clear lab leftovers. */
export async function prepareLabSuite(): Promise<void> {
  refuseIfUserLabIsUp();
  const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: repoRoot, stdio: 'inherit' });
  await teardown({ matchNamespace: isLabTopologyNamespace });
}

/** The host's routes into the lab, both families, as `ip route` shows them: none once the lab is gone. */
export function labHostRoutes(): string[] {
  return ['-4', '-6'].flatMap((family) =>
    spawnSync('ip', [family, 'route', 'show', 'proto', String(LAB_ROUTE_PROTOCOL)], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((line) => line.trim() !== ''),
  );
}
