/** Histogram totals from Prometheus text exposition, enough to say where a phase spent its time. */

export interface Totals {
  count: number;
  /** Sum of the observations, in the metric's unit. */
  sum: number;
}

const SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/**
 * `<metric>_sum` and `<metric>_count` grouped by the values of `groupBy` labels (joined with a space);
 * samples whose labels do not match `where` are skipped.
 */
export function histogramTotals(
  text: string,
  metric: string,
  groupBy: readonly string[],
  where: Record<string, string> = {},
): Map<string, Totals> {
  const out = new Map<string, Totals>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const [, name, labelText = '', value] = m;
    const field = name === `${metric}_sum` ? 'sum' : name === `${metric}_count` ? 'count' : undefined;
    if (!field) continue;
    const labels = Object.fromEntries([...labelText.matchAll(LABEL)].map((l) => [l[1]!, l[2]!]));
    if (Object.entries(where).some(([k, v]) => labels[k] !== v)) continue;
    const key = groupBy
      .map((k) => labels[k] ?? '')
      .filter(Boolean)
      .join(' ');
    const totals = out.get(key) ?? { count: 0, sum: 0 };
    totals[field] += Number(value);
    out.set(key, totals);
  }
  return out;
}

export interface TotalsDelta {
  key: string;
  count: number;
  /** Mean observation over the interval, in milliseconds (the metrics are in seconds). */
  meanMs: number;
  totalS: number;
}

/** What happened between two scrapes, busiest first. */
export function delta(before: Map<string, Totals>, after: Map<string, Totals>): TotalsDelta[] {
  const out: TotalsDelta[] = [];
  for (const [key, a] of after) {
    const b = before.get(key) ?? { count: 0, sum: 0 };
    const count = a.count - b.count;
    if (count <= 0) continue;
    const sum = a.sum - b.sum;
    out.push({
      key,
      count,
      meanMs: Math.round((sum / count) * 10_000) / 10,
      totalS: Math.round(sum * 100) / 100,
    });
  }
  return out.sort((x, y) => y.count - x.count);
}
