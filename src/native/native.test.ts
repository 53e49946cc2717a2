// The native addon on real sockets: in a network namespace of its own holding a veth pair, each
// check runs in a child process (fixtures/native-checks.ts) started with `ip netns exec`.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { packageRoot } from '../util/package-root.js';

const run = promisify(execFile);
const root = packageRoot(import.meta.url);
const fixture = join(root, 'src', 'native', 'fixtures', 'native-checks.ts');
const ns = `portico-native-test-${process.pid}`;
const skip =
  process.getuid?.() === 0 ? false : 'not root: real-socket tests need root to create a network namespace';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function deleteNamespace(name = ns): void {
  try {
    ip('netns', 'delete', name);
  } catch {
    // it was never created
  }
}

/** Namespaces left by runs that were killed before their `after` hook (their pid is gone). */
function deleteLeftovers(): void {
  const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '');
  for (const name of names) {
    const pid = /^portico-native-test-(\d+)$/.exec(name)?.[1];
    if (!pid) continue;
    try {
      process.kill(Number(pid), 0);
    } catch {
      deleteNamespace(name);
    }
  }
}

/** Runs one check in the namespace (optionally through a wrapper such as setpriv); returns its JSON. */
async function check(name: string, wrapper: string[] = []): Promise<Record<string, unknown>> {
  const command = [...wrapper, process.execPath, '--import', 'tsx', fixture, name];
  const { stdout } = await run('ip', ['netns', 'exec', ns, ...command], { cwd: root, timeout: 30_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

describe('native addon on real sockets', () => {
  before(() => {
    if (skip) return;
    deleteLeftovers();
    deleteNamespace();
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    // The packet check takes pn1 down and up; Linux would drop its IPv6 addresses on the way.
    ip('netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.keep_addr_on_down=1');
    ip('-n', ns, 'link', 'add', 'pn0', 'type', 'veth', 'peer', 'name', 'pn1');
    for (const [dev, v4, v6] of [
      ['pn0', '192.0.2.1/24', '2001:db8:1::1/64'],
      ['pn1', '192.0.2.2/24', '2001:db8:1::2/64'],
    ] as const) {
      ip('-n', ns, 'address', 'add', v4, 'dev', dev);
      ip('-n', ns, '-6', 'address', 'add', v6, 'dev', dev, 'nodad');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
  });

  after(() => {
    if (!skip) deleteNamespace();
  });

  it('packet socket: a frame sent on one veth end arrives on the other, filtered by BPF, never at its sender', {
    skip,
  }, async () => {
    const r = await check('packet');
    assert.deepEqual(r.all, [1, 2], 'both frames arrive at the socket without a filter');
    assert.deepEqual(r.allInfo, { pkttype: 1, ifindex: r.pn1Ifindex });
    assert.equal(r.allLength, 60);
    assert.deepEqual(r.filtered, [1], 'the BPF filter passes only marker 1');
    assert.deepEqual(r.otherType, [], 'another EtherType receives nothing');
    assert.deepEqual(r.sender, [], 'the sending socket does not receive its own frames');
    assert.deepEqual(r.sameSide, [], 'no socket on the sending interface sees outgoing frames');
    assert.deepEqual(r.downErrors, ['ENETDOWN'], 'link down is reported once');
    assert.equal(r.sawAfterUp, true, 'frames arrive again after link up');
  });

  it('ICMPv6: receives an NS to a group only while joined, with hop limit 255, sent from a non-local source', {
    skip,
  }, async () => {
    const r = await check('icmp6');
    assert.equal(r.beforeJoin, 0, 'nothing before the join (and type 136 to ff02::1 is filtered)');
    assert.equal(r.gotIt, true);
    assert.deepEqual(r.info, {
      source: '2001:db8:1::99',
      destination: 'ff02::1:ff00:99',
      hopLimit: 255,
      ifindex: r.pn1Ifindex,
    });
    assert.equal(r.type, 135);
    assert.equal(r.checksumSet, true, 'the kernel computed the checksum');
    assert.equal(r.target, '20010db8000100000000000000000099');
    assert.equal(r.afterLeave, 0, 'nothing after leaving the group');
  });

  it('UDP TTL socket: reports the TTL / hop limit the peer sent with', { skip }, async () => {
    const r = (await check('udp')) as Record<string, { address: string; port: number; ttl: number }>;
    for (const [family, from] of [
      ['ipv4', '192.0.2.1'],
      ['ipv6', '2001:db8:1::1'],
    ] as const) {
      const ports = r[`${family}-ports`]!;
      assert.deepEqual(r[`${family}-bfd`], { address: from, port: ports.port, ttl: 255, data: 'bfd' });
      assert.deepEqual(r[`${family}-seven`], { address: from, port: ports.ttl, ttl: 7, data: 'seven' });
    }
  });

  it('TCP: MD5 keys must match (a mismatch times out), keys can change, GTSM drops low TTLs', {
    skip,
  }, async () => {
    const r = (await check('tcp')) as Record<
      string,
      { ok: boolean; code?: string; ms: number; remote?: string }
    >;
    assert.equal(r.matching?.ok, true, JSON.stringify(r.matching));
    assert.equal(r.matching?.remote, `192.0.2.2:${r.v4Port}`);
    assert.equal(r.mismatched?.code, 'ETIMEDOUT');
    assert.ok((r.mismatched?.ms ?? 0) >= 900, `timed out after ${r.mismatched?.ms} ms`);
    assert.equal(r.missing?.code, 'ETIMEDOUT');
    assert.equal(r.ipv6Prefix?.ok, true, JSON.stringify(r.ipv6Prefix));
    assert.equal(r.rekeyed?.ok, true, JSON.stringify(r.rekeyed));
    assert.equal(r.refused?.code, 'ECONNREFUSED');
    assert.deepEqual(r.aborted && { ok: r.aborted.ok, error: (r.aborted as { error?: string }).error }, {
      ok: false,
      error: 'stopped',
    });
    assert.ok((r.aborted?.ms ?? 0) < 1000, 'an abort ends the connect at once');
    assert.equal(r.gtsmLowTtl?.code, 'ETIMEDOUT');
    assert.equal(r.gtsmTtl255?.ok, true, JSON.stringify(r.gtsmTtl255));
    assert.equal(r.reply, 'PING', 'data flows both ways');
    assert.equal(r.accepted, 5, 'the listeners accepted the five good connections');
    assert.equal(r.acceptedFrom, '192.0.2.1');
  });

  it('without CAP_NET_RAW, raw sockets fail with a one-line MissingCapabilityError', { skip }, async () => {
    const r = await check('nocap', ['setpriv', '--inh-caps=-net_raw', '--bounding-set=-net_raw']);
    assert.deepEqual(r.packet, {
      ok: false,
      name: 'MissingCapabilityError',
      message: 'opening a packet socket on pn0 needs CAP_NET_RAW (run the speaker with that capability)',
    });
    assert.deepEqual(r.icmp6, {
      ok: false,
      name: 'MissingCapabilityError',
      message: 'opening an ICMPv6 socket on pn0 needs CAP_NET_RAW (run the speaker with that capability)',
    });
  });
});
