import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from './client.js';
import { isNotFound } from './errors.js';

async function withServer(body: (client: KubeClient) => Promise<void>): Promise<void> {
  const server = createServer((req, res) => {
    // Answers a little later, so the requests are all in flight together.
    setTimeout(() => {
      if (req.url?.startsWith('/api/v1/namespaces/default/services/missing')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ kind: 'Status', reason: 'NotFound', message: 'services "missing" not found' }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: req.url, method: req.method }));
    }, 20);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const client = new KubeClient(kubeConfig, `http://127.0.0.1:${port}`);
  try {
    await body(client);
  } finally {
    client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('KubeClient', () => {
  it('sends many requests under one abort signal without a listener-leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      await withServer(async (client) => {
        const signal = new AbortController().signal;
        const answers = await Promise.all(
          Array.from({ length: 32 }, (_, i) =>
            client.request<{ path: string }>('GET', `/api/v1/namespaces/default/services/s${i}`, { signal }),
          ),
        );
        assert.deepEqual(
          answers.map((a) => a.path),
          Array.from({ length: 32 }, (_, i) => `/api/v1/namespaces/default/services/s${i}`),
        );
      });
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, []);
  });

  it('turns a Status answer into an error that names the reason', async () => {
    await withServer(async (client) => {
      await assert.rejects(
        client.request('GET', '/api/v1/namespaces/default/services/missing'),
        (err: unknown) => isNotFound(err) && /services "missing" not found/.test(String(err)),
      );
    });
  });
});
