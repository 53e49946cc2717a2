import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const processUrl = new URL('./process.ts', import.meta.url).href;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('ManagedProcess', () => {
  it('dies with the process that started it, even when that one is SIGKILLed and runs no handler', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-process-test-'));
    try {
      const script = `const { ManagedProcess } = await import(${JSON.stringify(processUrl)});
const p = new ManagedProcess('sleeper', 'sleep', ['60'], ${JSON.stringify(join(dir, 'sleeper.log'))});
process.stdout.write(String(p.pid) + '\\n');
setInterval(() => {}, 1000);`;
      const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const pid = await new Promise<number>((resolve, reject) => {
        parent.stdout.once('data', (chunk: Buffer) => resolve(Number(String(chunk).trim())));
        parent.once('exit', () => reject(new Error('the parent exited before starting its child')));
      });
      assert.ok(pid > 0 && alive(pid), 'the child runs');
      parent.kill('SIGKILL');
      const deadline = Date.now() + 5000;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(alive(pid), false, `child ${pid} outlived its SIGKILLed parent`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
