/**
 * Jittered exponential backoff: the n-th consecutive failure waits about initial * factor^n,
 * capped at max, with "equal jitter" so many clients restarting together spread out.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
  /** Fraction of each delay that is randomised, 0..1. */
  jitter?: number;
}

export class Backoff {
  private failures = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const { initialMs, maxMs, factor = 2, jitter = 0.5 } = this.options;
    const base = Math.min(maxMs, initialMs * factor ** this.failures);
    this.failures++;
    return base * (1 - jitter) + base * jitter * this.random();
  }

  reset(): void {
    this.failures = 0;
  }

  get attempts(): number {
    return this.failures;
  }
}
