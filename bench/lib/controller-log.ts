/** Reads the controller's pino log (one JSON object a line) for the timestamps of what it did. */

export interface LogLine {
  /** Wall-clock milliseconds (Date) of the line. */
  at: number;
  msg: string;
  fields: Record<string, unknown>;
}

export function parseLog(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const fields = JSON.parse(line) as Record<string, unknown>;
      const at = Date.parse(String(fields.time));
      if (Number.isFinite(at)) out.push({ at, msg: String(fields.msg ?? ''), fields });
    } catch {
      // a line cut by a crash: not a record
    }
  }
  return out;
}

export const firstLine = (lines: readonly LogLine[], msg: string): LogLine | undefined =>
  lines.find((l) => l.msg === msg);

/** When the controller logged each Service's allocation (after the status write returned), by name. */
export function allocationTimes(lines: readonly LogLine[], namespace: string): Map<string, number> {
  const out = new Map<string, number>();
  const prefix = `${namespace}/`;
  for (const l of lines) {
    const key = l.fields.service;
    if (typeof key !== 'string' || !key.startsWith(prefix) || l.fields.served !== true) continue;
    const name = key.slice(prefix.length);
    if (!out.has(name)) out.set(name, l.at);
  }
  return out;
}

/** Warnings and errors, counted by message, to show what went wrong without the whole log. */
/**
 * Warnings and errors by message, plus any line that is not a log record (a Node warning, a crash
 * trace): a clean run has none.
 */
export function problems(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const count = (key: string) => {
    out[key] = (out[key] ?? 0) + 1;
  };
  for (const l of parseLog(text)) if (Number(l.fields.level) >= 40) count(l.msg);
  for (const line of text.split('\n')) {
    if (line.trim() && !line.startsWith('{')) count(`not a log record: ${line.slice(0, 120)}`);
  }
  return out;
}
