import type { Clock } from '../util/clock.js';

/** Decides how long a failed work item waits before it is retried (client-go's workqueue.RateLimiter). */
export interface RateLimiter {
  /** Milliseconds to wait before `key` is processed again; counts one more failure for it. */
  when(key: string): number;
  /** Clears the failure history of `key`, typically after it was processed successfully. */
  forget(key: string): void;
  /** Failures counted for `key` since it was last forgotten. */
  retries(key: string): number;
}

export interface ExponentialOptions {
  /** Delay after the first failure; doubles with each further failure. Default 5 ms. */
  baseDelayMs?: number;
  /** Upper bound on the delay. Default 1000 s. */
  maxDelayMs?: number;
}

/** Per-key exponential backoff: base * 2^failures, capped (client-go's ItemExponentialFailureRateLimiter). */
export class ItemExponentialFailureRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor({ baseDelayMs = 5, maxDelayMs = 1_000_000 }: ExponentialOptions = {}) {
    if (!(baseDelayMs >= 0) || !(maxDelayMs >= baseDelayMs)) {
      throw new RangeError(`invalid backoff: base ${baseDelayMs} ms, max ${maxDelayMs} ms`);
    }
    this.baseDelayMs = baseDelayMs;
    this.maxDelayMs = maxDelayMs;
  }

  when(key: string): number {
    const exp = this.failures.get(key) ?? 0;
    this.failures.set(key, exp + 1);
    // 2 ** exp becomes Infinity for huge exponents, which Math.min caps like any other overflow.
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** exp);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

export interface BucketOptions {
  /** Sustained rate, tokens per second. Default 10. */
  qps?: number;
  /** Bucket size, i.e. how many items may go through at once. Default 100. */
  burst?: number;
}

/**
 * Overall token bucket shared by all keys (client-go's BucketRateLimiter). Like Go's rate.Limiter
 * reservations, every call takes a token even when none is left: the bucket goes into debt and the
 * returned delay is the time until that debt is repaid, so callers are spaced 1/qps apart.
 */
export class BucketRateLimiter implements RateLimiter {
  private tokens: number;
  private last: number;
  private readonly qps: number;
  private readonly burst: number;

  constructor(
    private readonly clock: Clock,
    { qps = 10, burst = 100 }: BucketOptions = {},
  ) {
    if (!(qps > 0) || !(burst >= 1)) throw new RangeError(`invalid bucket: qps ${qps}, burst ${burst}`);
    this.qps = qps;
    this.burst = burst;
    this.tokens = burst;
    this.last = clock.now();
  }

  when(_key: string): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }

  forget(_key: string): void {}

  retries(_key: string): number {
    return 0;
  }
}

/** Waits as long as the strictest of its limiters demands (client-go's MaxOfRateLimiter). */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: readonly RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    if (limiters.length === 0) throw new RangeError('MaxOfRateLimiter needs at least one limiter');
    this.limiters = limiters;
  }

  when(key: string): number {
    // Every limiter must see the failure, so no short-circuiting.
    return Math.max(...this.limiters.map((l) => l.when(key)));
  }

  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }

  retries(key: string): number {
    return Math.max(...this.limiters.map((l) => l.retries(key)));
  }
}

/** client-go's DefaultControllerRateLimiter: per-key 5 ms..1000 s backoff, overall 10 qps with burst 100. */
export function defaultControllerRateLimiter(clock: Clock): RateLimiter {
  return new MaxOfRateLimiter(new ItemExponentialFailureRateLimiter(), new BucketRateLimiter(clock));
}
