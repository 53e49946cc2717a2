import { Counter, exponentialBuckets, Gauge, Histogram, type Registry } from 'prom-client';
import type { IPFamily } from '../api/address.js';
import type { PoolUsage } from './allocator/allocator.js';

export interface PoolUsageSource {
  /** Every pool the controller uses, with its usage, read at scrape time. */
  usages(): Iterable<[string, PoolUsage]>;
}

export type ControllerMetrics = ReturnType<typeof controllerMetrics>;

/** The controller's own series; the work queue, informers and leader election register theirs. */
export function controllerMetrics(registry: Registry, pools: PoolUsageSource) {
  const registers = [registry];
  const labelNames = ['pool', 'family'] as const;
  const families: IPFamily[] = ['IPv4', 'IPv6'];
  const poolGauge = (name: string, help: string, pick: (u: PoolUsage, f: IPFamily) => bigint) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const [pool, usage] of pools.usages()) {
          for (const family of families) {
            if (usage.capacity[family] > 0n) this.set({ pool, family }, Number(pick(usage, family)));
          }
        }
      },
    });
  poolGauge(
    'portico_pool_addresses_total',
    'Addresses a pool can hand out (excludes and avoided .0/.255 not counted).',
    (u, f) => u.capacity[f],
  );
  poolGauge('portico_pool_addresses_in_use', 'Addresses of a pool held by Services.', (u, f) => u.inUse[f]);
  poolGauge('portico_pool_addresses_free', 'Addresses of a pool still free.', (u, f) => u.free[f]);
  return {
    allocations: new Counter({
      name: 'portico_controller_allocations_total',
      help: 'Addresses handed to Services, by pool.',
      labelNames: ['pool'] as const,
      registers,
    }),
    failures: new Counter({
      name: 'portico_controller_allocation_failures_total',
      help: 'Services left without (all of) their addresses, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    reconcile: new Histogram({
      name: 'portico_controller_reconcile_duration_seconds',
      help: 'Time to reconcile one Service, status write included.',
      labelNames: ['result'] as const,
      buckets: exponentialBuckets(0.0005, 4, 9),
      registers,
    }),
    services: new Gauge({
      name: 'portico_controller_services',
      help: 'LoadBalancer Services handled by Portico, by state (served or pending).',
      labelNames: ['state'] as const,
      registers,
    }),
    invalidPools: new Gauge({
      name: 'portico_controller_pools_invalid',
      help: 'IPAddressPools not used because they are invalid or overlap an older pool.',
      registers,
    }),
  };
}
