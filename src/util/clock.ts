/** Time as an injectable dependency, so pure modules and their tests never read the wall clock. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since an arbitrary epoch; monotonic for the real clock. */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch (for timestamps written to the API server). */
  wallNow(): number;
  setTimer(delayMs: number, fn: () => void): Timer;
  sleep(delayMs: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimer(delayMs, fn) {
    const handle = setTimeout(fn, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(handle) };
  },
  sleep(delayMs, signal) {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = () => {
        clearTimeout(handle);
        resolve();
      };
      const handle = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, delayMs),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};
