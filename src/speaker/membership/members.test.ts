import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decode, encodeHeartbeat } from './codec.js';
import { createKeyring } from './keyring.js';
import { Membership } from './members.js';
import type { Datagram, MemberChange, Output } from './types.js';

const keyring = createKeyring(['members-test-secret-0123456789']);
const INTERVAL = 100;
type StateChange = Extract<MemberChange, { kind: 'state' }>;
const TIMEOUT = 300;

/**
 * Members wired together with zero latency: every datagram a member returns is delivered at once
 * (unless its link is cut), and whatever the receiver returns is delivered in turn.
 */
class Wire {
  now = 0;
  readonly members = new Map<string, Membership>();
  readonly changes = new Map<string, MemberChange[]>();
  readonly ignored: string[] = [];
  readonly cuts = new Set<string>();
  delivered = 0;

  constructor(readonly names: readonly string[]) {
    for (const name of names) this.start(name, 1);
  }

  start(name: string, incarnation: number): Membership {
    const m = new Membership({ self: name, incarnation, keyring }, this.now);
    m.setPeers(
      this.names.map((n) => ({ name: n, address: n })),
      this.now,
    );
    this.members.set(name, m);
    this.changes.set(name, []);
    return m;
  }

  member(name: string): Membership {
    return this.members.get(name)!;
  }

  /** Delivers an output of `from` and everything it causes. */
  deliver(from: string, output: Output): void {
    this.record(from, output);
    const queue: [string, Datagram][] = output.send.map((d) => [from, d]);
    for (let item = queue.shift(); item; item = queue.shift()) {
      const [sender, datagram] = item;
      const target = this.members.get(datagram.address);
      if (!target || this.cuts.has(`${sender}>${datagram.address}`)) continue;
      const decoded = decode(datagram.bytes, keyring);
      assert.ok(decoded.ok);
      this.delivered++;
      const out = target.received(decoded.value, this.now);
      this.record(datagram.address, out);
      for (const d of out.send) queue.push([datagram.address, d]);
    }
  }

  /** Ticks every member at `now`. */
  tickAll(now: number, except: readonly string[] = []): void {
    this.now = now;
    for (const [name, m] of this.members) if (!except.includes(name)) this.deliver(name, m.tick(now));
  }

  /** Ticks every member each `step` ms until `until`. */
  runTo(until: number, step = 10, except: readonly string[] = []): void {
    for (let t = this.now + step; t <= until; t += step) this.tickAll(t, except);
  }

  live(name: string): readonly string[] {
    return this.member(name).view(this.now).live;
  }

  stateChanges(name: string): StateChange[] {
    return this.changes.get(name)!.filter((c): c is StateChange => c.kind === 'state');
  }

  private record(name: string, output: Output): void {
    this.changes.get(name)?.push(...output.changes);
    if (output.ignored) this.ignored.push(`${name}: ${output.ignored}`);
  }
}

