import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_STATE_DIR } from './state.js';

/**
 * The lab's namespace names are fixed, so the lab tests would tear down a lab a person is using
 * (with the default state directory or another one). They refuse to start instead.
 */
export function refuseIfUserLabIsUp(): void {
  const advice = 'the lab tests use the same namespace names: run `portico lab down` first';
  if (existsSync(join(DEFAULT_STATE_DIR, 'lab.json'))) {
    throw new Error(`a lab made by \`portico lab up\` is running; ${advice}`);
  }
  const r = spawnSync('pgrep', ['-af', 'portico.js lab (up|serve)'], { encoding: 'utf8' });
  const running = r.stdout.split('\n').filter((line) => line && !line.includes('pgrep'));
  if (running.length > 0) throw new Error(`a lab is running (${running.join('; ')}); ${advice}`);
}
