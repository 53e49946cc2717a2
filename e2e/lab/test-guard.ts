import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_STATE_DIR } from './state.js';

/**
 * The lab's namespace names are fixed, so the lab tests would tear down a lab a person is using.
 * They refuse to start instead.
 */
export function refuseIfUserLabIsUp(): void {
  if (existsSync(join(DEFAULT_STATE_DIR, 'lab.json'))) {
    throw new Error(
      'a lab made by `portico lab up` is running; the lab tests use the same namespace names: run `portico lab down` first',
    );
  }
}