describe('membership: joining and liveness', () => {
  it('is joining for timeoutMs after start, then alive; peers count it live only then', () => {
    const w = new Wire(['a', 'b']);
    w.tickAll(0);
    assert.equal(w.member('a').view(0).status, 'joining');
    assert.deepEqual(w.live('a'), []);
    assert.equal(w.member('a').view(0).peers[0]!.state, 'joining');
    w.runTo(TIMEOUT);
    assert.deepEqual(w.live('a'), ['a', 'b']);
    assert.deepEqual(w.live('b'), ['a', 'b']);
    const [joined] = w.stateChanges('a').filter((c) => c.kind === 'state' && c.member === 'a');
    assert.deepEqual(joined && { from: joined.from, to: joined.to, at: joined.at }, {
      from: 'joining',
      to: 'alive',
      at: 300,
    });
  });

  it('sends a heartbeat to every configured peer every interval', () => {
    const m = new Membership({ self: 'a', incarnation: 1, keyring }, 0);
    m.setPeers(
      ['b', 'c', 'd'].map((n) => ({ name: n, address: `${n}:7473` })),
      0,
    );
    let sent = 0;
    for (let t = 0; t < 1000; t += 10) {
      const out = m.tick(t);
      assert.ok(out.send.every((d) => d.address.endsWith(':7473')));
      sent += out.send.length;
    }
    // 10 rounds in a second, plus one at 150 ms when the silent peers become unheard (asking for relays);
    // the join at 300 ms falls on a scheduled round.
    assert.equal(sent, 3 * 11);
  });

  it('declares a silent member down exactly timeoutMs after its last heartbeat when ticked at nextDeadline', () => {
    const w = new Wire(['a', 'b']);
    w.runTo(1000);
    const lastHeard = w.member('a').view(w.now).peers[0]!.lastHeardAt!;
    // b falls silent: only a keeps ticking, at the deadlines it asks for.
    let t = w.now;
    for (let i = 0; i < 50 && w.live('a').includes('b'); i++) {
      t = w.member('a').nextDeadline();
      w.now = t;
      w.deliver('a', w.member('a').tick(t));
    }
    const down = w.stateChanges('a').find((c) => c.kind === 'state' && c.to === 'down');
    assert.ok(down && down.kind === 'state');
    assert.equal(down.at, lastHeard + TIMEOUT);
    assert.equal(down.lastHeardAt, lastHeard);
    assert.equal(down.cause, 'timeout');
  });

  it('declares it down within timeoutMs + intervalMs when ticked only every interval, whatever the phase', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: INTERVAL - 1 }),
        fc.integer({ min: 0, max: 999 }),
        (phase, silentAt) => {
          const w = new Wire(['a', 'b']);
          w.runTo(1000 + silentAt, 1);
          const lastHeard = w.member('a').view(w.now).peers[0]!.lastHeardAt!;
          let t = w.now + phase;
          while (w.live('a').includes('b')) {
            w.now = t;
            w.deliver('a', w.member('a').tick(t));
            t += INTERVAL;
          }
          assert.ok(
            w.now - lastHeard >= TIMEOUT && w.now - lastHeard <= TIMEOUT + INTERVAL,
            `${w.now - lastHeard} ms`,
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it('never asks to be ticked in the past', () => {
    const w = new Wire(['a', 'b', 'c']);
    w.cuts.add('b>a');
    for (let t = 0; t < 2000; t += 7) {
      w.tickAll(t);
      for (const m of w.members.values()) assert.ok(m.nextDeadline() > t);
    }
  });
});

describe('membership: leaving, restarts, replays', () => {
  it('marks a leaving member left at once, never later down', () => {
    const w = new Wire(['a', 'b']);
    w.runTo(1000);
    w.deliver('b', w.member('b').leave(w.now));
    assert.deepEqual(w.live('a'), ['a']);
    const left = w
      .stateChanges('a')
      .filter((c) => c.kind === 'state' && c.member === 'b')
      .at(-1);
    assert.ok(left?.kind === 'state' && left.to === 'left' && left.cause === 'leaving' && left.at === 1000);
    w.runTo(2000, 10, ['b']);
    assert.ok(!w.stateChanges('a').some((c) => c.kind === 'state' && c.to === 'down'));
    assert.equal(w.member('b').view(w.now).status, 'leaving');
  });

  it('treats a restart (higher incarnation) as a new life: joining again, claims cleared', () => {
    const w = new Wire(['a', 'b']);
    w.runTo(1000);
    w.deliver('b', w.member('b').setClaims(['198.51.100.1'], w.now));
    assert.deepEqual([...w.member('a').view(w.now).peers[0]!.claims], ['198.51.100.1']);
    w.start('b', 2);
    w.runTo(1100);
    const peer = w.member('a').view(w.now).peers[0]!;
    assert.deepEqual(
      { state: peer.state, incarnation: peer.incarnation, claims: [...peer.claims] },
      { state: 'joining', incarnation: 2, claims: [] },
    );
    assert.deepEqual(w.live('a'), ['a']);
    const restart = w.stateChanges('a').find((c) => c.kind === 'state' && c.cause === 'restart');
    assert.ok(restart?.kind === 'state' && restart.from === 'alive' && restart.to === 'joining');
    w.runTo(1500);
    assert.deepEqual(w.live('a'), ['a', 'b']);
  });

  it('ignores replayed, duplicated and older-incarnation heartbeats', () => {
    const a = new Membership({ self: 'a', incarnation: 1, keyring }, 0);
    a.setPeers([{ name: 'b', address: 'b' }], 0);
    const beat = (incarnation: number, seq: number) => {
      const d = decode(
        encodeHeartbeat(
          {
            sender: 'b',
            status: 'alive',
            incarnation,
            seq,
            sentAt: seq,
            claimsVersion: 0,
            chunkIndex: 0,
            chunkCount: 1,
            unheard: [],
            ips: [],
          },
          keyring,
        ),
        keyring,
      );
      assert.ok(d.ok);
      return d.value;
    };
    assert.equal(a.received(beat(5, 10), 1).ignored, undefined);
    assert.equal(a.received(beat(5, 10), 2).ignored, 'duplicate heartbeat from b');
    assert.equal(a.received(beat(5, 9), 3).ignored, 'replayed heartbeat from b');
    assert.equal(a.received(beat(4, 99), 4).ignored, 'staleIncarnation heartbeat from b');
    assert.equal(a.received(beat(5, 11), 5).ignored, undefined);
    // A replay must not keep a dead member alive.
    a.tick(400);
    assert.equal(a.view(400).peers[0]!.state, 'down');
    assert.ok(a.received(beat(5, 11), 401).ignored);
    assert.equal(a.view(401).peers[0]!.state, 'down');
  });

  it('rejects forged datagrams before they reach the state machine, and ignores strangers and name clashes', () => {
    const stranger = createKeyring(['not-the-cluster-secret-at-all']);
    const forged = encodeHeartbeat(
      {
        sender: 'b',
        status: 'alive',
        incarnation: 9,
        seq: 1,
        sentAt: 0,
        claimsVersion: 0,
        chunkIndex: 0,
        chunkCount: 1,
        unheard: [],
        ips: [],
      },
      stranger,
    );
    assert.equal(decode(forged, keyring).ok, false);
    const a = new Membership({ self: 'a', incarnation: 1, keyring }, 0);
    a.setPeers([{ name: 'b', address: 'b' }], 0);
    const from = (sender: string, incarnation = 1) => {
      const d = decode(
        encodeHeartbeat(
          {
            sender,
            status: 'alive',
            incarnation,
            seq: 1,
            sentAt: 0,
            claimsVersion: 0,
            chunkIndex: 0,
            chunkCount: 1,
            unheard: [],
            ips: [],
          },
          keyring,
        ),
        keyring,
      );
      assert.ok(d.ok);
      return d.value;
    };
    assert.equal(a.received(from('z'), 1).ignored, 'heartbeat from unconfigured node z');
    assert.equal(a.received(from('a', 7), 1).ignored, 'another speaker (incarnation 7) uses this node name');
  });

  it('reports a removed peer down (removed) and ignores it afterwards', () => {
    const w = new Wire(['a', 'b']);
    w.runTo(1000);
    const out = w.member('a').setPeers([], w.now);
    assert.deepEqual(
      out.changes.map((c) => c.kind === 'state' && [c.member, c.to, c.cause]),
      [['b', 'down', 'removed']],
    );
    w.runTo(1200);
    assert.deepEqual(w.live('a'), ['a']);
    assert.ok(w.ignored.some((r) => r === 'a: heartbeat from unconfigured node b'));
  });
});

describe('membership: late heartbeats', () => {
  const beat = (seq: number, sentAt: number, ips: string[] = []) => {
    const d = decode(
      encodeHeartbeat(
        {
          sender: 'b',
          status: 'alive',
          incarnation: 7,
          seq,
          sentAt,
          claimsVersion: seq,
          chunkIndex: 0,
          chunkCount: 1,
          unheard: [],
          ips,
        },
        keyring,
      ),
      keyring,
    );
    assert.ok(d.ok);
    return d.value;
  };

  it('ignores a heartbeat held back longer than the timeout (a queue released at a link heal), whatever its sequence', () => {
    const a = new Membership({ self: 'a', incarnation: 1, keyring }, 0);
    a.setPeers([{ name: 'b', address: 'b' }], 0);
    // b's clock is 50 s ahead of ours; delivery takes 1 ms.
    for (let t = 100; t <= 1000; t += 100)
      assert.equal(a.received(beat(t / 100, 50_000 + t - 1), t).ignored, undefined);
    a.tick(1400);
    assert.equal(a.view(1400).peers[0]!.state, 'down');
    // Sent at 1050 (b's news then: it claims 198.51.100.1), delivered at 3050 with the queue it sat in.
    const late = a.received(beat(11, 51_050, ['198.51.100.1']), 3050);
    assert.match(late.ignored ?? '', /^heartbeat from b arrived 199\d ms late$/);
    assert.equal(a.view(3050).peers[0]!.state, 'down', 'old news does not bring it back');
    const fresh = a.received(beat(40, 53_049), 3050);
    assert.equal(fresh.ignored, undefined);
    assert.equal(a.view(3050).peers[0]!.state, 'alive');
    assert.deepEqual([...a.view(3050).peers[0]!.claims], []);
  });

  it('never takes fresh heartbeats for late ones when the clocks run at rates 500 ppm apart for an hour', () => {
    const a = new Membership({ self: 'a', incarnation: 1, keyring }, 0);
    a.setPeers([{ name: 'b', address: 'b' }], 0);
    let seq = 0;
    for (let t = 100; t <= 3_600_000; t += 100) {
      const out = a.received(beat(++seq, Math.floor(t * 0.9995)), t);
      if (out.ignored) assert.fail(`${out.ignored} at ${t} ms`);
      if (t % 1000 === 0) a.tick(t);
    }
  });
});

describe('membership: claims', () => {
  it('sends every chunk of a change at once; peers see the new claims complete', () => {
    const w = new Wire(['a', 'b']);
    w.runTo(1000);
    const ips = Array.from({ length: 3000 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);
    const out = w.member('a').setClaims(ips, w.now);
    assert.ok(out.send.length > 40, `${out.send.length} datagrams`);
    assert.ok(out.send.every((d) => d.bytes.length <= 1400 - 54));
    w.deliver('a', out);
    assert.equal(w.member('b').view(w.now).peers[0]!.claims.size, 3000);
    const claimChanges = w.changes.get('b')!.filter((c) => c.kind === 'claims');
    assert.equal(claimChanges.length, 1);
    assert.equal(w.member('a').setClaims([...ips].reverse(), w.now).send.length, 0);
  });

  it('repairs a lost chunk within one rotation of regular heartbeats', () => {
    const w = new Wire(['a', 'b']);
    w.runTo(1000);
    const ips = Array.from({ length: 600 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
    const out = w.member('a').setClaims(ips, w.now);
    const chunks = out.send.length;
    w.deliver('a', { ...out, send: out.send.slice(1) });
    assert.equal(w.member('b').view(w.now).peers[0]!.claims.size, 0);
    w.runTo(w.now + chunks * INTERVAL);
    assert.equal(w.member('b').view(w.now).peers[0]!.claims.size, 600);
  });
});

describe('membership: asymmetric links', () => {
  it('keeps a member alive through relays when only the direct link is cut one way', () => {
    const w = new Wire(['a', 'b', 'c']);
    w.runTo(1000);
    w.cuts.add('b>a');
    w.runTo(3000);
    assert.deepEqual(w.live('a'), ['a', 'b', 'c']);
    assert.deepEqual(w.live('b'), ['a', 'b', 'c']);
    const viewOfB = w
      .member('a')
      .view(w.now)
      .peers.find((p) => p.name === 'b')!;
    assert.equal(viewOfB.direct, false);
    assert.ok(!w.stateChanges('a').some((c) => c.kind === 'state' && c.to === 'down'));
    assert.equal(
      w
        .member('b')
        .view(w.now)
        .peers.find((p) => p.name === 'a')!.hearsUs,
      false,
    );
  });

  it('survives a symmetric cut between two members while a third hears both', () => {
    const w = new Wire(['a', 'b', 'c', 'd']);
    w.runTo(1000);
    w.cuts.add('a>b');
    w.cuts.add('b>a');
    w.runTo(3000);
    for (const n of ['a', 'b', 'c', 'd']) assert.deepEqual(w.live(n), ['a', 'b', 'c', 'd']);
  });

  it('with nobody to relay, tells the unheard member that it is not heard', () => {
    const w = new Wire(['a', 'b']);
    w.runTo(1000);
    w.cuts.add('b>a');
    w.runTo(2000);
    assert.deepEqual(w.live('a'), ['a']);
    assert.deepEqual(w.live('b'), ['a', 'b']);
    assert.equal(w.member('b').view(w.now).peers[0]!.hearsUs, false);
  });

  it('a dead member is not kept alive by relays', () => {
    const w = new Wire(['a', 'b', 'c']);
    w.runTo(1000);
    w.cuts.add('b>a');
    w.runTo(1500);
    const lastHeard = w
      .member('c')
      .view(w.now)
      .peers.find((p) => p.name === 'b')!.lastHeardAt!;
    w.runTo(2500, 10, ['b']);
    for (const n of ['a', 'c']) {
      const down = w.stateChanges(n).find((c) => c.kind === 'state' && c.member === 'b' && c.to === 'down');
      assert.ok(down?.kind === 'state' && down.at - lastHeard <= TIMEOUT + 10, `${n}: ${down?.at}`);
    }
  });
});

describe('membership: minority', () => {
  it('says so while it sees no strict majority alive, for two timeouts after, and its peers hear it', () => {
    const wire = new Wire(['a', 'b', 'c']);
    wire.runTo(1000);
    for (const n of ['a', 'b', 'c']) assert.equal(wire.member(n).view(wire.now).minority, false, n);
    for (const other of ['b', 'c']) {
      wire.cuts.add(`a>${other}`);
      wire.cuts.add(`${other}>a`);
    }
    wire.runTo(1500);
    assert.equal(wire.member('a').view(wire.now).minority, true, 'alone among three');
    assert.equal(wire.member('b').view(wire.now).minority, false, 'two of three');
    wire.cuts.clear();
    wire.runTo(1650);
    assert.deepEqual(wire.live('a'), ['a', 'b', 'c']);
    assert.equal(wire.member('a').view(wire.now).minority, true, 'still within the grace after the heal');
    const seenByB = wire
      .member('b')
      .view(wire.now)
      .peers.find((p) => p.name === 'a');
    assert.equal(seenByB?.minority, true, "b heard a's flag");
    wire.runTo(1650 + 2 * TIMEOUT + 10);
    assert.equal(wire.member('a').view(wire.now).minority, false);
    assert.equal(
      wire
        .member('b')
        .view(wire.now)
        .peers.find((p) => p.name === 'a')?.minority,
      false,
    );
  });

  it('reports every flip of the flags placement uses, its own minority included, as a change', () => {
    const wire = new Wire(['a', 'b', 'c']);
    wire.runTo(1000);
    for (const list of wire.changes.values()) list.length = 0;
    const flags = (name: string) => wire.changes.get(name)!.filter((c) => c.kind === 'flags');
    for (const other of ['b', 'c']) {
      wire.cuts.add(`a>${other}`);
      wire.cuts.add(`${other}>a`);
    }
    wire.runTo(1500);
    assert.deepEqual(
      flags('a').map((c) => c.member),
      ['a'],
      'a reports its own minority when it starts',
    );
    wire.cuts.clear();
    // b hears a again: a's first heartbeats list b as unheard; then a hears b; a's minority then ends.
    wire.runTo(1500 + 2 * TIMEOUT + 100);
    const seenByB = flags('b').filter((c) => c.member === 'a');
    assert.ok(seenByB.length >= 1, 'b is told when a starts hearing it, or when its minority ends');
    assert.equal(flags('a').filter((c) => c.member === 'a').length, 2, 'a reports its minority ending');
    const view = wire
      .member('b')
      .view(wire.now)
      .peers.find((p) => p.name === 'a')!;
    assert.deepEqual([view.hearsUs, view.minority], [true, false]);
  });

  it('asks to be ticked when its own minority grace ends, so the end is reported on time', () => {
    const wire = new Wire(['a', 'b', 'c']);
    wire.runTo(1000);
    for (const other of ['b', 'c']) {
      wire.cuts.add(`a>${other}`);
      wire.cuts.add(`${other}>a`);
    }
    wire.runTo(1500);
    const a = wire.member('a');
    wire.cuts.clear();
    wire.runTo(1600);
    assert.ok(a.nextDeadline() <= 1600 + 2 * TIMEOUT, `next deadline ${a.nextDeadline()}`);
  });

  it('is never minority alone in a one-node cluster', () => {
    const solo = new Wire(['solo']);
    solo.runTo(1000);
    assert.equal(solo.member('solo').view(solo.now).minority, false);
  });
});
