import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatIP, type IPFamily, parseIP } from '../../api/address.js';
import type { IPAddressPoolSpec } from '../../api/ip-address-pool.js';
import { type Pool, parsePool } from '../../api/pool.js';
import type { AddressRequest } from '../service-request.js';
import { Allocator, type AssignResult, type Claim } from './allocator.js';

let created = 0;
function pool(
  name: string,
  spec: Partial<IPAddressPoolSpec> & { addresses: string[] },
  createdAt?: string,
): Pool {
  const result = parsePool({
    metadata: {
      name,
      creationTimestamp: createdAt ?? `2026-01-01T00:00:${String(created++ % 60).padStart(2, '0')}Z`,
    },
    spec,
  });
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  return result.pool;
}

function request(overrides: Partial<AddressRequest> = {}): AddressRequest {
  return {
    namespace: 'default',
    labels: {},
    families: ['IPv4'],
    policy: 'SingleStack',
    pool: undefined,
    addresses: undefined,
    sharing: undefined,
    deprecatedAnnotations: [],
    ...overrides,
  };
}

const noLabels = () => undefined;
const ips = (r: AssignResult) => (r.ok ? r.allocation.addresses.map(formatIP) : []);
const ok = (r: AssignResult) => {
  assert.ok(r.ok, r.ok ? '' : `${r.reason}: ${r.message}`);
  return r.allocation;
};
const fail = (r: AssignResult) => {
  assert.ok(!r.ok, `expected a failure, got ${ips(r).join(', ')}`);
  return r;
};
const shared = (key: string, ports: string[], backendKey = '') => ({
  key,
  ports: new Set(ports),
  backendKey,
});

function allocator(pools: Pool[], now = { t: 0 }): Allocator {
  const a = new Allocator(() => now.t);
  a.setPools(pools);
  return a;
}

