import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Clock, realClock } from '../util/clock.js';
import { deepEqual, isPlainObject } from '../util/deep-equal.js';
import type { KubeClient, RequestOptions } from './client.js';
import { ApiError } from './errors.js';
import { ResourceClient } from './resource-client.js';
import { Resources } from './resources.js';
import {
  applyStatus,
  createMergePatch,
  findCondition,
  patchStatus,
  removeCondition,
  setCondition,
  updateStatus,
} from './status.js';
import { formatTime } from './time.js';
import type { Condition, Service } from './types.js';

/** RFC 7386, as the API server applies a merge patch. */
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value);
  }
  return out;
}

/** A Service on a pretend API server that checks the resourceVersion precondition of merge patches. */
function fakeApi(stored: Service | undefined) {
  const calls: ({ method: string; path: string } & RequestOptions)[] = [];
  const api = {
    stored,
    calls,
    /** Runs before each PATCH is applied, to simulate a concurrent writer. */
    beforePatch: undefined as (() => void) | undefined,
    bump() {
      const s = api.stored!;
      s.metadata.resourceVersion = String(Number(s.metadata.resourceVersion) + 1);
    },
  };
  const client = {
    async request(method: string, path: string, options: RequestOptions = {}) {
      calls.push({ method, path, ...options });
      if (!api.stored) throw new ApiError(404, 'NotFound', 'services "a" not found');
      if (method === 'PATCH') {
        api.beforePatch?.();
        const { metadata, ...patch } = options.body as { metadata?: { resourceVersion?: string } };
        const rv = metadata?.resourceVersion;
        if (rv && rv !== api.stored.metadata.resourceVersion) {
          throw new ApiError(409, 'Conflict', 'the object has been modified');
        }
        api.stored = applyMergePatch(api.stored, patch) as Service;
        api.bump();
      }
      return structuredClone(api.stored);
    },
  };
  const services = new ResourceClient<Service>(client as unknown as KubeClient, Resources.services);
  return { api, services };
}

const service = (): Service => ({
  metadata: { name: 'a', namespace: 'web', resourceVersion: '10' },
  spec: { type: 'LoadBalancer' },
  status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] }, conditions: [] },
});

const sleeps: number[] = [];
const clock: Clock = { ...realClock, sleep: async (ms) => void sleeps.push(ms) };
const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:01:00Z';
const ready = (status: Condition['status'], reason = 'Allocated') => ({
  type: 'Ready',
  status,
  reason,
  message: '',
});

describe('deepEqual', () => {
  it('compares JSON values structurally, treating undefined keys as absent', () => {
    assert.ok(deepEqual({ a: [1, { b: 'x' }], c: null }, { c: null, a: [1, { b: 'x' }] }));
    assert.ok(deepEqual({ a: 1, b: undefined }, { a: 1 }));
    assert.ok(!deepEqual({ a: 1 }, { a: 1, b: 2 }));
    assert.ok(!deepEqual([1, 2], [2, 1]));
    assert.ok(!deepEqual({ a: [] }, { a: {} }));
    assert.ok(!deepEqual(null, {}));
    assert.ok(!deepEqual('1', 1));
  });
});

describe('createMergePatch', () => {
  it('sends changed keys, nulls removed ones and replaces arrays whole', () => {
    const from = { a: 1, b: { c: 1, d: 2 }, list: [1, 2], gone: 'x' };
    const to = { a: 1, b: { c: 1, d: 3, e: 4 }, list: [1] };
    const patch = createMergePatch(from, to);
    assert.deepEqual(patch, { b: { d: 3, e: 4 }, list: [1], gone: null });
    assert.deepEqual(applyMergePatch(from, patch), to);
    assert.deepEqual(createMergePatch(to, to), {});
  });
});

describe('conditions', () => {
  it('adds a condition with the given time', () => {
    assert.deepEqual(setCondition(undefined, ready('True'), T0), [
      { ...ready('True'), lastTransitionTime: T0 },
    ]);
  });

  it('keeps lastTransitionTime while the status stays, and moves it when the status changes', () => {
    const other: Condition = { ...ready('True'), type: 'Other', lastTransitionTime: T0 };
    const initial = setCondition([other], ready('True'), T0);
    const sameStatus = setCondition(initial, ready('True', 'StillAllocated'), T1);
    assert.deepEqual(sameStatus[1], { ...ready('True', 'StillAllocated'), lastTransitionTime: T0 });
    const flipped = setCondition(sameStatus, ready('False', 'PoolExhausted'), T1);
    assert.deepEqual(flipped, [other, { ...ready('False', 'PoolExhausted'), lastTransitionTime: T1 }]);
    assert.equal(initial.length, 2, 'the input array is not modified');
    assert.notEqual(setCondition(initial, ready('True'), T1), initial);
    assert.ok(deepEqual(setCondition(initial, ready('True'), T1), initial));
  });

  it('finds and removes by type', () => {
    const list = setCondition(setCondition([], ready('True'), T0), { ...ready('True'), type: 'X' }, T0);
    assert.equal(findCondition(list, 'X')?.type, 'X');
    assert.equal(findCondition(undefined, 'X'), undefined);
    assert.deepEqual(
      removeCondition(list, 'X').map((c) => c.type),
      ['Ready'],
    );
    assert.deepEqual(removeCondition(undefined, 'X'), []);
  });

  it('formats metav1.Time in whole seconds', () => {
    assert.equal(formatTime(Date.UTC(2026, 0, 1, 0, 1, 0, 999)), T1);
  });
});

