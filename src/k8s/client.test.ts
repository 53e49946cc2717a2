import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { KubeClient } from './client.js';
import type { CredentialSource, Credentials } from './credentials.js';
import { isNotFound } from './errors.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const defaultHandler: Handler = (req, res) => {
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
    res.end(JSON.stringify({ path: req.url, method: req.method, authorization: req.headers.authorization }));
  }, 20);
};

/** A credential source that counts its calls and hands out `next()`'s answer. */
function countingSource(next: (call: number) => Credentials): CredentialSource & {
  calls: number;
  invalidated: number;
} {
  const source = {
    calls: 0,
    invalidated: 0,
    get: async () => next(++source.calls),
    invalidate: () => {
      source.invalidated++;
    },
  };
  return source;
}

const bearer = (token: string): CredentialSource => ({
  get: async () => ({ headers: { Authorization: `Bearer ${token}` } }),
});

async function withServer(
  body: (client: KubeClient) => Promise<void>,
  options: { credentials?: CredentialSource; handler?: Handler } = {},
): Promise<void> {
  const server = createServer(options.handler ?? defaultHandler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = new KubeClient(options.credentials ?? bearer('t'), `http://127.0.0.1:${port}`);
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

  it('sends the source’s headers, and asks it again only after 10 s', async () => {
    const source = countingSource((n) => ({ headers: { Authorization: `Bearer t${n}` } }));
    await withServer(
      async (client) => {
        for (let i = 0; i < 3; i++) {
          const answer = await client.request<{ authorization: string }>('GET', '/version');
          assert.equal(answer.authorization, 'Bearer t1');
        }
        assert.equal(source.calls, 1);
      },
      { credentials: source },
    );
  });

  it('asks the source again once its credentials expire', async () => {
    const source = countingSource((n) => ({
      headers: { Authorization: `Bearer t${n}` },
      expiresAt: Date.now() + 50,
    }));
    await withServer(
      async (client) => {
        assert.equal(
          (await client.request<{ authorization: string }>('GET', '/version')).authorization,
          'Bearer t1',
        );
        await new Promise((resolve) => setTimeout(resolve, 80));
        assert.equal(
          (await client.request<{ authorization: string }>('GET', '/version')).authorization,
          'Bearer t2',
        );
      },
      { credentials: source },
    );
  });

  it('after a 401, invalidates the source and fetches fresh credentials for the next request', async () => {
    const source = countingSource((n) => ({ headers: { Authorization: `Bearer t${n}` } }));
    const handler: Handler = (req, res) => {
      const ok = req.headers.authorization === 'Bearer t2';
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? {} : { kind: 'Status', reason: 'Unauthorized', message: 'Unauthorized' }));
    };
    await withServer(
      async (client) => {
        await assert.rejects(client.request('GET', '/version'), (err: unknown) =>
          /Unauthorized/.test(String(err)),
        );
        assert.equal(source.invalidated, 1);
        await client.request('GET', '/version');
        assert.equal(source.calls, 2);
      },
      { credentials: source, handler },
    );
  });

  it('a failing source fails the request, and is asked again on the next one', async () => {
    let fail = true;
    const source: CredentialSource = {
      get: async () => {
        if (fail) throw new Error('token file unreadable');
        return { headers: {} };
      },
    };
    await withServer(
      async (client) => {
        await assert.rejects(client.request('GET', '/version'), /token file unreadable/);
        fail = false;
        await client.request('GET', '/version');
      },
      { credentials: source },
    );
  });

  it('rejects, rather than hangs, when the answer is cut off halfway or its request is aborted', async () => {
    await withServer(
      async (client) => {
        await assert.rejects(client.request('GET', '/cut'), /cut off|aborted|socket hang up|ECONNRESET/i);
        const aborting = new AbortController();
        const slow = client.request('GET', '/slow', { signal: aborting.signal });
        setTimeout(() => aborting.abort(), 50);
        await assert.rejects(slow, (err: Error) => err.name === 'AbortError' || /abort/i.test(err.message));
      },
      {
        handler: (req, res) => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': 100 });
          res.write('{"kind":"Sta');
          // /cut: the connection dies mid-body; /slow: the rest never comes.
          if (req.url === '/cut') setTimeout(() => res.destroy(), 20);
        },
      },
    );
  });
});