describe('Allocator: picking addresses', () => {
  it('hands out the lowest free address, the same every time, and a freed one again when none is held down', () => {
    const a = allocator([pool('p', { addresses: ['203.0.113.0/30'] })]);
    assert.deepEqual(ips(a.assign('ns/a', request(), [], noLabels)), ['203.0.113.0']);
    assert.deepEqual(ips(a.assign('ns/b', request(), [], noLabels)), ['203.0.113.1']);
    assert.deepEqual(ips(a.assign('ns/a', request(), [], noLabels)), ['203.0.113.0'], 'stable on re-assign');
    a.release('ns/a');
    assert.deepEqual(ips(a.assign('ns/c', request(), [], noLabels)), ['203.0.113.0']);
  });

  it('skips .0 and .255 anywhere in the pool with avoidBuggyIPs, and does not count them', () => {
    const a = allocator([pool('p', { addresses: ['203.0.113.254-203.0.114.2'], avoidBuggyIPs: true })]);
    const got = ['a', 'b', 'c'].map((k) => ips(a.assign(`ns/${k}`, request(), [], noLabels))[0]);
    assert.deepEqual(got, ['203.0.113.254', '203.0.114.1', '203.0.114.2']);
    assert.equal(a.usage('p')?.capacity.IPv4, 3n);
    assert.equal(fail(a.assign('ns/d', request(), [], noLabels)).reason, 'PoolExhausted');
    const r = fail(a.assign('ns/e', request({ addresses: [parseIP('203.0.114.0')] }), [], noLabels));
    assert.equal(r.reason, 'AddressNotInPool');
    assert.match(r.message, /ends in \.0 or \.255, which pool p avoids/);
  });

  it('never hands out excluded addresses and says so when one is asked for', () => {
    const a = allocator([
      pool('p', { addresses: ['203.0.113.0/29'], excludes: ['203.0.113.0-203.0.113.5'] }),
    ]);
    assert.deepEqual(ips(a.assign('ns/a', request(), [], noLabels)), ['203.0.113.6']);
    assert.deepEqual(ips(a.assign('ns/b', request(), [], noLabels)), ['203.0.113.7']);
    assert.equal(fail(a.assign('ns/c', request(), [], noLabels)).reason, 'PoolExhausted');
    const r = fail(a.assign('ns/d', request({ addresses: [parseIP('203.0.113.3')] }), [], noLabels));
    assert.match(r.message, /203\.0\.113\.3 is excluded from pool p/);
    assert.deepEqual(a.usage('p'), {
      capacity: { IPv4: 2n, IPv6: 0n },
      inUse: { IPv4: 2n, IPv6: 0n },
      free: { IPv4: 0n, IPv6: 0n },
    });
  });

  it('tries pinned pools by priority (0 last), then the other pools by name; never random', () => {
    const pools = [
      pool('zeta', { addresses: ['198.51.100.10/32'] }),
      pool('alpha', { addresses: ['198.51.100.20/32'] }),
      pool('pinned-0', { addresses: ['198.51.100.30/32'], serviceAllocation: {} }),
      pool('pinned-5', { addresses: ['198.51.100.40/32'], serviceAllocation: { priority: 5 } }),
      pool('pinned-1', { addresses: ['198.51.100.50/32'], serviceAllocation: { priority: 1 } }),
    ];
    const a = allocator(pools);
    const order = ['a', 'b', 'c', 'd', 'e'].map((k) => {
      const r = a.assign(`ns/${k}`, request(), [], noLabels);
      return r.ok ? r.allocation.pool : r.reason;
    });
    assert.deepEqual(order, ['pinned-1', 'pinned-5', 'pinned-0', 'alpha', 'zeta']);
  });

  it('uses an autoAssign: false pool only when the Service names it', () => {
    const a = allocator([pool('manual', { addresses: ['198.51.100.1/32'], autoAssign: false })]);
    assert.equal(fail(a.assign('ns/a', request(), [], noLabels)).reason, 'NoMatchingPool');
    assert.deepEqual(ips(a.assign('ns/b', request({ pool: 'manual' }), [], noLabels)), ['198.51.100.1']);
    assert.equal(fail(a.assign('ns/c', request({ pool: 'nope' }), [], noLabels)).reason, 'UnknownPool');
  });

  it('honours serviceAllocation namespaces, namespaceSelectors and serviceSelectors', () => {
    const a = allocator([
      pool('team-a', { addresses: ['198.51.100.1/32'], serviceAllocation: { namespaces: ['a'] } }),
      pool('prod', {
        addresses: ['198.51.100.2/32'],
        serviceAllocation: { namespaceSelectors: [{ matchLabels: { env: 'prod' } }] },
      }),
      pool('web', {
        addresses: ['198.51.100.3/32'],
        serviceAllocation: {
          serviceSelectors: [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }],
        },
      }),
    ]);
    const labels = (ns: string) => (ns === 'shop' ? { env: 'prod' } : undefined);
    assert.equal(ok(a.assign('a/x', request({ namespace: 'a' }), [], labels)).pool, 'team-a');
    assert.equal(ok(a.assign('shop/x', request({ namespace: 'shop' }), [], labels)).pool, 'prod');
    assert.equal(
      ok(a.assign('b/x', request({ namespace: 'b', labels: { app: 'web' } }), [], labels)).pool,
      'web',
    );
    assert.equal(fail(a.assign('b/y', request({ namespace: 'b' }), [], labels)).reason, 'NoMatchingPool');
    const named = fail(a.assign('b/z', request({ namespace: 'b', pool: 'team-a' }), [], labels));
    assert.equal(named.reason, 'PoolNotAllowed');
    assert.match(named.message, /pool team-a does not serve namespace b/);
  });

  it('gives exactly the requested address when it is free, and says who holds it when not', () => {
    const a = allocator([pool('p', { addresses: ['203.0.113.0/24'] })]);
    const want = request({ addresses: [parseIP('203.0.113.77')] });
    assert.deepEqual(ips(a.assign('ns/a', want, [], noLabels)), ['203.0.113.77']);
    const r = fail(a.assign('ns/b', want, [], noLabels));
    assert.equal(r.reason, 'AddressInUse');
    assert.match(r.message, /203\.0\.113\.77 is used by ns\/a/);
    assert.equal(
      fail(a.assign('ns/c', request({ addresses: [parseIP('192.0.2.9')] }), [], noLabels)).reason,
      'AddressNotInPool',
    );
    const other = fail(
      a.assign('ns/d', request({ addresses: [parseIP('203.0.113.9')], pool: 'q' }), [], noLabels),
    );
    assert.match(other.message, /belongs to pool p, not to pool q/);
  });

  it('handles a /64 and a 65,536-address pool as cheaply as a /28', () => {
    const a = allocator([
      pool('v6', { addresses: ['2001:db8:0:100::/64'] }),
      pool('v4', { addresses: ['198.18.0.0/16'] }),
    ]);
    for (let i = 0; i < 1000; i++) {
      ok(a.assign(`ns/v6-${i}`, request({ families: ['IPv6'], pool: 'v6' }), [], noLabels));
      ok(a.assign(`ns/v4-${i}`, request({ pool: 'v4' }), [], noLabels));
    }
    assert.deepEqual(ips(a.assign('ns/v6-999', request({ families: ['IPv6'], pool: 'v6' }), [], noLabels)), [
      '2001:db8:0:100::3e7',
    ]);
    assert.equal(a.usage('v6')?.free.IPv6, 2n ** 64n - 1000n);
    assert.equal(a.usage('v4')?.free.IPv4, 65536n - 1000n);
  });
});

