import type { Clock, Timer } from '../util/clock.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when a test says so. Timers fire in deadline order (ties in creation
 * order) during `advance`, and microtasks are drained between them so async code observes each step.
 */
export class FakeClock implements Clock {
  private current = 0;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(private readonly wallEpoch = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.current;
  }

  wallNow(): number {
    return this.wallEpoch + this.current;
  }

  setTimer(delayMs: number, fn: () => void): Timer {
    const entry: Pending = { at: this.current + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.pending.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = this.setTimer(delayMs, resolve);
      signal?.addEventListener(
        'abort',
        () => {
          timer.cancel();
          resolve();
        },
        { once: true },
      );
    });
  }

  /** Number of timers still waiting to fire. */
  get pendingTimers(): number {
    return this.pending.filter((p) => !p.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await flushMicrotasks();
      const next = this.nextDue(target);
      if (!next) break;
      this.current = next.at;
      next.cancelled = true;
      next.fn();
    }
    this.current = target;
    await flushMicrotasks();
  }

  private nextDue(limit: number): Pending | undefined {
    this.pending = this.pending.filter((p) => !p.cancelled);
    let best: Pending | undefined;
    for (const p of this.pending) {
      if (p.at > limit) continue;
      if (!best || p.at < best.at || (p.at === best.at && p.seq < best.seq)) best = p;
    }
    return best;
  }
}

/** Lets every queued promise continuation run (several rounds, for chains of awaits). */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
