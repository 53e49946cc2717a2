import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Polls `check` until it returns a value other than undefined/false, or fails after the deadline
 * with a message that says what was awaited and what was last seen (the last value passed to
 * `seen`, or the last error thrown by `check`).
 */
export async function waitFor<T>(
  what: string,
  check: (seen: (state: unknown) => void) => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 100 }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = '(nothing yet)';
  for (;;) {
    try {
      const result = await check((state) => {
        last = state;
      });
      if (result !== undefined && result !== false) return result;
    } catch (err) {
      last = err instanceof Error ? `error: ${err.message}` : err;
    }
    if (Date.now() >= deadline) {
      const shown = typeof last === 'string' ? last : inspect(last, { depth: 6, breakLength: Infinity });
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${shown.slice(0, 2000)}`,
      );
    }
    await sleep(intervalMs);
  }
}