describe('Allocator: sharing', () => {
  const p = () => pool('p', { addresses: ['203.0.113.10-203.0.113.19'] });

  it('lets Services with the same key and disjoint ports share, preferring an already shared address', () => {
    const a = allocator([p()]);
    ok(a.assign('ns/lone', request(), [], noLabels));
    const web = ok(a.assign('ns/web', request({ sharing: shared('k', ['TCP/80']) }), [], noLabels));
    const dns = ok(a.assign('ns/dns', request({ sharing: shared('k', ['UDP/53']) }), [], noLabels));
    assert.deepEqual(dns.addresses, web.addresses);
    const clash = ok(a.assign('ns/web2', request({ sharing: shared('k', ['TCP/80']) }), [], noLabels));
    assert.notDeepEqual(clash.addresses, web.addresses, 'same port: a different address');
    const other = ok(a.assign('ns/x', request({ sharing: shared('other', ['TCP/443']) }), [], noLabels));
    assert.notDeepEqual(other.addresses, web.addresses, 'other key: a different address');
  });

  it('refuses a requested shared address on a port clash, a key mismatch or different Local backends', () => {
    const a = allocator([p()]);
    const ip = [parseIP('203.0.113.15')];
    ok(a.assign('ns/a', request({ addresses: ip, sharing: shared('k', ['TCP/80'], 'app=a') }), [], noLabels));
    assert.match(
      fail(
        a.assign('ns/b', request({ addresses: ip, sharing: shared('k', ['TCP/80'], 'app=a') }), [], noLabels),
      ).message,
      /already uses port TCP\/80/,
    );
    assert.match(
      fail(
        a.assign('ns/c', request({ addresses: ip, sharing: shared('j', ['TCP/81'], 'app=a') }), [], noLabels),
      ).message,
      /sharing key "k", not "j"/,
    );
    assert.match(
      fail(
        a.assign('ns/d', request({ addresses: ip, sharing: shared('k', ['TCP/82'], 'app=b') }), [], noLabels),
      ).message,
      /externalTrafficPolicy Local/,
    );
    assert.match(
      fail(a.assign('ns/e', request({ addresses: ip }), [], noLabels)).message,
      /no allow-shared-ip/,
    );
    ok(a.assign('ns/f', request({ addresses: ip, sharing: shared('k', ['TCP/83'], 'app=a') }), [], noLabels));
  });

  it('re-evaluates a sharer when it changes: the one that changed loses the address', () => {
    const a = allocator([p()]);
    const ip = [parseIP('203.0.113.15')];
    ok(a.assign('ns/a', request({ addresses: ip, sharing: shared('k', ['TCP/80']) }), [], noLabels));
    ok(a.assign('ns/b', request({ addresses: ip, sharing: shared('k', ['TCP/81']) }), [], noLabels));
    // b switches to externalTrafficPolicy Local: its backend key no longer matches a's.
    const r = fail(
      a.assign('ns/b', request({ addresses: ip, sharing: shared('k', ['TCP/81'], 'app=b') }), [], noLabels),
    );
    assert.equal(r.reason, 'AddressInUse');
    assert.match(r.replaced ?? '', /203\.0\.113\.15 no longer fits/);
    assert.deepEqual(a.allocation('ns/a')?.addresses.map(formatIP), ['203.0.113.15']);
    // Aligning it again restores both.
    ok(a.assign('ns/b', request({ addresses: ip, sharing: shared('k', ['TCP/81']) }), [], noLabels));
  });

  it('frees a shared address only when its last holder lets go', () => {
    const a = allocator([pool('one', { addresses: ['203.0.113.1/32'] })]);
    ok(a.assign('ns/a', request({ sharing: shared('k', ['TCP/80']) }), [], noLabels));
    ok(a.assign('ns/b', request({ sharing: shared('k', ['TCP/81']) }), [], noLabels));
    a.release('ns/a');
    assert.equal(fail(a.assign('ns/c', request(), [], noLabels)).reason, 'PoolExhausted');
    a.release('ns/b');
    assert.deepEqual(ips(a.assign('ns/c', request(), [], noLabels)), ['203.0.113.1']);
  });
});

