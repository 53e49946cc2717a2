import { type Matcher, parseLabelSelector } from './label-selector.js';
import type { KubeObject } from './types.js';

/** The cache key of an object: `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(obj: KubeObject): string {
  const { namespace, name } = obj.metadata;
  return namespace ? `${namespace}/${name}` : (name ?? '');
}

export const keyOf = (name: string, namespace?: string): string =>
  namespace ? `${namespace}/${name}` : name;

export interface StoreQuery {
  namespace?: string;
  /** String form (`app=web,tier!=db`) or a compiled matcher. */
  labelSelector?: string | Matcher;
}

/** What replacing the whole contents did, so handlers can be told every final state. */
export interface ReplaceDelta<T> {
  added: T[];
  updated: [old: T, current: T][];
  deleted: T[];
}

/** An in-memory copy of a set of objects, indexed by key and by namespace. Objects are frozen. */
export class Store<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly byNamespace = new Map<string, Set<string>>();

  get size(): number {
    return this.items.size;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.items.get(keyOf(name, namespace));
  }

  getByKey(key: string): T | undefined {
    return this.items.get(key);
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  list(query: StoreQuery = {}): T[] {
    const matcher =
      typeof query.labelSelector === 'string' ? parseLabelSelector(query.labelSelector) : query.labelSelector;
    let candidates: Iterable<T>;
    if (query.namespace !== undefined) {
      const keys = this.byNamespace.get(query.namespace) ?? new Set<string>();
      candidates = [...keys].map((k) => this.items.get(k)!);
    } else {
      candidates = this.items.values();
    }
    const out: T[] = [];
    for (const obj of candidates) if (!matcher || matcher(obj.metadata.labels)) out.push(obj);
    return out;
  }

  /** Inserts or replaces; returns the previous object, if any. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    this.items.set(key, deepFreeze(obj));
    const ns = obj.metadata.namespace ?? '';
    const set = this.byNamespace.get(ns) ?? new Set<string>();
    this.byNamespace.set(ns, set);
    set.add(key);
    return old;
  }

  remove(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (!old) return undefined;
    this.items.delete(key);
    const ns = old.metadata.namespace ?? '';
    const set = this.byNamespace.get(ns);
    set?.delete(key);
    if (set?.size === 0) this.byNamespace.delete(ns);
    return old;
  }

  /** Makes the store hold exactly `objects`, reporting what changed (unchanged resourceVersions are skipped). */
  replace(objects: T[]): ReplaceDelta<T> {
    const delta: ReplaceDelta<T> = { added: [], updated: [], deleted: [] };
    const seen = new Set<string>();
    for (const obj of objects) {
      seen.add(objectKey(obj));
      const old = this.upsert(obj);
      if (!old) delta.added.push(this.getByKey(objectKey(obj))!);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) {
        delta.updated.push([old, this.getByKey(objectKey(obj))!]);
      }
    }
    for (const [key, obj] of [...this.items]) {
      if (!seen.has(key)) {
        this.remove(obj);
        delta.deleted.push(obj);
      }
    }
    return delta;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
