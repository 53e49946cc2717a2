import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createEchoServer, type EchoResponse, type EchoServer } from './echo-server.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  socketPort: number | undefined;
}

function get(
  port: number,
  path: string,
  opts: { agent?: http.Agent; headers?: http.OutgoingHttpHeaders } = {},
) {
  return new Promise<Reply>((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path, agent: opts.agent, headers: opts.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            socketPort: req.socket?.localPort,
          }),
        );
      },
    );
    req.on('error', reject);
  });
}

const identity = {
  pod: 'echo-7d9-abcde',
  node: 'node-2',
  namespace: 'demo',
  service: 'echo',
  podIp: '198.18.2.7',
};

describe('echo server', () => {
  let server: EchoServer;
  let port: number;
  before(async () => {
    server = createEchoServer({ port: 0, host: '127.0.0.1', identity });
    port = (await server.start()).port;
  });
  after(() => server.shutdown(1_000));

  it('answers with the conformance JSON fields, naming the pod, node, namespace and service', async () => {
    const r = await get(port, '/some/path?x=1', { headers: { Host: 'foo.bar.com', 'X-Test': 'yes' } });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    assert.equal(r.headers.server, 'portico-lab-echo');
    const echo = JSON.parse(r.body) as EchoResponse;
    assert.deepEqual(
      { ...echo, headers: undefined },
      {
        path: '/some/path?x=1',
        host: 'foo.bar.com',
        method: 'GET',
        proto: 'HTTP/1.1',
        headers: undefined,
        namespace: 'demo',
        ingress: '',
        service: 'echo',
        pod: 'echo-7d9-abcde',
        node: 'node-2',
        podIp: '198.18.2.7',
        remoteAddress: '127.0.0.1',
      },
    );
    assert.deepEqual(echo.headers['x-test'], ['yes']);
    assert.deepEqual(echo.headers.host, ['foo.bar.com']);
  });

  it('echoes repeated headers with all their values', async () => {
    const echo = JSON.parse(
      (await get(port, '/', { headers: { 'X-Multi': ['a', 'b'] } })).body,
    ) as EchoResponse;
    assert.deepEqual(echo.headers['x-multi'], ['a', 'b']);
  });

  it('answers with the requested status, and 400 for a bad one', async () => {
    const r = await get(port, '/?status=503');
    assert.equal(r.status, 503);
    assert.equal((JSON.parse(r.body) as EchoResponse).pod, identity.pod);
    assert.equal((await get(port, '/?status=204')).body, '');
    assert.equal((await get(port, '/?status=99')).status, 400);
    assert.equal((await get(port, '/?delayMs=-1')).status, 400);
  });

  it('delays the answer by delayMs', async () => {
    const start = Date.now();
    assert.equal((await get(port, '/?delayMs=200')).status, 200);
    assert.ok(Date.now() - start >= 190, `answered after ${Date.now() - start} ms`);
  });

  it('answers /healthz and /health with ok', async () => {
    for (const path of ['/healthz', '/health']) {
      const r = await get(port, path);
      assert.equal(r.status, 200);
      assert.equal(r.body, 'ok\n');
    }
  });

  it('keeps the connection alive between requests', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const a = await get(port, '/a', { agent });
      const b = await get(port, '/b', { agent });
      assert.ok(a.socketPort !== undefined);
      assert.equal(a.socketPort, b.socketPort);
      assert.equal(a.headers.connection, 'keep-alive');
    } finally {
      agent.destroy();
    }
  });
});

describe('echo server shutdown', () => {
  it('finishes an in-flight request, then stops accepting', async () => {
    const server = createEchoServer({ port: 0, host: '127.0.0.1', identity });
    const { port } = await server.start();
    const agent = new http.Agent({ keepAlive: true });
    try {
      await get(port, '/warm', { agent }); // leaves an idle keep-alive connection behind
      const inFlight = get(port, '/?delayMs=300', { agent });
      await new Promise((r) => setTimeout(r, 50));
      const start = Date.now();
      await server.shutdown(5_000);
      assert.ok(Date.now() - start >= 200, 'shutdown waited for the in-flight request');
      const r = await inFlight;
      assert.equal(r.status, 200);
      assert.equal(r.headers.connection, 'close');
      await assert.rejects(get(port, '/'), /ECONNREFUSED/);
    } finally {
      agent.destroy();
    }
  });
});
