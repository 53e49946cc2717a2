import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IPAddressPool } from '../api/ip-address-pool.js';
import { desiredPoolStatus, poolStatusSame } from './pool-status.js';

const T0 = '2026-01-01T00:00:00Z';
const pool: IPAddressPool = {
  metadata: { name: 'p', generation: 3 },
  spec: { addresses: ['203.0.113.0/30'] },
};
const usage = (inUse4: bigint, cap4: bigint, inUse6 = 0n, cap6 = 0n) => ({
  inUse: { IPv4: inUse4, IPv6: inUse6 },
  capacity: { IPv4: cap4, IPv6: cap6 },
  free: { IPv4: cap4 - inUse4, IPv6: cap6 - inUse6 },
});
const cond = (s: ReturnType<typeof desiredPoolStatus>, type: string) =>
  s.conditions?.find((c) => c.type === type);

describe('desiredPoolStatus', () => {
  it("counts per family like MetalLB, and both families with the exact free count as text (a /64 doesn't fit a number)", () => {
    const s = desiredPoolStatus(pool, { kind: 'ready', usage: usage(1n, 4n, 2n, 2n ** 64n) }, T0);
    assert.deepEqual(
      {
        a4: s.assignedIPv4,
        v4: s.availableIPv4,
        a6: s.assignedIPv6,
        v6: s.availableIPv6,
        inUse: s.inUse,
        free: s.free,
      },
      { a4: 1, v4: 3, a6: 2, v6: Number.MAX_SAFE_INTEGER, inUse: 3, free: (3n + 2n ** 64n - 2n).toString() },
    );
    assert.equal(cond(s, 'Ready')?.status, 'True');
    assert.equal(cond(s, 'Exhausted')?.status, 'False');
    assert.equal(s.observedGeneration, 3);
  });

  it('is Exhausted as soon as one family it has runs out', () => {
    const s = desiredPoolStatus(pool, { kind: 'ready', usage: usage(4n, 4n, 0n, 16n) }, T0);
    assert.equal(cond(s, 'Exhausted')?.status, 'True');
    assert.match(cond(s, 'Exhausted')?.message ?? '', /every IPv4 address is in use/);
  });

  it('says why an invalid or overlapping pool is not Ready, clipping huge messages', () => {
    const invalid = desiredPoolStatus(
      pool,
      { kind: 'invalid', errors: [{ field: 'spec.addresses[0]', message: 'x'.repeat(40_000) }] },
      T0,
    );
    assert.equal(cond(invalid, 'Ready')?.reason, 'Invalid');
    assert.ok((cond(invalid, 'Ready')?.message.length ?? 0) <= 32_000);
    const overlapping = desiredPoolStatus(pool, { kind: 'overlapping', other: 'older' }, T0);
    assert.equal(cond(overlapping, 'Ready')?.reason, 'Overlapping');
    assert.equal(cond(overlapping, 'Overlapping')?.status, 'True');
  });

  it('keeps transition times, so writing the same facts again changes nothing', () => {
    const first = desiredPoolStatus(pool, { kind: 'ready', usage: usage(1n, 4n) }, T0);
    const again = desiredPoolStatus(
      { ...pool, status: first },
      { kind: 'ready', usage: usage(1n, 4n) },
      '2026-02-01T00:00:00Z',
    );
    assert.ok(poolStatusSame({ ...pool, status: first }, again));
  });
});