describe('Allocator: dual stack', () => {
  const dual = () => pool('dual', { addresses: ['203.0.113.0/28', '2001:db8:0:100::/120'] });
  const v4only = () => pool('v4only', { addresses: ['198.51.100.0/28'] });

  it('SingleStack takes the primary family; RequireDualStack both from one pool, primary first', () => {
    const a = allocator([dual()]);
    assert.deepEqual(ips(a.assign('ns/a', request({ families: ['IPv6'] }), [], noLabels)), [
      '2001:db8:0:100::',
    ]);
    const both = request({ families: ['IPv6', 'IPv4'], policy: 'RequireDualStack' });
    assert.deepEqual(ips(a.assign('ns/b', both, [], noLabels)), ['2001:db8:0:100::1', '203.0.113.0']);
  });

  it('RequireDualStack fails with FamilyUnavailable when no pool has both families', () => {
    const a = allocator([v4only(), pool('v6only', { addresses: ['2001:db8:0:200::/120'] })]);
    const r = fail(
      a.assign('ns/a', request({ families: ['IPv4', 'IPv6'], policy: 'RequireDualStack' }), [], noLabels),
    );
    assert.equal(r.reason, 'FamilyUnavailable');
  });

  it('PreferDualStack picks a dual pool, else the primary family, and adds the other family when its pool gains it', () => {
    const prefer = request({ families: ['IPv4', 'IPv6'], policy: 'PreferDualStack' });
    const a = allocator([v4only()]);
    const first = a.assign('ns/a', prefer, [], noLabels);
    assert.deepEqual(ips(first), ['198.51.100.0']);
    assert.match(first.ok ? (first.partial ?? '') : '', /no IPv6 address/);
    // The same pool turns dual stack: the Service keeps its IPv4 address and gains an IPv6 one.
    a.setPools([pool('v4only', { addresses: ['198.51.100.0/28', '2001:db8:0:300::/120'] })]);
    assert.deepEqual(ips(a.assign('ns/a', prefer, [], noLabels)), ['198.51.100.0', '2001:db8:0:300::']);
  });

  it('a PreferDualStack Service on a single-stack pool does not jump to a new dual pool', () => {
    const prefer = request({ families: ['IPv4', 'IPv6'], policy: 'PreferDualStack' });
    const a = allocator([v4only()]);
    ok(a.assign('ns/a', prefer, [], noLabels));
    a.setPools([v4only(), dual()]);
    const r = ok(a.assign('ns/a', prefer, [], noLabels));
    assert.equal(r.pool, 'v4only');
    assert.deepEqual(r.addresses.map(formatIP), ['198.51.100.0']);
  });

  it('a dual pool turning single moves a RequireDualStack Service to another dual pool', () => {
    const require = request({ families: ['IPv4', 'IPv6'], policy: 'RequireDualStack' });
    const a = allocator([dual()]);
    ok(a.assign('ns/a', require, [], noLabels));
    const affected = a.setPools([
      pool('dual', { addresses: ['203.0.113.0/28'] }),
      pool('dual2', { addresses: ['198.51.100.0/28', '2001:db8:0:400::/120'] }),
    ]);
    assert.deepEqual(affected, ['ns/a']);
    const r = a.assign('ns/a', require, [], noLabels);
    assert.equal(ok(r).pool, 'dual2');
    assert.ok(r.ok && r.replaced, 'reports that the old addresses were replaced');
  });
});

