import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { HealthServer } from './health-server.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HealthServer', () => {
  let registry: Registry;
  let server: HealthServer;
  let port: number;

  beforeEach(async () => {
    registry = new Registry();
    const counter = new Counter({
      name: 'portico_test_things_total',
      help: 'Things counted by the test.',
      registers: [registry],
    });
    counter.inc(3);
    server = new HealthServer({ registry, host: '127.0.0.1', port: 0 });
  });

  afterEach(async () => {
    await server.close();
  });

  async function start(): Promise<void> {
    const address = await server.listen();
    assert.equal(address.address, '127.0.0.1');
    assert.ok(address.port > 0);
    port = address.port;
  }

  it('/metrics serves the registry in the Prometheus text format', async () => {
    await start();
    const res = await call(port, '/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], registry.contentType);
    assert.match(res.body, /# HELP portico_test_things_total Things counted by the test\./);
    assert.match(res.body, /^portico_test_things_total 3$/m);
  });

  it('/healthz and /livez answer 200 ok when every liveness check passes', async () => {
    server.addLivenessCheck('loop', () => true);
    server.addLivenessCheck('undefined-is-fine', () => undefined);
    await start();
    for (const path of ['/healthz', '/livez']) {
      const res = await call(port, path);
      assert.equal(res.status, 200);
      assert.equal(res.body, 'ok\n');
      assert.match(String(res.headers['content-type']), /text\/plain/);
    }
    assert.equal((await call(port, '/healthz')).body, 'ok\n');
  });

  it('a failing readiness check makes /readyz 503 and names it, while /healthz stays 200', async () => {
    server.addLivenessCheck('loop', () => true);
    server.addReadinessCheck('informers-synced', () => false);
    server.addReadinessCheck('leader', async () => true);
    await start();
    const ready = await call(port, '/readyz');
    assert.equal(ready.status, 503);
    assert.match(ready.body, /^\[-\]informers-synced failed: not ready$/m);
    assert.match(ready.body, /^\[\+\]leader ok$/m);
    assert.match(ready.body, /^\[\+\]loop ok$/m, 'readiness includes the liveness checks');
    assert.match(ready.body, /failed\n$/);
    const health = await call(port, '/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.body, 'ok\n');
  });

  it('readiness follows the check as it changes', async () => {
    let synced = false;
    server.addReadinessCheck('synced', () => synced);
    await start();
    assert.equal((await call(port, '/readyz')).status, 503);
    synced = true;
    const res = await call(port, '/readyz');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'ok\n');
  });

  it('a failing liveness check fails /healthz and /readyz', async () => {
    server.addLivenessCheck('deadlock', () => false);
    await start();
    const res = await call(port, '/healthz');
    assert.equal(res.status, 503);
    assert.match(res.body, /\[-\]deadlock failed/);
    assert.equal((await call(port, '/readyz')).status, 503);
  });

  it('?verbose lists every check even when all pass', async () => {
    server.addLivenessCheck('loop', () => true);
    server.addReadinessCheck('synced', () => true);
    await start();
    const res = await call(port, '/readyz?verbose');
    assert.equal(res.status, 200);
    assert.equal(res.body, '[+]loop ok\n[+]synced ok\nok\n');
    assert.equal((await call(port, '/healthz?verbose=1')).body, '[+]loop ok\nok\n');
  });

  it('a throwing or rejecting check reports its message', async () => {
    server.addReadinessCheck('sync', () => {
      throw new Error('informer services not synced');
    });
    server.addReadinessCheck('async', () => Promise.reject(new Error('lease lost')));
    await start();
    const res = await call(port, '/readyz');
    assert.equal(res.status, 503);
    assert.match(res.body, /^\[-\]sync failed: informer services not synced$/m);
    assert.match(res.body, /^\[-\]async failed: lease lost$/m);
  });

  it('unknown paths are 404 and other methods are 405', async () => {
    await start();
    assert.equal((await call(port, '/nope')).status, 404);
    assert.equal((await call(port, '/')).status, 404);
    const post = await call(port, '/healthz', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    assert.equal((await call(port, '/metrics', 'DELETE')).status, 405);
    const head = await call(port, '/healthz', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  it('close() stops the server, even with a keep-alive connection open; a second close is harmless', async () => {
    await start();
    // Leave an idle keep-alive connection open, as Prometheus does.
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    const started = Date.now();
    await server.close();
    assert.ok(Date.now() - started < 1000, 'close() did not wait for the idle connection');
    await assert.rejects(call(port, '/healthz'), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
    await server.close();
    agent.destroy();
  });

  it('listen() rejects when the port is taken', async () => {
    await start();
    const other = new HealthServer({ registry, host: '127.0.0.1', port });
    await assert.rejects(other.listen(), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
  });
});
