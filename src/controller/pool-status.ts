import { type FieldError, formatFieldError } from '../api/field-errors.js';
import type { IPAddressPool, IPAddressPoolStatus } from '../api/ip-address-pool.js';
import type { Condition } from '../k8s/types.js';
import { deepEqual } from '../util/deep-equal.js';
import type { PoolUsage } from './allocator/allocator.js';

/** Where a pool stands, as the controller sees it. */
export type PoolState =
  | { kind: 'invalid'; errors: FieldError[] }
  | { kind: 'overlapping'; other: string }
  | { kind: 'ready'; usage: PoolUsage };

const MAX_COUNT = BigInt(Number.MAX_SAFE_INTEGER);
const MAX_MESSAGE = 32_000;
const count = (n: bigint) => Number(n > MAX_COUNT ? MAX_COUNT : n);

/**
 * The status a pool should have. Conditions keep their lastTransitionTime while their status holds,
 * so rewriting the same facts changes nothing.
 */
export function desiredPoolStatus(pool: IPAddressPool, state: PoolState, now: string): IPAddressPoolStatus {
  const old = pool.status?.conditions ?? [];
  const cond = (type: string, ok: boolean, reason: string, message: string): Condition => {
    const status = ok ? 'True' : 'False';
    const prev = old.find((c) => c.type === type);
    return {
      type,
      status,
      reason,
      // The API server refuses condition messages over 32768 characters; a pool with many bad entries gets there.
      message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message,
      lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now,
      ...(pool.metadata.generation !== undefined ? { observedGeneration: pool.metadata.generation } : {}),
    };
  };
  const zero = { IPv4: 0n, IPv6: 0n };
  const usage = state.kind === 'ready' ? state.usage : { inUse: zero, free: zero, capacity: zero };
  const free = usage.free.IPv4 + usage.free.IPv6;
  const inUse = usage.inUse.IPv4 + usage.inUse.IPv6;
  let ready: Condition;
  if (state.kind === 'invalid') {
    ready = cond('Ready', false, 'Invalid', state.errors.map(formatFieldError).join('; '));
  } else if (state.kind === 'overlapping') {
    ready = cond(
      'Ready',
      false,
      'Overlapping',
      `overlaps pool ${state.other}, which is older and keeps its addresses`,
    );
  } else {
    ready = cond(
      'Ready',
      true,
      'Ready',
      `${inUse} of ${usage.capacity.IPv4 + usage.capacity.IPv6} addresses in use`,
    );
  }
  const overlapping =
    state.kind === 'overlapping'
      ? cond('Overlapping', true, 'Overlapping', `overlaps pool ${state.other}`)
      : cond('Overlapping', false, 'NoOverlap', 'no other pool shares an address with this one');
  // Exhausted as soon as one family the pool has runs out: a Service of that family would wait.
  const full = (['IPv4', 'IPv6'] as const).filter((f) => usage.capacity[f] > 0n && usage.free[f] === 0n);
  const exhausted =
    state.kind === 'ready' && full.length > 0
      ? cond(
          'Exhausted',
          true,
          'Exhausted',
          `every ${full.join(' and ')} address is in use; new Services needing one will stay pending`,
        )
      : cond(
          'Exhausted',
          false,
          'HasFreeAddresses',
          state.kind === 'ready' ? `${free} addresses free` : 'pool is not in use',
        );
  return {
    assignedIPv4: count(usage.inUse.IPv4),
    assignedIPv6: count(usage.inUse.IPv6),
    availableIPv4: count(usage.free.IPv4),
    availableIPv6: count(usage.free.IPv6),
    inUse: count(inUse),
    free: free.toString(),
    ...(pool.metadata.generation !== undefined ? { observedGeneration: pool.metadata.generation } : {}),
    conditions: [ready, overlapping, exhausted],
  };
}

/** True if writing `desired` would change nothing the user can see. */
export function poolStatusSame(pool: IPAddressPool, desired: IPAddressPoolStatus): boolean {
  return deepEqual(pool.status ?? {}, desired);
}
