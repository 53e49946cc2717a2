import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package.json above this file, wherever it runs from (src/ under tsx, dist/src/ when built). */
function findPackageJson(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the portico sources');
    dir = parent;
  }
  return join(dir, 'package.json');
}

const pkg = JSON.parse(readFileSync(findPackageJson(), 'utf8')) as { version: string };

export const VERSION: string = pkg.version;

export function versionCommand(args: string[]): number {
  const info = { portico: VERSION, node: process.version, platform: `${process.platform}/${process.arch}` };
  if (args.includes('--json')) console.log(JSON.stringify(info));
  else console.log(`portico ${info.portico} (node ${info.node}, ${info.platform})`);
  return 0;
}
