// Fake deliveries run on a later turn of the event loop, as real ones do, and `settle()` waits
// until all of them (and whatever they trigger) have run.
let pending = 0;

export function schedule(delivery: () => void): void {
  pending++;
  setImmediate(() => {
    pending--;
    delivery();
  });
}

/** Resolves once every scheduled fake delivery, and any it schedules in turn, has run. */
export async function settle(maxRounds = 10_000): Promise<void> {
  for (let round = 0; pending > 0; round++) {
    if (round === maxRounds)
      throw new Error(`fake network did not settle after ${maxRounds} rounds (a loop?)`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
