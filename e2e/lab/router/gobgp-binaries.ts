/**
 * Which gobgpd and gobgp the lab runs: $PORTICO_GOBGPD / $PORTICO_GOBGP, else the build of
 * e2e/gobgp-harness (made by scripts/setup.sh; new enough to install routes through FRR's zebra),
 * else whatever is on PATH (Debian's 3.10, which cannot).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** e2e/gobgp-harness/, from the source (e2e/lab/router/) or from the compiled CLI (dist/e2e/lab/router/). */
const harnessDir = [
  fileURLToPath(new URL('../../gobgp-harness/', import.meta.url)),
  fileURLToPath(new URL('../../../../e2e/gobgp-harness/', import.meta.url)),
].find((dir) => existsSync(join(dir, 'go.mod')));

function pinnedVersion(): string | undefined {
  if (!harnessDir) return undefined;
  const gomod = readFileSync(join(harnessDir, 'go.mod'), 'utf8');
  return /^\s*github\.com\/osrg\/gobgp\/v3 (v[0-9.]+)/m.exec(gomod)?.[1];
}

export function gobgpBinary(name: 'gobgpd' | 'gobgp'): string {
  const override = process.env[name === 'gobgpd' ? 'PORTICO_GOBGPD' : 'PORTICO_GOBGP'];
  if (override) return override;
  const version = pinnedVersion();
  const cached =
    version &&
    join(process.env.PORTICO_GOBGP_CACHE ?? join(homedir(), '.cache/portico/gobgp', version), name);
  return cached && existsSync(cached) ? cached : name;
}
