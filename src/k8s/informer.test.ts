import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { KubeClient } from './client.js';
import type { CredentialSource } from './credentials.js';
import { Informer, type InformerOptions } from './informer.js';
import { Resources } from './resources.js';
import type { KubeObject, WatchEvent } from './types.js';

interface Svc extends KubeObject {
  spec?: { port: number };
}

function svc(name: string, resourceVersion: string, port = 80, namespace = 'default'): Svc {
  return { metadata: { name, namespace, resourceVersion, uid: `uid-${name}` }, spec: { port } };
}

interface Reply {
  status: number;
  body: unknown;
}

interface WatchStream {
  url: URL;
  res: ServerResponse;
  closed: boolean;
  send(event: WatchEvent<Svc> | { type: string; object: unknown }): void;
  end(): void;
}

/**
 * A fake API server for `services`: lists return `items` at `resourceVersion` unless `onList`
 * says otherwise; each watch stays open and silent until the test sends events on it.
 */
class FakeApi {
  items: Svc[] = [];
  resourceVersion = '100';
  onList: ((url: URL) => Reply | undefined) | undefined;
  /** Answers the n-th watch request (1-based) instead of streaming, when it returns a reply. */
  onWatch: ((url: URL, n: number) => Reply | undefined) | undefined;
  /** If set, watch requests get no answer at all (not even headers). */
  hangWatches = false;
  readonly lists: URL[] = [];
  /** Every watch request, including those answered by `onWatch`. */
  readonly watchRequests: URL[] = [];
  /** The watch requests that were streamed. */
  readonly watches: WatchStream[] = [];
  readonly authorization: (string | undefined)[] = [];
  private readonly server: Server;
  private waiters: (() => void)[] = [];
  port = 0;

  constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Resolves with the n-th watch request (1-based), waiting for it if need be. */
  async watch(n: number, timeoutMs = 1500): Promise<WatchStream> {
    await this.until(() => this.watches.length >= n, timeoutMs, `watch #${n}`);
    return this.watches[n - 1]!;
  }

  async until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 10);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.authorization.push(req.headers.authorization);
    if (url.pathname !== '/api/v1/services') {
      res.writeHead(404).end();
      return;
    }
    if (url.searchParams.get('watch') === 'true') {
      this.watchRequests.push(url);
      const reply = this.onWatch?.(url, this.watchRequests.length);
      if (reply) {
        res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
        this.notify();
        return;
      }
      const stream: WatchStream = {
        url,
        res,
        closed: false,
        send: (event) => {
          res.write(`${JSON.stringify(event)}\n`);
        },
        end: () => {
          res.end();
        },
      };
      res.on('close', () => {
        stream.closed = true;
        this.notify();
      });
      this.watches.push(stream);
      if (!this.hangWatches) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
      }
      this.notify();
      return;
    }
    this.lists.push(url);
    const reply = this.onList?.(url) ?? {
      status: 200,
      body: {
        kind: 'ServiceList',
        apiVersion: 'v1',
        metadata: { resourceVersion: this.resourceVersion },
        items: this.items,
      },
    };
    res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
    this.notify();
  }
}

type Seen = ['add', string, string] | ['update', string, string, string] | ['delete', string, string];

interface Harness {
  api: FakeApi;
  client: KubeClient;
  informer: Informer<Svc>;
  seen: Seen[];
}

