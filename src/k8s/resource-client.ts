import type { KubeClient, Query } from './client.js';
import { apiVersionOf, type ResourceRef, resourcePath } from './resources.js';
import type { KubeList, KubeObject, ObjectMeta, WatchEvent } from './types.js';

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  limit?: number;
  continue?: string;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

const PARTIAL_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/** What the API server answers for `as=PartialObjectMetadata`: the object's metadata, nothing else. */
export interface PartialObjectMetadata {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface PatchOptions {
  type?: PatchType;
  subresource?: 'status' | 'scale' | string;
  /** Required for server-side apply; recorded in managedFields for the others. */
  fieldManager?: string;
  force?: boolean;
  dryRun?: boolean;
  signal?: AbortSignal;
}

export interface WriteOptions {
  fieldManager?: string;
  dryRun?: boolean;
  signal?: AbortSignal;
}

export interface UpdateOptions extends WriteOptions {
  subresource?: 'status' | 'scale' | string;
}

/** Typed CRUD, patch and watch for one kind of object. */
export class ResourceClient<T extends KubeObject> {
  constructor(
    readonly client: KubeClient,
    readonly ref: ResourceRef,
  ) {}

  path(namespace?: string, name?: string, subresource?: string): string {
    return resourcePath(this.ref, namespace, name, subresource);
  }

  list(options: ListOptions = {}, signal?: AbortSignal): Promise<KubeList<T>> {
    const { namespace, ...query } = options;
    return this.client.request<KubeList<T>>('GET', this.path(namespace), { query: query as Query, signal });
  }

  /** Lists every page; the result carries the resourceVersion of the first page (a consistent snapshot). */
  async listAll(options: ListOptions = {}, signal?: AbortSignal): Promise<KubeList<T>> {
    const first = await this.list({ limit: 500, ...options }, signal);
    const items = [...first.items];
    let next = first.metadata.continue;
    while (next) {
      const page = await this.list({ ...options, limit: options.limit ?? 500, continue: next }, signal);
      items.push(...page.items);
      next = page.metadata.continue;
    }
    return { ...first, metadata: { resourceVersion: first.metadata.resourceVersion }, items };
  }

  get(name: string, namespace?: string, signal?: AbortSignal): Promise<T> {
    return this.client.request<T>('GET', this.path(namespace, name), { signal });
  }

  create(object: T, options: WriteOptions = {}): Promise<T> {
    return this.client.request<T>('POST', this.path(object.metadata.namespace), {
      body: this.withTypeMeta(object),
      query: writeQuery(options),
      signal: options.signal,
    });
  }

  /** PUT: fails with 409 Conflict when `object.metadata.resourceVersion` is stale. */
  update(object: T, options: UpdateOptions = {}): Promise<T> {
    return this.sendUpdate<T>(object, options);
  }

  /**
   * The same update, answered with the object's metadata alone: for a writer that needs only the new
   * resourceVersion, the API server encodes and sends a fraction of the object.
   */
  updateMetadata(object: T, options: UpdateOptions = {}): Promise<PartialObjectMetadata> {
    return this.sendUpdate<PartialObjectMetadata>(object, options, PARTIAL_METADATA);
  }

  private sendUpdate<R>(object: T, options: UpdateOptions, accept?: string): Promise<R> {
    const { name, namespace } = object.metadata;
    if (!name) throw new Error(`update of a ${this.ref.kind} needs metadata.name`);
    return this.client.request<R>('PUT', this.path(namespace, name, options.subresource), {
      body: this.withTypeMeta(object),
      accept,
      query: writeQuery(options),
      signal: options.signal,
    });
  }

  patch(name: string, namespace: string | undefined, patch: unknown, options: PatchOptions = {}): Promise<T> {
    const type = options.type ?? 'merge';
    if (type === 'apply' && !options.fieldManager) throw new Error('server-side apply needs a fieldManager');
    return this.client.request<T>('PATCH', this.path(namespace, name, options.subresource), {
      body: patch,
      contentType: PATCH_CONTENT_TYPES[type],
      query: { ...writeQuery(options), force: type === 'apply' ? options.force : undefined },
      signal: options.signal,
    });
  }

  delete(
    name: string,
    namespace?: string,
    options: {
      propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
      /** Precondition: delete only this incarnation of the name. */
      uid?: string;
      gracePeriodSeconds?: number;
      signal?: AbortSignal;
    } = {},
  ): Promise<unknown> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (options.propagationPolicy) body.propagationPolicy = options.propagationPolicy;
    if (options.uid) body.preconditions = { uid: options.uid };
    if (options.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = options.gracePeriodSeconds;
    return this.client.request('DELETE', this.path(namespace, name), { body, signal: options.signal });
  }

  watch(options: WatchOptions = {}, signal?: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    const { namespace, ...query } = options;
    return this.client.watch<T>(this.path(namespace), query as Query, signal);
  }

  /** Adds apiVersion and kind, which the API server requires on writes. */
  private withTypeMeta(object: T): T {
    return { ...object, apiVersion: apiVersionOf(this.ref), kind: this.ref.kind };
  }
}

function writeQuery(options: WriteOptions): Query {
  return { fieldManager: options.fieldManager, dryRun: options.dryRun ? 'All' : undefined };
}
