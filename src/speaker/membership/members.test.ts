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
