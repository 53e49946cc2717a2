import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseLabelSelector } from './label-selector.js';
import { keyOf, objectKey, Store } from './store.js';
import type { KubeObject } from './types.js';

interface Thing extends KubeObject {
  spec?: { n: number; tags?: string[] };
}

function thing(name: string, namespace?: string, rv = '1', labels?: Record<string, string>): Thing {
  return { metadata: { name, namespace, resourceVersion: rv, labels }, spec: { n: 1, tags: ['a'] } };
}

const names = (objs: Thing[]): string[] => objs.map(objectKey).sort();

describe('objectKey / keyOf', () => {
  it('uses namespace/name for namespaced objects and name for cluster-scoped ones', () => {
    assert.equal(objectKey(thing('a', 'ns')), 'ns/a');
    assert.equal(objectKey(thing('node-1')), 'node-1');
    assert.equal(keyOf('a', 'ns'), 'ns/a');
    assert.equal(keyOf('a'), 'a');
    assert.equal(keyOf('a', ''), 'a');
  });
});

describe('Store', () => {
  it('upsert, get and remove', () => {
    const store = new Store<Thing>();
    assert.equal(store.upsert(thing('a', 'ns', '1')), undefined);
    assert.equal(store.size, 1);
    assert.equal(store.get('a', 'ns')?.metadata.resourceVersion, '1');
    assert.equal(store.get('a'), undefined, 'a namespaced object is not found without its namespace');
    assert.equal(store.getByKey('ns/a')?.metadata.name, 'a');

    const previous = store.upsert(thing('a', 'ns', '2'));
    assert.equal(previous?.metadata.resourceVersion, '1');
    assert.equal(store.size, 1);
    assert.equal(store.get('a', 'ns')?.metadata.resourceVersion, '2');

    const removed = store.remove(thing('a', 'ns', 'whatever'));
    assert.equal(
      removed?.metadata.resourceVersion,
      '2',
      'remove returns the stored object, not the argument',
    );
    assert.equal(store.size, 0);
    assert.equal(store.get('a', 'ns'), undefined);
    assert.equal(store.remove(thing('a', 'ns')), undefined, 'removing a missing object is a no-op');
  });

  it('keeps cluster-scoped objects apart from namespaced ones with the same name', () => {
    const store = new Store<Thing>();
    store.upsert(thing('x'));
    store.upsert(thing('x', 'ns'));
    assert.equal(store.size, 2);
    assert.deepEqual(store.keys().sort(), ['ns/x', 'x']);
    store.remove(thing('x'));
    assert.deepEqual(store.keys(), ['ns/x']);
  });

  it('lists by namespace without seeing other namespaces', () => {
    const store = new Store<Thing>();
    store.upsert(thing('a', 'ns1'));
    store.upsert(thing('b', 'ns1'));
    store.upsert(thing('a', 'ns2'));
    store.upsert(thing('node'));
    assert.deepEqual(names(store.list({ namespace: 'ns1' })), ['ns1/a', 'ns1/b']);
    assert.deepEqual(names(store.list({ namespace: 'ns2' })), ['ns2/a']);
    assert.deepEqual(
      names(store.list({ namespace: '' })),
      ['node'],
      'the empty namespace holds cluster-scoped objects',
    );
    assert.deepEqual(store.list({ namespace: 'nope' }), []);
    assert.deepEqual(names(store.list()), ['node', 'ns1/a', 'ns1/b', 'ns2/a']);
  });

  it('removing the last object of a namespace empties that namespace, and it can be refilled', () => {
    const store = new Store<Thing>();
    store.upsert(thing('a', 'ns1'));
    store.upsert(thing('b', 'ns2'));
    store.remove(thing('a', 'ns1'));
    assert.deepEqual(store.list({ namespace: 'ns1' }), []);
    assert.deepEqual(names(store.list({ namespace: 'ns2' })), ['ns2/b']);
    store.upsert(thing('c', 'ns1'));
    assert.deepEqual(names(store.list({ namespace: 'ns1' })), ['ns1/c']);
  });

  it('updating an object does not duplicate it in its namespace', () => {
    const store = new Store<Thing>();
    store.upsert(thing('a', 'ns', '1'));
    store.upsert(thing('a', 'ns', '2'));
    const listed = store.list({ namespace: 'ns' });
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!.metadata.resourceVersion, '2');
  });

  it('filters by label selector, as a string or a compiled matcher, combined with namespace', () => {
    const store = new Store<Thing>();
    store.upsert(thing('web', 'ns1', '1', { app: 'web', tier: 'fe' }));
    store.upsert(thing('db', 'ns1', '1', { app: 'db' }));
    store.upsert(thing('web', 'ns2', '1', { app: 'web' }));
    store.upsert(thing('bare', 'ns1'));
    assert.deepEqual(names(store.list({ labelSelector: 'app=web' })), ['ns1/web', 'ns2/web']);
    assert.deepEqual(names(store.list({ labelSelector: 'app=web', namespace: 'ns2' })), ['ns2/web']);
    assert.deepEqual(names(store.list({ labelSelector: 'app!=web' })), ['ns1/bare', 'ns1/db']);
    assert.deepEqual(names(store.list({ labelSelector: '!app' })), ['ns1/bare']);
    assert.deepEqual(names(store.list({ labelSelector: parseLabelSelector('tier in (fe)') })), ['ns1/web']);
    assert.deepEqual(names(store.list({ labelSelector: '' })), ['ns1/bare', 'ns1/db', 'ns1/web', 'ns2/web']);
    assert.throws(() => store.list({ labelSelector: 'a=b=c' }));
  });

  it('freezes stored objects deeply, so mutating them throws in strict mode', () => {
    const store = new Store<Thing>();
    store.upsert(thing('a', 'ns', '1', { app: 'web' }));
    const obj = store.get('a', 'ns')!;
    assert.ok(Object.isFrozen(obj));
    assert.throws(() => {
      obj.metadata.name = 'b';
    }, TypeError);
    assert.throws(() => {
      obj.metadata.labels!.app = 'db';
    }, TypeError);
    assert.throws(() => {
      obj.spec!.tags!.push('b');
    }, TypeError);
    assert.throws(() => {
      (obj as { extra?: number }).extra = 1;
    }, TypeError);
    assert.equal(store.get('a', 'ns')!.metadata.labels!.app, 'web');
  });

  describe('replace()', () => {
    it('reports added, updated (only on a new resourceVersion) and deleted objects', () => {
      const store = new Store<Thing>();
      store.upsert(thing('same', 'ns', '1'));
      store.upsert(thing('changed', 'ns', '1'));
      store.upsert(thing('gone', 'ns', '1'));
      store.upsert(thing('gone-node', undefined, '1'));

      const delta = store.replace([
        thing('same', 'ns', '1'),
        thing('changed', 'ns', '2'),
        thing('new', 'other', '5'),
      ]);

      assert.deepEqual(names(delta.added), ['other/new']);
      assert.equal(delta.updated.length, 1);
      const [old, current] = delta.updated[0]!;
      assert.equal(objectKey(old), 'ns/changed');
      assert.equal(old.metadata.resourceVersion, '1');
      assert.equal(current.metadata.resourceVersion, '2');
      assert.deepEqual(names(delta.deleted), ['gone-node', 'ns/gone']);

      assert.deepEqual(store.keys().sort(), ['ns/changed', 'ns/same', 'other/new']);
      assert.equal(store.get('changed', 'ns')?.metadata.resourceVersion, '2');
      assert.deepEqual(names(store.list({ namespace: 'ns' })), ['ns/changed', 'ns/same']);
      assert.deepEqual(store.list({ namespace: '' }), [], 'the deleted cluster-scoped object left the index');
    });

    it('replacing with nothing deletes everything', () => {
      const store = new Store<Thing>();
      store.upsert(thing('a', 'ns'));
      store.upsert(thing('b'));
      const delta = store.replace([]);
      assert.deepEqual(names(delta.deleted), ['b', 'ns/a']);
      assert.equal(store.size, 0);
      assert.deepEqual(store.list({ namespace: 'ns' }), []);
    });

    it('returns frozen objects in the delta, the same ones the store holds', () => {
      const store = new Store<Thing>();
      const delta = store.replace([thing('a', 'ns')]);
      assert.equal(delta.added[0], store.get('a', 'ns'));
      assert.ok(Object.isFrozen(delta.added[0]));
    });

    it('property: after any upserts/removes, replace(X) leaves exactly X and a consistent delta', () => {
      const ref = fc.record({
        name: fc.constantFrom('a', 'b', 'c', 'd'),
        namespace: fc.constantFrom(undefined, 'ns1', 'ns2'),
        rv: fc.constantFrom('1', '2', '3'),
      });
      const op = fc.record({ kind: fc.constantFrom('upsert', 'remove'), ref });
      const target = fc.uniqueArray(ref, { selector: (r) => keyOf(r.name, r.namespace), maxLength: 12 });
      const make = (r: { name: string; namespace: string | undefined; rv: string }) =>
        thing(r.name, r.namespace, r.rv);

      fc.assert(
        fc.property(fc.array(op, { maxLength: 30 }), target, (ops, x) => {
          const store = new Store<Thing>();
          for (const o of ops) {
            if (o.kind === 'upsert') store.upsert(make(o.ref));
            else store.remove(make(o.ref));
          }
          const before = new Map(store.keys().map((k) => [k, store.getByKey(k)!.metadata.resourceVersion]));
          const xKeys = x.map((r) => keyOf(r.name, r.namespace));

          const delta = store.replace(x.map(make));

          // The store holds exactly X, with X's resourceVersions, and the namespace index agrees.
          assert.deepEqual(store.keys().sort(), [...xKeys].sort());
          for (const r of x) assert.equal(store.get(r.name, r.namespace)?.metadata.resourceVersion, r.rv);
          for (const ns of ['', 'ns1', 'ns2']) {
            const expected = x
              .filter((r) => (r.namespace ?? '') === ns)
              .map((r) => keyOf(r.name, r.namespace));
            assert.deepEqual(names(store.list({ namespace: ns })), expected.sort());
          }

          // added ∪ updated-new ∪ unchanged = X, with no overlaps.
          const added = delta.added.map(objectKey);
          const updated = delta.updated.map(([, cur]) => objectKey(cur));
          const unchanged = x
            .filter((r) => before.get(keyOf(r.name, r.namespace)) === r.rv)
            .map((r) => keyOf(r.name, r.namespace));
          assert.deepEqual([...added, ...updated, ...unchanged].sort(), [...xKeys].sort());
          for (const k of added) assert.ok(!before.has(k), `${k} reported added but was present`);
          for (const [old, cur] of delta.updated) {
            assert.equal(objectKey(old), objectKey(cur));
            assert.equal(old.metadata.resourceVersion, before.get(objectKey(old)));
            assert.notEqual(old.metadata.resourceVersion, cur.metadata.resourceVersion);
          }

          // deleted = old keys not in X.
          const xSet = new Set(xKeys);
          assert.deepEqual(names(delta.deleted), [...before.keys()].filter((k) => !xSet.has(k)).sort());
          for (const d of delta.deleted) assert.equal(d.metadata.resourceVersion, before.get(objectKey(d)));
        }),
        { numRuns: 300 },
      );
    });
  });
});