describe('patchStatus and applyStatus', () => {
  it('merge-patches the status subresource', async () => {
    const { api, services } = fakeApi(service());
    await patchStatus(services, 'a', 'web', { loadBalancer: { ingress: [] } }, { fieldManager: 'portico' });
    const call = api.calls[0]!;
    assert.equal(call.path, '/api/v1/namespaces/web/services/a/status');
    assert.equal(call.contentType, 'application/merge-patch+json');
    assert.deepEqual(call.body, { status: { loadBalancer: { ingress: [] } } });
    assert.equal(call.query?.fieldManager, 'portico');
  });

  it('server-side applies the status with type meta, forcing by default', async () => {
    const { api, services } = fakeApi(service());
    const conditions = setCondition([], ready('True'), T0);
    await applyStatus(services, 'a', 'web', { conditions }, { fieldManager: 'portico' });
    const call = api.calls[0]!;
    assert.equal(call.method, 'PATCH');
    assert.equal(call.path, '/api/v1/namespaces/web/services/a/status');
    assert.equal(call.contentType, 'application/apply-patch+yaml');
    assert.equal(call.query?.fieldManager, 'portico');
    assert.equal(call.query?.force, true);
    assert.deepEqual(call.body, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'a', namespace: 'web' },
      status: { conditions },
    });
  });
});

describe('updateStatus', () => {
  const opts = { fieldManager: 'portico', clock, random: () => 0.5 };

  it('writes nothing when the status would not change', async () => {
    const { api, services } = fakeApi(service());
    const result = await updateStatus(services, 'a', 'web', (s) => ({ ...s.status }), opts);
    assert.equal(result?.metadata.resourceVersion, '10');
    assert.deepEqual(
      api.calls.map((c) => c.method),
      ['GET'],
    );
    assert.equal((await updateStatus(services, 'a', 'web', () => undefined, opts))?.metadata.name, 'a');
  });

  it('patches the difference with the resourceVersion it read', async () => {
    const { api, services } = fakeApi(service());
    const result = await updateStatus(
      services,
      'a',
      'web',
      (s) => {
        s.status!.conditions = setCondition(s.status?.conditions, ready('True'), T0);
        delete s.status!.loadBalancer;
        return s.status;
      },
      opts,
    );
    const patch = api.calls[1]!;
    assert.equal(patch.path, '/api/v1/namespaces/web/services/a/status');
    assert.equal(patch.contentType, 'application/merge-patch+json');
    assert.deepEqual(patch.body, {
      metadata: { resourceVersion: '10' },
      status: { loadBalancer: null, conditions: [{ ...ready('True'), lastTransitionTime: T0 }] },
    });
    assert.deepEqual(result?.status, { conditions: [{ ...ready('True'), lastTransitionTime: T0 }] });
    assert.equal(result?.metadata.resourceVersion, '11');
  });

  it('reads again and retries after a conflict', async () => {
    sleeps.length = 0;
    const { api, services } = fakeApi(service());
    api.beforePatch = () => {
      api.beforePatch = undefined;
      api.stored!.status!.loadBalancer = { ingress: [{ ip: '192.0.2.9' }] };
      api.bump();
    };
    const seen: string[] = [];
    const result = await updateStatus(
      services,
      'a',
      'web',
      (s) => {
        seen.push(s.status?.loadBalancer?.ingress?.[0]?.ip ?? '');
        return { ...s.status, conditions: setCondition([], ready('True'), T0) };
      },
      opts,
    );
    assert.deepEqual(seen, ['192.0.2.1', '192.0.2.9']);
    assert.deepEqual(sleeps, [20]);
    assert.equal(result?.status?.loadBalancer?.ingress?.[0]?.ip, '192.0.2.9', 'the other write is kept');
    assert.equal(result?.status?.conditions?.length, 1);
  });

  it('gives up after maxAttempts conflicts', async () => {
    sleeps.length = 0;
    const { api, services } = fakeApi(service());
    api.beforePatch = () => api.bump();
    const write = updateStatus(services, 'a', 'web', () => ({ conditions: [] as Condition[] }), {
      ...opts,
      maxAttempts: 3,
    });
    await assert.rejects(write, (err: ApiError) => err.code === 409);
    assert.equal(api.calls.filter((c) => c.method === 'PATCH').length, 3);
    assert.deepEqual(sleeps, [20, 40]);
  });

  it('returns undefined when the object is gone', async () => {
    const { services } = fakeApi(undefined);
    assert.equal(await updateStatus(services, 'a', 'web', () => ({}), opts), undefined);
  });

  it('stops when the signal is aborted', async () => {
    const { services } = fakeApi(service());
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      updateStatus(services, 'a', 'web', () => ({}), { ...opts, signal: controller.signal }),
      {
        name: 'AbortError',
      },
    );
  });
});
