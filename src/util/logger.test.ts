import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';

const loggerUrl = new URL('./logger.ts', import.meta.url).href;

/** Runs `body` in a child with `log` (a batched logger); resolves with stderr lines and when each arrived. */
function child(body: string): Promise<{ lines: { msg: string; at: number }[]; code: number | null }> {
  const script = `const { createLogger } = await import(${JSON.stringify(loggerUrl)});
const log = createLogger('test', 'info', { batched: true });
${body}`;
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const started = performance.now();
    const lines: { msg: string; at: number }[] = [];
    let buffered = '';
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', (chunk: string) => {
      buffered += chunk;
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        const msg = line.startsWith('{') ? String((JSON.parse(line) as { msg: string }).msg) : line;
        lines.push({ msg, at: performance.now() - started });
      }
    });
    p.on('error', reject);
    p.on('close', (code) => resolve({ lines, code }));
  });
}

describe('batched logger', () => {
  it('writes a lone line within a fraction of a second, long before the process ends', async () => {
    const { lines } = await child(`log.info('started'); setTimeout(() => log.info('ending'), 1500);`);
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['started', 'ending'],
    );
    assert.ok(lines[0]!.at < lines[1]!.at - 1000, `"started" came at ${lines[0]!.at} ms, with "ending"`);
  });

  it('loses nothing when the process exits right after logging, cleanly or by a crash', async () => {
    const many = `for (let i = 0; i < 1000; i++) log.info({ i }, 'line ' + i);`;
    const exited = await child(`${many} process.exit(3);`);
    assert.equal(exited.code, 3);
    assert.equal(exited.lines.filter((l) => l.msg.startsWith('line ')).length, 1000);
    const crashed = await child(`${many} setImmediate(() => { throw new Error('boom'); });`);
    assert.equal(crashed.code, 1);
    assert.equal(crashed.lines.filter((l) => l.msg.startsWith('line ')).length, 1000);
    assert.ok(crashed.lines.some((l) => l.msg.includes('Error: boom')));
    // Logged last, then the event loop runs dry: the batch is written at exit.
    const ended = await child(
      `log.info('first'); setTimeout(() => { log.error('last'); process.exitCode = 1; }, 100);`,
    );
    assert.equal(ended.code, 1);
    assert.deepEqual(
      ended.lines.map((l) => l.msg),
      ['first', 'last'],
    );
  });

  it('writes a line logged while a slow write is in flight soon after, not at the next log line', async () => {
    // Every write takes 200 ms (a loaded disk): 'last' is batched while the write of 'first' is in
    // flight, and its batch timer fires before that write ends.
    const { lines } = await child(
      `const { default: fs } = await import('node:fs');
const write = fs.write;
fs.write = (...args) => { const cb = args.pop(); return write(...args, (...r) => setTimeout(() => cb(...r), 200)); };
log.info('first');
setTimeout(() => log.info('last'), 80);
setTimeout(() => log.info('ending'), 2000);`,
    );
    const at = (msg: string) => lines.find((l) => l.msg === msg)?.at ?? Number.NaN;
    assert.ok(
      at('last') < at('ending') - 1000,
      `"last" came at ${at('last')} ms, "ending" at ${at('ending')} ms`,
    );
  });
});
