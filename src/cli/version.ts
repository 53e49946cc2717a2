import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';

const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };

export const VERSION: string = pkg.version;

export function versionCommand(args: string[]): number {
  const info = { portico: VERSION, node: process.version, platform: `${process.platform}/${process.arch}` };
  if (args.includes('--json')) console.log(JSON.stringify(info));
  else console.log(`portico ${info.portico} (node ${info.node}, ${info.platform})`);
  return 0;
}
