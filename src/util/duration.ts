const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Parses a Go-style duration flag value ('15s', '500ms', '1m', '1m30s', '1.5s', '0') into
 * milliseconds. Negative values and bare numbers other than 0 are rejected with a one-line error.
 */
export function parseDuration(text: string): number {
  const value = text.trim();
  if (value === '0') return 0;
  const part = /(\d+(?:\.\d+)?|\.\d+)(ms|h|m|s)/y;
  let total = 0;
  let pos = 0;
  while (pos < value.length) {
    part.lastIndex = pos;
    const match = part.exec(value);
    if (!match) break;
    total += Number(match[1]) * UNIT_MS[match[2] ?? '']!;
    pos = part.lastIndex;
  }
  if (value === '' || pos !== value.length) {
    throw new Error(`invalid duration ${JSON.stringify(text)}: expected e.g. 15s, 500ms, 1m or 1m30s`);
  }
  return total;
}
