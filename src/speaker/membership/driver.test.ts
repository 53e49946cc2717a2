import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../../testing/fake-clock.js';
import { MembershipDriver } from './driver.js';
import { createKeyring } from './keyring.js';
import { Membership } from './members.js';
import type { MemberChange } from './types.js';

const keyring = createKeyring(['driver-test-secret-0123456789']);
const LATENCY = 2;

/** Speakers on one fake clock, joined by an in-memory network with a fixed latency. */
function speakers(names: readonly string[], clock: FakeClock) {
  const drivers = new Map<string, MembershipDriver>();
  const changes = new Map<string, MemberChange[]>(names.map((n) => [n, []]));
  const dropped: string[] = [];
  for (const [i, name] of names.entries()) {
    const membership = new Membership({ self: name, incarnation: 1000 + i, keyring }, clock.now());
    membership.setPeers(
      names.map((n) => ({ name: n, address: n })),
      clock.now(),
    );
    const driver = new MembershipDriver({
      membership,
      keyring,
      clock,
      send: (d) => {
        clock.setTimer(LATENCY, () => drivers.get(d.address)?.received(d.bytes));
      },
      onChanges: (c) => changes.get(name)!.push(...c),
      onDropped: (reason) => dropped.push(`${name}: ${reason}`),
    });
    drivers.set(name, driver);
  }
  return { drivers, changes, dropped };
}

describe('MembershipDriver on a fake clock', () => {
  it('brings members up, and detects a stopped one exactly one timeout after its last heartbeat', async () => {
    const clock = new FakeClock();
    const { drivers, changes } = speakers(['a', 'b', 'c'], clock);
    await clock.advance(1000);
    const up = changes
      .get('a')!
      .filter((c) => c.kind === 'state' && c.to === 'alive')
      .map((c) => c.member);
    assert.deepEqual(up.sort(), ['a', 'b', 'c']);

    drivers.get('c')!.stop();
    await clock.advance(1000);
    const down = changes.get('a')!.find((c) => c.kind === 'state' && c.member === 'c' && c.to === 'down');
    assert.ok(down?.kind === 'state' && down.cause === 'timeout');
    assert.equal(down.at - down.lastHeardAt!, 300);
    // c's last heartbeat left it at most one interval before it stopped, plus the latency.
    assert.ok(down.at - 1000 <= 300 + 100 + LATENCY, `detected ${down.at - 1000} ms after the stop`);
  });

  it('reports a graceful leave at once and drops what it cannot decode', async () => {
    const clock = new FakeClock();
    const { drivers, changes, dropped } = speakers(['a', 'b'], clock);
    await clock.advance(1000);
    drivers.get('b')!.leave();
    await clock.advance(LATENCY);
    const left = changes.get('a')!.find((c) => c.kind === 'state' && c.member === 'b' && c.to === 'left');
    assert.ok(left?.kind === 'state' && left.at === 1000 + LATENCY);
    drivers.get('a')!.received(Buffer.alloc(64, 0x41));
    assert.deepEqual(dropped, ['a: not a Portico membership datagram (bad magic)']);
  });
});
