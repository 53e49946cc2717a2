/** The failover benchmark's targets (issue 5) and printed summary. */
import { ms, round, summarize, table } from '../lib/stats.js';
import type { TrialResult } from './trial.js';

export interface ScenarioSummary {
  scenario: string;
  family: 4 | 6;
  reps: number;
  gapMs: ReturnType<typeof summarize>;
  takeoverMs: ReturnType<typeof summarize>;
  /** Repetitions in which no other node announced (the fault did not move the address). */
  noTakeover: number;
  lostOnReturn: number;
  /** Repetitions after which the address was back on the node hit by the fault. */
  returnedToOwner: number;
  returnGapMs: ReturnType<typeof summarize>;
  dualResponderMaxMs: number;
  /** Median gap over the no-fault baseline's median gap, same family, same run. */
  gapRatioToBaseline: number;
}

/** Targets: median and max of the client's outage, per scenario. */
export const TARGETS: Record<string, { medianMs: number; maxMs: number }> = {
  'link-cut': { medianMs: 500, maxMs: 1000 },
  sigkill: { medianMs: 500, maxMs: 1000 },
  sigterm: { medianMs: 100, maxMs: 100 },
  'link-cut-no-api': { medianMs: 500, maxMs: 1000 },
  'sigkill-no-api': { medianMs: 500, maxMs: 1000 },
  'sigterm-no-api': { medianMs: 100, maxMs: 100 },
  'non-revertive-return': { medianMs: 500, maxMs: 1000 },
};
export const DUAL_RESPONDER_LIMIT_MS = 1000;

export function summarizeTrials(trials: readonly TrialResult[]): ScenarioSummary[] {
  const groups = new Map<string, TrialResult[]>();
  for (const t of trials)
    groups.set(`${t.scenario}/${t.family}`, [...(groups.get(`${t.scenario}/${t.family}`) ?? []), t]);
  const baselineMedian = (family: 4 | 6) =>
    summarize((groups.get(`baseline/${family}`) ?? []).map((t) => t.gapMs)).p50;
  return [...groups.values()].map((list) => {
    const first = list[0]!;
    const gap = summarize(list.map((t) => t.gapMs));
    const base = baselineMedian(first.family);
    return {
      scenario: first.scenario,
      family: first.family,
      reps: list.length,
      gapMs: gap,
      takeoverMs: summarize(list.flatMap((t) => (t.takeoverMs === undefined ? [] : [t.takeoverMs]))),
      noTakeover: list.filter((t) => t.takeoverMs === undefined).length,
      lostOnReturn: list.reduce((n, t) => n + t.lostOnReturn, 0),
      returnedToOwner: list.filter((t) => t.ownerAfter === t.owner).length,
      returnGapMs: summarize(list.map((t) => t.returnGapMs)),
      dualResponderMaxMs: round(Math.max(...list.map((t) => t.dualResponderMs))),
      gapRatioToBaseline: base > 0 ? round(gap.p50 / base, 2) : 0,
    };
  });
}

export interface Verdict {
  target: string;
  measured: string;
  pass: boolean;
}

export function verdicts(summaries: readonly ScenarioSummary[]): Verdict[] {
  const out: Verdict[] = [];
  for (const s of summaries) {
    const t = TARGETS[s.scenario];
    const name = `${s.scenario} IPv${s.family}`;
    if (t) {
      out.push({
        target: `${name}: client outage median ≤ ${t.medianMs} ms, max ≤ ${t.maxMs} ms`,
        measured: `median ${ms(s.gapMs.p50)}, max ${ms(s.gapMs.max)} over ${s.reps}`,
        pass: s.gapMs.p50 <= t.medianMs && s.gapMs.max <= t.maxMs,
      });
    }
    if (s.scenario === 'non-revertive-return') {
      out.push({
        target: `${name}: no ping lost when the old owner returns`,
        measured: `${s.lostOnReturn} lost`,
        pass: s.lostOnReturn === 0,
      });
      out.push({
        target: `${name}: the address stays where it moved when the old owner returns`,
        measured: `back on the old owner after ${s.returnedToOwner} of ${s.reps}`,
        pass: s.returnedToOwner === 0,
      });
    } else if (s.scenario !== 'baseline') {
      out.push({
        target: `${name}: revertive, the address returns to its node once the fault is undone`,
        measured: `back after ${s.returnedToOwner} of ${s.reps}`,
        pass: s.returnedToOwner === s.reps,
      });
    }
    out.push({
      target: `${name}: two responders never seen for more than ${DUAL_RESPONDER_LIMIT_MS} ms`,
      measured: `longest ${ms(s.dualResponderMaxMs)}`,
      pass: s.dualResponderMaxMs <= DUAL_RESPONDER_LIMIT_MS,
    });
  }
  return out;
}

export function printSummary(summaries: readonly ScenarioSummary[], checks: readonly Verdict[]): void {
  const rows = [
    [
      'scenario',
      'IP',
      'reps',
      'outage p50',
      'outage max',
      '× baseline',
      'takeover p50',
      'takeover max',
      'return gap max',
      'two responders max',
    ],
    ...summaries.map((s) => [
      s.scenario,
      `v${s.family}`,
      String(s.reps),
      ms(s.gapMs.p50),
      ms(s.gapMs.max),
      String(s.gapRatioToBaseline),
      s.takeoverMs.count ? ms(s.takeoverMs.p50) : '-',
      s.takeoverMs.count ? ms(s.takeoverMs.max) : '-',
      ms(s.returnGapMs.max),
      ms(s.dualResponderMaxMs),
    ]),
  ];
  process.stdout.write(`\n${table(rows)}\n\n`);
  for (const c of checks) process.stdout.write(`${c.pass ? 'PASS' : 'FAIL'}  ${c.target}: ${c.measured}\n`);
}
