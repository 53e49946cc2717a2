import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createEchoServer, type EchoResponse } from './echo-server.js';

const main = fileURLToPath(new URL('./echo-main.ts', import.meta.url));

describe('echo-main', () => {
  it('serves with identity from env, and exits 0 on SIGTERM with a shutdown log line', async () => {
    const env = { ...process.env, PORT: '0', POD_NAME: 'p1', NODE_NAME: 'n1', NAMESPACE: 'ns1', POD_IP: '' };
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const start = JSON.parse((await lines.next()).value as string);
    assert.equal(start.msg, 'echo server listening');
    assert.equal(start.address, '::');
    const echo = (await (await fetch(`http://127.0.0.1:${start.port}/x`)).json()) as EchoResponse;
    assert.deepEqual([echo.pod, echo.node, echo.namespace, echo.service], ['p1', 'n1', 'ns1', '']);
    const udp = createSocket('udp4');
    udp.send('hello', start.port, '127.0.0.1');
    const [datagram] = (await once(udp, 'message')) as [Buffer];
    udp.close();
    assert.deepEqual(
      (({ proto, pod, node }) => [proto, pod, node])(JSON.parse(datagram.toString())),
      ['udp', 'p1', 'n1'],
      'the same port answers UDP with the identity',
    );
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const stop = JSON.parse((await lines.next()).value as string);
    assert.deepEqual([stop.msg, stop.signal, stop.served], ['echo server stopped', 'SIGTERM', 1]);
    assert.deepEqual(await exited, [0, null]);
  });

  it('exits 1 with one line when the port is taken', async () => {
    const taken = createEchoServer({ port: 0, identity: { pod: 'p', node: 'n', namespace: 'ns' } });
    const { port } = await taken.start();
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', main], {
        env: { ...process.env, PORT: String(port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const [code] = await once(child, 'exit');
      assert.equal(code, 1);
      assert.match(stderr, /^portico-lab\/echo: cannot listen on port \d+: EADDRINUSE .*\n$/);
    } finally {
      await taken.shutdown(1_000);
    }
  });
});