describe('Allocator: pools changing', () => {
  it('a deleted pool moves its Services to another pool, or leaves them pending', () => {
    const a = allocator([
      pool('one', { addresses: ['203.0.113.1/32'] }),
      pool('two', { addresses: ['198.51.100.1/32'] }),
    ]);
    assert.equal(ok(a.assign('ns/a', request({ pool: 'one' }), [], noLabels)).pool, 'one');
    assert.equal(ok(a.assign('ns/b', request(), [], noLabels)).pool, 'two');
    assert.deepEqual(a.setPools([pool('two', { addresses: ['198.51.100.0/30'] })]), ['ns/a']);
    assert.equal(fail(a.assign('ns/a', request({ pool: 'one' }), [], noLabels)).reason, 'UnknownPool');
    assert.deepEqual(ips(a.assign('ns/c', request(), [], noLabels)), ['198.51.100.0']);
    a.setPools([]);
    assert.equal(fail(a.assign('ns/b', request(), [], noLabels)).reason, 'NoMatchingPool');
  });

  it('a shrunk pool takes back addresses outside it', () => {
    const a = allocator([pool('p', { addresses: ['203.0.113.0/30'] })]);
    for (const k of ['a', 'b', 'c']) ok(a.assign(`ns/${k}`, request(), [], noLabels));
    assert.deepEqual(a.setPools([pool('p', { addresses: ['203.0.113.0/30'], excludes: ['203.0.113.1'] })]), [
      'ns/b',
    ]);
    assert.deepEqual(ips(a.assign('ns/b', request(), [], noLabels)), ['203.0.113.3']);
    assert.deepEqual(ips(a.assign('ns/a', request(), [], noLabels)), ['203.0.113.0']);
  });

  it('a pool that overlaps an older one is never used; the older keeps its addresses', () => {
    const old = pool('old', { addresses: ['203.0.113.0/30'] }, '2026-01-01T00:00:00Z');
    const young = pool('young', { addresses: ['203.0.113.2/31', '198.51.100.0/30'] }, '2026-02-01T00:00:00Z');
    const a = allocator([young, old]);
    assert.equal(a.overlapOf('young'), 'old');
    assert.equal(a.overlapOf('old'), undefined);
    const r = fail(a.assign('ns/a', request({ pool: 'young' }), [], noLabels));
    assert.match(r.message, /overlaps pool old/);
    assert.equal(ok(a.assign('ns/b', request(), [], noLabels)).pool, 'old');
  });
});