const bearer = (token: string): CredentialSource => ({
  get: async () => ({ headers: { Authorization: `Bearer ${token}` } }),
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(options: InformerOptions = {}, prepare?: (api: FakeApi) => void): Promise<Harness> {
  const api = new FakeApi();
  prepare?.(api);
  await api.start();
  const client = new KubeClient(bearer('t'), `http://127.0.0.1:${api.port}`);
  const informer = new Informer<Svc>(client.resource<Svc>(Resources.services), {
    backoff: { initialMs: 10, maxMs: 50 },
    ...options,
  });
  const seen: Seen[] = [];
  const rv = (o: Svc) => o.metadata.resourceVersion ?? '';
  const key = (o: Svc) => `${o.metadata.namespace}/${o.metadata.name}`;
  informer.addHandler({
    onAdd: (o) => seen.push(['add', key(o), rv(o)]),
    onUpdate: (old, cur) => seen.push(['update', key(cur), rv(old), rv(cur)]),
    onDelete: (o) => seen.push(['delete', key(o), rv(o)]),
  });
  cleanups.push(async () => {
    await informer.stop();
    client.close();
    await api.close();
  });
  return { api, client, informer, seen };
}

/** Polls until `cond` holds (the fake server's waiters only cover server-side events). */
async function eventually(cond: () => boolean, what: string, timeoutMs = 1500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** How many of each kind of libuv handle keeps the process alive right now. */
function activeHandles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

describe('Informer against a fake API server', () => {
  it('lists, fires onAdd for each item, syncs, then watches from the list resourceVersion', async () => {
    const { api, informer, seen } = await setup({}, (api) => {
      api.items = [svc('a', '10'), svc('b', '11', 80, 'other')];
      api.resourceVersion = '100';
    });
    assert.equal(informer.hasSynced(), false);
    informer.start();
    await informer.waitForSync();
    assert.equal(informer.hasSynced(), true);
    assert.deepEqual(seen, [
      ['add', 'default/a', '10'],
      ['add', 'other/b', '11'],
    ]);
    assert.equal(informer.get('a', 'default')?.metadata.resourceVersion, '10');
    assert.deepEqual(
      informer.list({ namespace: 'other' }).map((o) => o.metadata.name),
      ['b'],
    );
    assert.equal(informer.lastResourceVersion, '100');
    assert.equal(informer.stats.lists, 1);

    const watch = await api.watch(1);
    assert.equal(watch.url.searchParams.get('resourceVersion'), '100');
    assert.equal(watch.url.searchParams.get('allowWatchBookmarks'), 'true');
    assert.ok(Number(watch.url.searchParams.get('timeoutSeconds')) >= 300);
    assert.equal(api.lists[0]!.searchParams.get('limit'), '500');
    assert.ok(
      api.authorization.every((a) => a === 'Bearer t'),
      'requests carry the bearer token',
    );
    assert.equal(informer.stats.watches, 1);

    // A handler added after sync sees the cache as adds.
    const late: string[] = [];
    informer.addHandler({ onAdd: (o) => late.push(o.metadata.name ?? '') });
    assert.deepEqual(late.sort(), ['a', 'b']);
  });

  it('applies ADDED, MODIFIED and DELETED events to the store and the handlers', async () => {
    const { api, informer, seen } = await setup({}, (api) => {
      api.items = [svc('a', '10')];
    });
    informer.start();
    await informer.waitForSync();
    const watch = await api.watch(1);
    seen.length = 0;

    watch.send({ type: 'ADDED', object: svc('b', '101') });
    watch.send({ type: 'MODIFIED', object: svc('a', '102', 8080) });
    watch.send({ type: 'DELETED', object: svc('b', '103') });
    await eventually(() => seen.length >= 3, 'three events');

    assert.deepEqual(seen, [
      ['add', 'default/b', '101'],
      ['update', 'default/a', '10', '102'],
      ['delete', 'default/b', '101'],
    ]);
    assert.equal(informer.get('a', 'default')?.spec?.port, 8080);
    assert.equal(informer.get('b', 'default'), undefined);
    assert.equal(informer.lastResourceVersion, '103');
    assert.ok(Object.isFrozen(informer.get('a', 'default')));
  });

  it('ignores a repeated event with the same resourceVersion', async () => {
    const { api, informer, seen } = await setup();
    informer.start();
    await informer.waitForSync();
    const watch = await api.watch(1);

    watch.send({ type: 'ADDED', object: svc('a', '101') });
    watch.send({ type: 'ADDED', object: svc('a', '101') });
    watch.send({ type: 'MODIFIED', object: svc('a', '101') });
    watch.send({ type: 'MODIFIED', object: svc('a', '102') });
    await eventually(() => informer.lastResourceVersion === '102', 'rv 102');
    assert.deepEqual(seen, [
      ['add', 'default/a', '101'],
      ['update', 'default/a', '101', '102'],
    ]);
  });

  it('caches listed and watched objects without their managedFields', async () => {
    const managed = (o: Svc): Svc => ({
      ...o,
      metadata: { ...o.metadata, managedFields: [{ manager: 'kubectl', operation: 'Update' }] },
    });
    const { api, informer } = await setup({}, (api) => {
      api.items = [managed(svc('a', '10'))];
    });
    const deleted: Svc[] = [];
    informer.addHandler({ onDelete: (o) => deleted.push(o) });
    informer.start();
    await informer.waitForSync();
    const watch = await api.watch(1);
    watch.send({ type: 'ADDED', object: managed(svc('b', '101')) });
    watch.send({ type: 'MODIFIED', object: managed(svc('a', '102', 8080)) });
    watch.send({ type: 'DELETED', object: managed(svc('c', '103')) });
    await eventually(() => deleted.length === 1, 'the delete');

    for (const name of ['a', 'b']) {
      const cached = informer.get(name, 'default');
      assert.ok(cached, `${name} is cached`);
      assert.equal(cached.metadata.managedFields, undefined, `${name} has no managedFields`);
    }
    assert.equal(informer.get('a', 'default')?.spec?.port, 8080);
    assert.equal(deleted[0]?.metadata.managedFields, undefined, 'nor has an object deleted unseen');
  });

  it('keeps the managedFields entries of the manager it is told to keep, and only those', async () => {
    const entries = [
      { manager: 'kubectl', operation: 'Update' as const },
      { manager: 'portico-controller', operation: 'Update' as const, subresource: 'status' },
    ];
    const { api, informer } = await setup({ keepManagedFieldsOf: 'portico-controller' }, (api) => {
      api.items = [
        { ...svc('a', '10'), metadata: { ...svc('a', '10').metadata, managedFields: entries } },
        { ...svc('b', '11'), metadata: { ...svc('b', '11').metadata, managedFields: [entries[0]!] } },
      ];
    });
    informer.start();
    await informer.waitForSync();
    await api.watch(1);
    assert.deepEqual(informer.get('a', 'default')?.metadata.managedFields, [entries[1]]);
    assert.equal(informer.get('b', 'default')?.metadata.managedFields, undefined);
  });

  it('BOOKMARK advances lastResourceVersion without firing handlers or touching the store', async () => {
    const { api, informer, seen } = await setup({}, (api) => {
      api.items = [svc('a', '10')];
    });
    informer.start();
    await informer.waitForSync();
    const watch = await api.watch(1);
    seen.length = 0;

    watch.send({ type: 'BOOKMARK', object: { kind: 'Service', metadata: { resourceVersion: '555' } } });
    await eventually(() => informer.lastResourceVersion === '555', 'bookmark');
    assert.deepEqual(seen, []);
    assert.equal(informer.store.size, 1);
    assert.equal(informer.get('a', 'default')?.metadata.resourceVersion, '10');
  });

  it('a watch the server ends is resumed from the last resourceVersion without a relist', async () => {
    const { api, informer } = await setup();
    informer.start();
    await informer.waitForSync();
    const first = await api.watch(1);
    first.send({ type: 'ADDED', object: svc('a', '120') });
    await eventually(() => informer.lastResourceVersion === '120', 'rv 120');
    first.end();
    const second = await api.watch(2);
    assert.equal(second.url.searchParams.get('resourceVersion'), '120');
    assert.equal(informer.stats.lists, 1);
    assert.equal(informer.stats.errors, 0);
  });

  it('relists after a 410 ERROR event and reports what changed meanwhile', async () => {
    const { api, informer, seen } = await setup({}, (api) => {
      api.items = [svc('keep', '10'), svc('change', '11'), svc('drop', '12')];
      api.resourceVersion = '100';
    });
    informer.start();
    await informer.waitForSync();
    const watch = await api.watch(1);
    seen.length = 0;

    // While the watch was behind, the server compacted history and these changes happened.
    api.items = [svc('keep', '10'), svc('change', '150', 443), svc('new', '160')];
    api.resourceVersion = '200';
    watch.send({
      type: 'ERROR',
      object: {
        kind: 'Status',
        status: 'Failure',
        code: 410,
        reason: 'Expired',
        message: 'too old resource version: 100 (150)',
      },
    });

    const next = await api.watch(2);
    assert.equal(next.url.searchParams.get('resourceVersion'), '200');
    assert.equal(informer.stats.relistsAfterGone, 1);
    assert.equal(informer.stats.lists, 2);
    assert.equal(informer.stats.errors, 0, 'a 410 is not counted as an error');
    assert.equal(api.lists.length, 2);
    assert.equal(api.lists[1]!.searchParams.get('resourceVersion'), null, 'the relist is a fresh read');
    assert.deepEqual(
      [...seen].sort(),
      [
        ['add', 'default/new', '160'],
        ['delete', 'default/drop', '12'],
        ['update', 'default/change', '11', '150'],
      ].sort(),
    );
    assert.deepEqual(informer.store.keys().sort(), ['default/change', 'default/keep', 'default/new']);
    assert.ok(watch.closed, 'the expired watch connection was closed');
  });

  it('relists when the watch request itself is answered 410 Gone', async () => {
    const { api, informer, seen } = await setup({}, (api) => {
      api.items = [svc('a', '10')];
      api.resourceVersion = '100';
      api.onWatch = (_url, n) =>
        n === 2
          ? {
              status: 410,
              body: { kind: 'Status', status: 'Failure', code: 410, reason: 'Expired', message: 'too old' },
            }
          : undefined;
    });
    informer.start();
    await informer.waitForSync();
    const first = await api.watch(1);
    first.send({ type: 'ADDED', object: svc('b', '120') });
    await eventually(() => informer.lastResourceVersion === '120', 'rv 120');
    api.items = [svc('a', '10'), svc('b', '120'), svc('c', '130')];
    api.resourceVersion = '300';
    seen.length = 0;
    first.end(); // the server ends the watch; the next watch request is refused with 410

    const third = await api.watch(2);
    assert.equal(api.watchRequests.length, 3);
    assert.equal(api.watchRequests[1]!.searchParams.get('resourceVersion'), '120');
    assert.equal(third.url.searchParams.get('resourceVersion'), '300');
    assert.equal(informer.stats.relistsAfterGone, 1);
    assert.equal(informer.stats.lists, 2);
    assert.equal(informer.stats.errors, 0);
    assert.deepEqual(seen, [['add', 'default/c', '130']], 'only the object added meanwhile is reported');
  });

  it('retries a failing list with backoff and recovers', async () => {
    let failures = 2;
    const { api, informer, seen } = await setup({}, (api) => {
      api.items = [svc('a', '10')];
      api.onList = () =>
        failures-- > 0
          ? {
              status: 500,
              body: {
                kind: 'Status',
                status: 'Failure',
                code: 500,
                reason: 'InternalError',
                message: 'etcd down',
              },
            }
          : undefined;
    });
    const started = Date.now();
    informer.start();
    await informer.waitForSync();
    assert.ok(Date.now() - started < 1000);
    assert.equal(api.lists.length, 3);
    assert.equal(informer.stats.errors, 2);
    assert.match(informer.stats.lastError ?? '', /etcd down/);
    assert.equal(informer.stats.lists, 1, 'only successful lists count');
    assert.deepEqual(seen, [['add', 'default/a', '10']]);
    await api.watch(1);
  });

  it('keeps retrying while the list fails, and stop() interrupts the backoff', async () => {
    const { api, informer } = await setup({ backoff: { initialMs: 10, maxMs: 20 } }, (api) => {
      api.onList = () => ({ status: 503, body: 'unavailable' });
    });
    informer.start();
    await api.until(() => api.lists.length >= 4, 1500, 'four list attempts');
    assert.equal(informer.hasSynced(), false);
    assert.ok(informer.stats.errors >= 3);
    assert.match(informer.stats.lastError ?? '', /503/);
    const started = Date.now();
    await informer.stop();
    assert.ok(Date.now() - started < 200, 'stop() did not wait out the backoff');
    const attempts = api.lists.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(api.lists.length, attempts, 'no list after stop()');
  });

  it('the watchdog restarts a silent watch and resumes from the last resourceVersion', async () => {
    const { api, informer } = await setup({ stallTimeoutMs: 200 }, (api) => {
      api.resourceVersion = '100';
    });
    informer.start();
    await informer.waitForSync();
    const first = await api.watch(1);
    assert.equal(first.url.searchParams.get('resourceVersion'), '100');
    first.send({ type: 'ADDED', object: svc('a', '130') });
    await eventually(() => informer.lastResourceVersion === '130', 'rv 130');
    const started = Date.now();

    // Then the server goes silent.
    const second = await api.watch(2);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 150, `restarted after ${elapsed} ms, before the stall timeout`);
    assert.ok(informer.stats.stalls >= 1);
    assert.equal(second.url.searchParams.get('resourceVersion'), '130');
    assert.equal(informer.stats.lists, 1, 'a stall does not relist');
    await api.until(() => first.closed, 500, 'the stalled watch to be closed');
  });

  it('the watchdog also restarts a watch whose response never starts', async () => {
    const { api, informer } = await setup({ stallTimeoutMs: 200 }, (api) => {
      api.hangWatches = true;
    });
    informer.start();
    await informer.waitForSync();
    await api.watch(1);
    await api.watch(2);
    assert.ok(
      informer.stats.stalls >= 1,
      `stalls: ${informer.stats.stalls}, lastError: ${informer.stats.lastError}`,
    );
    assert.equal(api.watches[1]!.url.searchParams.get('resourceVersion'), '100');
  });

  it('a throwing handler does not stop the informer or other handlers', async () => {
    const { api, informer, seen } = await setup();
    informer.addHandler({
      onAdd: () => {
        throw new Error('handler bug');
      },
    });
    informer.start();
    await informer.waitForSync();
    const watch = await api.watch(1);
    watch.send({ type: 'ADDED', object: svc('a', '101') });
    watch.send({ type: 'ADDED', object: svc('b', '102') });
    await eventually(() => seen.length === 2, 'two adds');
    assert.equal(informer.stats.errors, 0);
  });

  it('stop() ends the watch and leaves no sockets or timers behind', async () => {
    await new Promise((resolve) => setTimeout(resolve, 20)); // let earlier tests' timers run out
    const before = activeHandles();
    const { api, client, informer } = await setup({ stallTimeoutMs: 60_000 });
    informer.start();
    await informer.waitForSync();
    const watch = await api.watch(1);
    assert.ok((activeHandles().get('TCPSocketWrap') ?? 0) > (before.get('TCPSocketWrap') ?? 0));
    const started = Date.now();
    await informer.stop();
    assert.ok(Date.now() - started < 500);
    await api.until(() => watch.closed, 500, 'the watch connection to close');
    client.close();
    await api.close();
    const kinds = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout'];
    const settled = () => kinds.every((k) => (activeHandles().get(k) ?? 0) === (before.get(k) ?? 0));
    // libuv releases closed handles asynchronously: give it a few turns (without timers of our own).
    for (let i = 0; i < 50 && !settled(); i++) await new Promise((resolve) => setImmediate(resolve));
    const after = activeHandles();
    for (const kind of kinds) {
      assert.equal(
        after.get(kind) ?? 0,
        before.get(kind) ?? 0,
        `${kind} left behind: before ${JSON.stringify([...before])}, after ${JSON.stringify([...after])}`,
      );
    }
    await informer.stop(); // a second stop() is harmless
  });
});
