import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AddressError } from '../../api/address.js';
import { AnnouncementSchedule, type DueAnnouncement } from './announcement.js';

const VIP4 = '203.0.113.10';
const VIP6 = '2001:db8::10';
const summary = (send: DueAnnouncement[]): string[] => send.map(({ vip, kind }) => `${vip} ${kind}`);

/** Calls `due` at every wake-up until the schedule goes quiet; returns the times something was sent. */
function runToQuiet(schedule: AnnouncementSchedule, start: number): number[] {
  const times: number[] = [];
  let now: number | undefined = start;
  while (now !== undefined) {
    const { send, nextWakeAt } = schedule.due(now);
    if (send.length > 0) times.push(now);
    now = nextWakeAt;
  }
  return times;
}

describe('AnnouncementSchedule', () => {
  it('sends both gratuitous ARP forms for an IPv4 VIP at once, request form first', () => {
    const schedule = new AnnouncementSchedule();
    assert.equal(schedule.own(VIP4, 1000), true);
    const { send, nextWakeAt } = schedule.due(1000);
    assert.deepEqual(send, [
      { vip: VIP4, address: Buffer.from([203, 0, 113, 10]), kind: 'garp-request' },
      { vip: VIP4, address: Buffer.from([203, 0, 113, 10]), kind: 'garp-reply' },
    ]);
    assert.equal(nextWakeAt, 2000);
  });

  it('sends an unsolicited NA for an IPv6 VIP', () => {
    const schedule = new AnnouncementSchedule();
    schedule.own(VIP6, 0);
    const { send } = schedule.due(0);
    assert.deepEqual(summary(send), [`${VIP6} unsolicited-na`]);
    assert.deepEqual(send[0]?.address, Buffer.from('20010db8000000000000000000000010', 'hex'));
  });

  it('repeats every second for five seconds, then stops: six rounds by default', () => {
    const schedule = new AnnouncementSchedule();
    schedule.own(VIP4, 1000);
    assert.deepEqual(runToQuiet(schedule, 1000), [1000, 2000, 3000, 4000, 5000, 6000]);
    assert.deepEqual(schedule.due(60_000), { send: [], nextWakeAt: undefined });
    assert.ok(schedule.isOwned(VIP4), 'the VIP stays owned after its burst');
  });

  it("follows MetalLB's cadence when configured so (every 1.1 s until 5 s)", () => {
    const schedule = new AnnouncementSchedule({ intervalMs: 1100, durationMs: 5000 });
    schedule.own(VIP4, 0);
    assert.deepEqual(runToQuiet(schedule, 0), [0, 1100, 2200, 3300, 4400]);
  });

  it('sends nothing before a round is due', () => {
    const schedule = new AnnouncementSchedule();
    schedule.own(VIP4, 0);
    schedule.due(0);
    assert.deepEqual(schedule.due(999), { send: [], nextWakeAt: 1000 });
  });

  it('sends a missed round once, late, and keeps the takeover cadence', () => {
    const schedule = new AnnouncementSchedule();
    schedule.own(VIP4, 0);
    schedule.due(0);
    const late = schedule.due(3500);
    assert.equal(late.send.length, 2);
    assert.equal(late.nextWakeAt, 4000);
  });

  it('still sends the takeover round when the first call comes after the whole burst', () => {
    const schedule = new AnnouncementSchedule();
    schedule.own(VIP6, 0);
    const { send, nextWakeAt } = schedule.due(9000);
    assert.deepEqual(summary(send), [`${VIP6} unsolicited-na`]);
    assert.equal(nextWakeAt, undefined);
  });

  it('stops at once when ownership is lost, and starts afresh on a new takeover', () => {
    const schedule = new AnnouncementSchedule();
    schedule.own(VIP4, 0);
    schedule.due(0);
    assert.equal(schedule.disown(VIP4), true);
    assert.deepEqual(schedule.due(1000), { send: [], nextWakeAt: undefined });
    assert.equal(schedule.disown(VIP4), false);
    assert.equal(schedule.isOwned(VIP4), false);
    schedule.own(VIP4, 1500);
    assert.deepEqual(runToQuiet(schedule, 1500), [1500, 2500, 3500, 4500, 5500, 6500]);
  });

  it('does not restart a burst when told again that it owns a VIP', () => {
    const schedule = new AnnouncementSchedule();
    schedule.own(VIP4, 0);
    schedule.due(0);
    assert.equal(schedule.own(VIP4, 500), false);
    assert.deepEqual(schedule.due(500), { send: [], nextWakeAt: 1000 });
  });

  it('restarts the burst of an owned VIP on reannounce, and refuses for one it does not own', () => {
    const schedule = new AnnouncementSchedule();
    schedule.own(VIP4, 0);
    runToQuiet(schedule, 0);
    assert.equal(schedule.reannounce(VIP4, 10_000), true);
    assert.deepEqual(runToQuiet(schedule, 10_000), [10_000, 11_000, 12_000, 13_000, 14_000, 15_000]);
    assert.equal(schedule.reannounce(VIP6, 10_000), false);
    assert.equal(schedule.reannounce('not an address', 10_000), false);
  });

  it('compares VIPs in canonical form', () => {
    const schedule = new AnnouncementSchedule();
    schedule.own('2001:DB8:0::10', 0);
    assert.ok(schedule.isOwned(VIP6));
    assert.deepEqual(summary(schedule.due(0).send), [`${VIP6} unsolicited-na`]);
    assert.equal(schedule.disown('2001:db8::0010'), true);
  });

  it('wakes for the earliest of several bursts', () => {
    const schedule = new AnnouncementSchedule();
    schedule.own(VIP4, 0);
    schedule.own(VIP6, 300);
    assert.deepEqual(summary(schedule.due(0).send), [`${VIP4} garp-request`, `${VIP4} garp-reply`]);
    assert.equal(schedule.nextWakeAt(), 300);
    assert.deepEqual(schedule.due(300).nextWakeAt, 1000);
  });

  it('rejects a VIP that is not an address, and bad timings', () => {
    const schedule = new AnnouncementSchedule();
    assert.throws(() => schedule.own('203.0.113.0/24', 0), AddressError);
    assert.equal(schedule.disown('not an address'), false);
    assert.throws(() => new AnnouncementSchedule({ intervalMs: 0 }), RangeError);
    assert.throws(() => new AnnouncementSchedule({ durationMs: -1 }), RangeError);
    assert.throws(() => new AnnouncementSchedule({ intervalMs: Number.NaN }), RangeError);
  });

  it('keeps its promises under any sequence of takeovers, losses and late calls', () => {
    const vips = ['203.0.113.10', '203.0.113.11', '2001:db8::10'];
    const opArb = fc.record({
      op: fc.constantFrom('own', 'disown', 'reannounce', 'due', 'due'),
      vip: fc.constantFrom(...vips),
      advance: fc.integer({ min: 0, max: 2500 }),
    });
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 60 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 0, max: 8000 }),
        (ops, intervalMs, durationMs) => {
          const schedule = new AnnouncementSchedule({ intervalMs, durationMs });
          const maxRounds = Math.floor(durationMs / intervalMs) + 1;
          /** Per owned VIP: when its burst started, how many rounds went out, the last one when. */
          const bursts = new Map<string, { start: number; rounds: number; lastSent: number }>();
          let now = 0;
          for (const { op, vip, advance } of ops) {
            now += advance;
            if (op === 'own' && schedule.own(vip, now))
              bursts.set(vip, { start: now, rounds: 0, lastSent: 0 });
            if (op === 'disown') {
              schedule.disown(vip);
              bursts.delete(vip);
            }
            if (op === 'reannounce' && schedule.reannounce(vip, now))
              bursts.set(vip, { start: now, rounds: 0, lastSent: 0 });
            if (op !== 'due') continue;
            const { send, nextWakeAt } = schedule.due(now);
            assert.ok(nextWakeAt === undefined || nextWakeAt > now);
            const sentNow = new Set(send.map((item) => item.vip));
            assert.equal(
              send.length,
              [...sentNow].reduce((n, v) => n + (v.includes(':') ? 1 : 2), 0),
            );
            for (const [owned, burst] of bursts) {
              // A burst's first round goes out at the first call after the takeover, however late.
              if (burst.rounds === 0) assert.ok(sentNow.has(owned), `${owned} missed its takeover round`);
            }
            for (const sent of sentNow) {
              const burst = bursts.get(sent);
              assert.ok(burst, `${sent} announced while not owned`);
              if (burst.rounds > 0) {
                // A later round is sent only once its slot, inside the burst, has come.
                const slot = (Math.floor((burst.lastSent - burst.start) / intervalMs) + 1) * intervalMs;
                assert.ok(slot <= durationMs, `${sent} announced after its burst`);
                assert.ok(burst.start + slot <= now, `${sent} announced early`);
              }
              burst.rounds++;
              burst.lastSent = now;
              assert.ok(
                burst.rounds <= maxRounds,
                `${sent} sent ${burst.rounds} rounds, at most ${maxRounds}`,
              );
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
