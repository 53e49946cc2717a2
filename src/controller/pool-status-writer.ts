import type { FieldError } from '../api/field-errors.js';
import { type IPAddressPool, IPAddressPoolResource } from '../api/ip-address-pool.js';
import { type Pool, parsePool } from '../api/pool.js';
import { isConflict, isNotFound, oneLine } from '../k8s/errors.js';
import type { EventRecorder } from '../k8s/event-recorder.js';
import type { ResourceClient } from '../k8s/resource-client.js';
import { formatTime } from '../k8s/time.js';
import type { Clock, Timer } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Allocator } from './allocator/allocator.js';
import { desiredPoolStatus, type PoolState, poolStatusSame } from './pool-status.js';

/** Parses every pool object; the valid ones go to the allocator, the others are reported in their status. */
export function compilePools(objects: readonly IPAddressPool[]): {
  pools: Pool[];
  invalid: Map<string, FieldError[]>;
} {
  const pools: Pool[] = [];
  const invalid = new Map<string, FieldError[]>();
  for (const obj of objects) {
    const result = parsePool(obj);
    if (result.ok) pools.push(result.pool);
    else invalid.set(obj.metadata.name ?? '', result.errors);
  }
  return { pools, invalid };
}

export interface PoolStatusWriterOptions {
  pools: () => IPAddressPool[];
  invalid: () => ReadonlyMap<string, FieldError[]>;
  allocator: Allocator;
  client: ResourceClient<IPAddressPool>;
  events: EventRecorder;
  clock: Clock;
  logger: Logger;
  fieldManager: string;
  isLeader(): boolean;
  /** Writes are batched: at most one round per this many ms. Default 250. */
  intervalMs?: number;
}

/**
 * Keeps every pool's status (counters and conditions) truthful, writing only what changed, in
 * batches, so thousands of allocations cost a handful of pool writes.
 */
export class PoolStatusWriter {
  private readonly dirty = new Set<string>();
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly o: PoolStatusWriterOptions) {}

  markDirty(pools: Iterable<string>): void {
    for (const p of pools) this.dirty.add(p);
    this.schedule();
  }

  markAllDirty(): void {
    this.markDirty(this.o.pools().map((p) => p.metadata.name ?? ''));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    await this.running;
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = this.o.clock.setTimer(this.o.intervalMs ?? 250, () => {
      this.running = this.flush().finally(() => {
        this.timer = undefined;
        this.running = undefined;
        if (this.dirty.size > 0) this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    if (!this.o.isLeader()) {
      this.dirty.clear();
      return;
    }
    const names = [...this.dirty];
    this.dirty.clear();
    const byName = new Map(this.o.pools().map((p) => [p.metadata.name ?? '', p]));
    for (const name of names) {
      const pool = byName.get(name);
      if (!pool) continue;
      try {
        await this.write(pool);
      } catch (err) {
        this.o.logger.warn({ pool: name, err: oneLine(err) }, 'could not write the pool status; retrying');
        this.dirty.add(name);
      }
    }
  }

  private state(name: string): PoolState {
    const errors = this.o.invalid().get(name);
    if (errors) return { kind: 'invalid', errors };
    const other = this.o.allocator.overlapOf(name);
    if (other) return { kind: 'overlapping', other };
    const usage = this.o.allocator.usage(name);
    return usage ? { kind: 'ready', usage } : { kind: 'invalid', errors: [] };
  }

  private async write(pool: IPAddressPool): Promise<void> {
    const state = this.state(pool.metadata.name ?? '');
    const desired = desiredPoolStatus(pool, state, formatTime(this.o.clock.wallNow()));
    if (poolStatusSame(pool, desired)) return;
    const wasReady = pool.status?.conditions?.find((c) => c.type === 'Ready');
    const ready = desired.conditions!.find((c) => c.type === 'Ready')!;
    try {
      await this.o.client.patch(
        pool.metadata.name!,
        pool.metadata.namespace,
        { metadata: { resourceVersion: pool.metadata.resourceVersion }, status: desired },
        { type: 'merge', subresource: 'status', fieldManager: this.o.fieldManager },
      );
    } catch (err) {
      if (isNotFound(err)) return;
      if (isConflict(err)) {
        this.dirty.add(pool.metadata.name ?? '');
        return;
      }
      throw err;
    }
    if (wasReady?.status !== ready.status || wasReady.message !== ready.message) {
      if (ready.status === 'False') {
        const ref = {
          ...pool,
          apiVersion: `${IPAddressPoolResource.group}/${IPAddressPoolResource.version}`,
          kind: 'IPAddressPool',
        };
        this.o.events.event(ref, 'Warning', ready.reason, 'Validate', ready.message);
        this.o.logger.warn({ pool: pool.metadata.name, reason: ready.reason }, ready.message);
      }
    }
  }
}
