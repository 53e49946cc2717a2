import { type Clock, realClock } from '../util/clock.js';
import { deepEqual, isPlainObject } from '../util/deep-equal.js';
import { isConflict, isNotFound } from './errors.js';
import type { ResourceClient } from './resource-client.js';
import { apiVersionOf } from './resources.js';
import type { Condition, KubeObject } from './types.js';

export interface StatusObject extends KubeObject {
  status?: unknown;
}

export type StatusOf<T extends StatusObject> = NonNullable<T['status']>;

/** A JSON merge patch (RFC 7386) of S: every field optional, null deletes, arrays replace whole. */
export type MergePatch<S> = S extends readonly unknown[]
  ? S
  : S extends object
    ? { [K in keyof S]?: MergePatch<S[K]> | null }
    : S;

/** The fields a server-side apply configuration sets; those left out are not owned by the manager. */
export type ApplyConfiguration<S> = S extends readonly (infer U)[]
  ? ApplyConfiguration<U>[]
  : S extends object
    ? { [K in keyof S]?: ApplyConfiguration<S[K]> }
    : S;

export interface StatusWriteOptions {
  fieldManager: string;
  signal?: AbortSignal;
}

/** Sends `{ status: patch }` as a JSON merge patch to the status subresource. */
export function patchStatus<T extends StatusObject>(
  resource: ResourceClient<T>,
  name: string,
  namespace: string | undefined,
  patch: MergePatch<StatusOf<T>>,
  options: StatusWriteOptions,
): Promise<T> {
  return resource.patch(
    name,
    namespace,
    { status: patch },
    { type: 'merge', subresource: 'status', ...options },
  );
}

export interface UpdateStatusOptions extends StatusWriteOptions {
  /** Attempts in all, counting the first; a conflict on the last one is thrown. Default 5. */
  maxAttempts?: number;
  clock?: Clock;
  random?: () => number;
}

const CONFLICT_RETRY_BASE_MS = 20;

/**
 * Read-modify-write of the status with optimistic concurrency. `mutate` gets a private copy of the
 * current object and returns the status it should have, or undefined to leave it as it is. Nothing
 * is written when the status would not change. The patch carries the resourceVersion that was read,
 * so the API server answers 409 if the object changed since; then it is read again and `mutate`
 * runs again. Returns the object as written (or as found, when unchanged), or undefined if it is gone.
 */
export async function updateStatus<T extends StatusObject>(
  resource: ResourceClient<T>,
  name: string,
  namespace: string | undefined,
  mutate: (current: T) => T['status'] | undefined,
  options: UpdateStatusOptions,
): Promise<T | undefined> {
  const { fieldManager, signal, maxAttempts = 5, clock = realClock, random = Math.random } = options;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    let current: T;
    try {
      current = await resource.get(name, namespace, signal);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const next = mutate(structuredClone(current));
    if (next === undefined || deepEqual(current.status, next)) return current;
    const patch = {
      metadata: { resourceVersion: current.metadata.resourceVersion },
      status: createMergePatch(current.status, next),
    };
    try {
      return await resource.patch(name, namespace, patch, {
        type: 'merge',
        subresource: 'status',
        fieldManager,
        signal,
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (!isConflict(err) || attempt >= maxAttempts) throw err;
    }
    await clock.sleep(CONFLICT_RETRY_BASE_MS * attempt * (0.5 + random()), signal);
  }
}

/**
 * Server-side apply of `status` to the status subresource: the manager then owns exactly the fields
 * given, and fields it owned before but left out are removed. `force` takes fields over from other
 * managers instead of failing with a conflict.
 */
export function applyStatus<T extends StatusObject>(
  resource: ResourceClient<T>,
  name: string,
  namespace: string | undefined,
  status: ApplyConfiguration<StatusOf<T>>,
  options: StatusWriteOptions & { force?: boolean },
): Promise<T> {
  const { fieldManager, signal, force = true } = options;
  const body = {
    apiVersion: apiVersionOf(resource.ref),
    kind: resource.ref.kind,
    metadata: namespace ? { name, namespace } : { name },
    status,
  };
  return resource.patch(name, namespace, body, {
    type: 'apply',
    subresource: 'status',
    fieldManager,
    force,
    signal,
  });
}

/** The JSON merge patch that turns `from` into `to`: changed keys, and null for removed ones. */
export function createMergePatch(from: unknown, to: unknown): unknown {
  if (!isPlainObject(from) || !isPlainObject(to)) return to === undefined ? null : to;
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(from)) {
    if (from[key] !== undefined && to[key] === undefined) patch[key] = null;
  }
  for (const [key, value] of Object.entries(to)) {
    if (value !== undefined && !deepEqual(from[key], value)) patch[key] = createMergePatch(from[key], value);
  }
  return patch;
}

/**
 * Sets the condition of `cond.type`, like apimachinery's meta.SetStatusCondition: an existing one is
 * replaced in place, and lastTransitionTime moves to `now` only when the status changes.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  cond: Omit<Condition, 'lastTransitionTime'>,
  now: string,
): Condition[] {
  const list = conditions ?? [];
  const index = list.findIndex((c) => c.type === cond.type);
  const existing = list[index];
  if (!existing) return [...list, { ...cond, lastTransitionTime: now }];
  const lastTransitionTime = existing.status === cond.status ? existing.lastTransitionTime : now;
  return list.map((c, i) => (i === index ? { ...cond, lastTransitionTime } : c));
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