describe('Allocator: hold-down', () => {
  it('does not hand a freed address to another Service while others are free, until the hold ends', () => {
    const now = { t: 0 };
    const a = allocator([pool('p', { addresses: ['203.0.113.0/30'], reuseHoldDown: '10m' })], now);
    assert.deepEqual(ips(a.assign('ns/a', request(), [], noLabels)), ['203.0.113.0']);
    a.release('ns/a');
    assert.deepEqual(ips(a.assign('ns/b', request(), [], noLabels)), ['203.0.113.1']);
    assert.equal(a.usage('p')?.free.IPv4, 3n, 'a held-down address still counts as free');
    now.t = 10 * 60_000 + 1;
    assert.deepEqual(ips(a.assign('ns/c', request(), [], noLabels)), ['203.0.113.0']);
  });

  it('hands out a held-down address when nothing else is free', () => {
    const a = allocator([pool('p', { addresses: ['203.0.113.0/31'], reuseHoldDown: '1h' })]);
    ok(a.assign('ns/a', request(), [], noLabels));
    ok(a.assign('ns/b', request(), [], noLabels));
    a.release('ns/a');
    assert.deepEqual(ips(a.assign('ns/c', request(), [], noLabels)), ['203.0.113.0']);
  });

  it('an explicitly requested address ignores the hold-down', () => {
    const a = allocator([pool('p', { addresses: ['203.0.113.0/29'], reuseHoldDown: '1h' })]);
    ok(a.assign('ns/a', request(), [], noLabels));
    a.release('ns/a');
    assert.deepEqual(ips(a.assign('ns/b', request({ addresses: [parseIP('203.0.113.0')] }), [], noLabels)), [
      '203.0.113.0',
    ]);
  });
});

describe('Allocator: restart safety', () => {
  it('keeps the addresses Services already hold, and gives a contested one to the older Service', () => {
    const a = allocator([pool('p', { addresses: ['203.0.113.0/29'] })]);
    const claim = (key: string, createdAt: string, ip: string): Claim => ({
      key,
      createdAt,
      request: request(),
      addresses: [parseIP(ip)],
    });
    const refused = a.restore(
      [
        claim('ns/young', '2026-03-01T00:00:00Z', '203.0.113.5'),
        claim('ns/old', '2026-01-01T00:00:00Z', '203.0.113.5'),
        claim('ns/c', '2026-02-01T00:00:00Z', '203.0.113.3'),
      ],
      noLabels,
    );
    assert.deepEqual([...refused.keys()], ['ns/young']);
    assert.deepEqual(ips(a.assign('ns/old', request(), [], noLabels)), ['203.0.113.5']);
    assert.deepEqual(ips(a.assign('ns/c', request(), [], noLabels)), ['203.0.113.3']);
    // The loser gets the lowest free address instead, and is told why.
    const young = a.assign('ns/young', request(), [parseIP('203.0.113.5')], noLabels);
    assert.deepEqual(ips(young), ['203.0.113.0']);
    assert.match(young.replaced ?? '', /203\.0\.113\.5 no longer fits: 203\.0\.113\.5 is used by ns\/old/);
  });

  it('keeps a status address the in-memory state does not know yet (the status is the record)', () => {
    const a = allocator([pool('p', { addresses: ['203.0.113.0/29'] })]);
    assert.deepEqual(ips(a.assign('ns/a', request(), [parseIP('203.0.113.6')], noLabels)), ['203.0.113.6']);
  });
});

describe('Allocator: properties', () => {
  const families: IPFamily[] = ['IPv4', 'IPv6'];
  const pools = () => [
    pool('a', { addresses: ['203.0.113.0/28', '2001:db8::/124'], avoidBuggyIPs: true }),
    pool('b', {
      addresses: ['198.51.100.250-198.51.101.5'],
      excludes: ['198.51.101.0'],
      reuseHoldDown: '5s',
    }),
  ];
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('assign' as const),
      svc: fc.nat(24),
      family: fc.constantFrom(...families),
      dual: fc.boolean(),
      share: fc.option(fc.nat(2)),
      port: fc.nat(3),
    }),
    fc.record({ kind: fc.constant('release' as const), svc: fc.nat(24) }),
    fc.record({ kind: fc.constant('tick' as const), ms: fc.nat(4000) }),
  );

  it('never gives one address to two Services that may not share it, and every release frees what was held', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const now = { t: 0 };
        const a = allocator(pools(), now);
        const requests = new Map<string, AddressRequest>();
        for (const o of ops) {
          if (o.kind === 'tick') {
            now.t += o.ms;
            continue;
          }
          const key = `ns/s${o.svc}`;
          if (o.kind === 'release') {
            a.release(key);
            requests.delete(key);
            continue;
          }
          const req = request({
            families: o.dual ? [o.family, o.family === 'IPv4' ? 'IPv6' : 'IPv4'] : [o.family],
            policy: o.dual ? 'PreferDualStack' : 'SingleStack',
            sharing: o.share === null ? undefined : shared(`k${o.share}`, [`TCP/${o.port}`]),
          });
          const r = a.assign(key, req, [], noLabels);
          if (r.ok) requests.set(key, req);
          else requests.delete(key);
        }
        // Holders by address.
        const holders = new Map<string, string[]>();
        for (const key of requests.keys()) {
          const alloc = a.allocation(key);
          assert.ok(alloc, `${key} was served and still holds addresses`);
          for (const ip of alloc.addresses)
            holders.set(formatIP(ip), [...(holders.get(formatIP(ip)) ?? []), key]);
        }
        for (const [ip, keys] of holders) {
          if (keys.length < 2) continue;
          const sharings = keys.map((k) => requests.get(k)!.sharing);
          assert.ok(
            sharings.every((s) => s && s.key === sharings[0]!.key),
            `${ip} shared by ${keys} with one key`,
          );
          const ports = sharings.flatMap((s) => [...s!.ports]);
          assert.equal(new Set(ports).size, ports.length, `${ip}: no port used twice`);
        }
        // Usage counts equal the distinct addresses held, per pool and family.
        for (const name of ['a', 'b']) {
          const u = a.usage(name)!;
          for (const f of families) {
            const held = [...holders.keys()].filter((ip) => {
              const addr = parseIP(ip);
              return (
                addr.family === f &&
                [...requests.keys()].some(
                  (k) =>
                    a.allocation(k)!.pool === name &&
                    a.allocation(k)!.addresses.some((x) => x.value === addr.value && x.family === f),
                )
              );
            });
            assert.equal(u.inUse[f], BigInt(held.length), `${name} ${f} in use`);
            assert.equal(u.free[f] + u.inUse[f], u.capacity[f]);
          }
        }
        // Releasing everything gives every address back.
        for (const key of requests.keys()) a.release(key);
        for (const name of ['a', 'b']) assert.deepEqual(a.usage(name)!.inUse, { IPv4: 0n, IPv6: 0n });
      }),
      { numRuns: 300 },
    );
  });

  it('rebuilds the same state from the same claims in any order', () => {
    const claimArb = fc.array(
      fc.record({ svc: fc.nat(30), ip: fc.nat(20), age: fc.nat(5), share: fc.boolean(), port: fc.nat(2) }),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(claimArb, fc.infiniteStream(fc.nat()), (raw, seeds) => {
        const seen = new Set<number>();
        const claims: Claim[] = raw
          .filter((c) => !seen.has(c.svc) && seen.add(c.svc))
          .map((c) => ({
            key: `ns/s${c.svc}`,
            createdAt: `2026-01-0${c.age + 1}T00:00:00Z`,
            request: request({ sharing: c.share ? shared('k', [`TCP/${c.port}`]) : undefined }),
            addresses: [parseIP(`203.0.113.${c.ip}`)],
          }));
        const snapshot = (cs: Claim[]) => {
          const a = allocator(pools());
          const refused = [...a.restore(cs, noLabels).keys()].sort();
          const held = claims.map(
            (c) => `${c.key}=${a.allocation(c.key)?.addresses.map(formatIP).join(',') ?? '-'}`,
          );
          return { refused, held, usage: a.usage('a') };
        };
        const shuffled = [...claims];
        const it = seeds[Symbol.iterator]();
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = (it.next().value as number) % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        assert.deepEqual(snapshot(shuffled), snapshot(claims));
      }),
      { numRuns: 300 },
    );
  });
});
