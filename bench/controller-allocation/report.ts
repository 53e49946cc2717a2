/** The controller-allocation benchmark's report: targets, the printed summary, and the JSON's shape. */
import type { ProfileSummary } from '../lib/cpu-profile.js';
import type { CpuUse, machineFacts } from '../lib/machine.js';
import { ms, round, type Summary, table } from '../lib/stats.js';
import type { Options } from './context.js';
import {
  type allocation,
  type backlog,
  type baseline,
  type patchBaseline,
  type reference,
  type restart,
  type singles,
  WIDE_IN_FLIGHT,
} from './phases.js';

const TARGETS = { ratio: 1.5, rssMB: 250, singleP99Ms: 100 } as const;
/** Above this share of the machine used by processes not ours, a phase's timing is called disturbed. */
const DISTURBED_PERCENT = 10;

const cpuMsPer = (cpu: CpuUse, name: string, count: number) =>
  round(((cpu.byProcess[name] ?? 0) * 1000) / count, 2);
const controllerCpu = (cpu: CpuUse) =>
  Object.entries(cpu.byProcess)
    .filter(([k]) => k.startsWith('controller'))
    .reduce((sum, [, v]) => sum + v, 0);
const load = (cpu: CpuUse) => `${cpu.machineBusyPercent}% (others ${cpu.othersPercent}%)`;

type BaselineRun = NonNullable<Report['baseline']>;

/**
 * The baseline the ratio uses: the mean of the runs before and after the controller run (or the one
 * before, if the run failed early), and how much the second differs from the first.
 */
function baselineMean(report: Report) {
  const runs = [report.baseline, report.baselineAfter].filter((x) => x !== undefined);
  if (runs.length === 0) return undefined;
  const mean = (f: (x: (typeof runs)[number]) => number) =>
    runs.reduce((sum, x) => sum + f(x), 0) / runs.length;
  const [first, second] = runs;
  return {
    createPlusPatchMs: mean((x) => x.createPlusPatchMs),
    patchMs: mean((x) => x.patch.ms),
    drift: first && second ? round(second.createPlusPatchMs / first.createPlusPatchMs, 2) : undefined,
  };
}

/**
 * Each backlog repetition over the mean of the patch-only baselines on either side of it: phase 1's
 * before the first, the in-between ones, phase 5's after the last (history makes requests dearer
 * over a run, so a bracket is fairer than one side).
 */
function backlogRatios(report: Report) {
  const d = [
    report.baseline?.patch.ms,
    ...(report.patchBaselines ?? []).map((p) => p.ms),
    report.baselineAfter?.patch.ms,
  ];
  return (report.backlogs ?? []).flatMap((b, k) => {
    const around = [d[k], d[k + 1]].filter((x): x is number => x !== undefined);
    if (around.length === 0) return [];
    const patchMs = around.reduce((sum, x) => sum + x, 0) / around.length;
    return [{ backlogMs: b.spawnToAllAddressedMs, patchMs, ratio: b.spawnToAllAddressedMs / patchMs }];
  });
}

export function printSummary(report: Report): Target[] {
  const { baseline: b, allocation: a, single: s, restart: r, options: o } = report;
  const out: string[] = [];
  out.push(
    `\nController allocation benchmark: N=${o.services} Services, --workers ${o.workers}, ` +
      `${report.machine.nproc} CPUs, Node ${report.machine.node}, kube-apiserver ${report.apiserverVersion}, ` +
      `background load before the run ${report.backgroundBusyPercent}%\n`,
  );
  if (b) {
    const after = report.baselineAfter;
    type Step = BaselineRun['create'];
    const pair = (f: (x: BaselineRun) => string) => (after ? `${f(b)} / ${f(after)}` : f(b));
    const row = (label: string, pick: (x: BaselineRun) => Step) => [
      label,
      pair((x) => ms(pick(x).ms)),
      pair((x) => `${pick(x).perSecond}/s`),
      pair((x) => String(cpuMsPer(pick(x).cpu, 'kube-apiserver', o.services))),
      pair((x) => `${pick(x).cpu.othersPercent}%`),
      pair((x) => String(pick(x).cpu.tcpConnectsOpened)),
    ];
    const d = baselineMean(report)!;
    out.push(
      table([
        [
          `Baseline (no controller)${after ? ': before / after the run' : ''}`,
          'time',
          'rate',
          'apiserver CPU ms/op',
          'others',
          'TCP connects',
        ],
        row(`create ${o.services} (${o.createConcurrency} in flight)`, (x) => x.create),
        row(`status patch (${o.workers} in flight, until a watch saw all) = (d)`, (x) => x.patch),
        row(`status patch (${WIDE_IN_FLIGHT} in flight, info)`, (x) => x.patchWide),
        ["create + patch = (d')", pair((x) => ms(x.createPlusPatchMs))],
        ...(after ? [["(d') mean of before and after", ms(d.createPlusPatchMs)]] : []),
        ['delete', pair((x) => ms(x.deleteMs))],
      ]),
    );
  }
  const ref = report.reference;
  if (ref) {
    out.push(
      `\nReference controller (run last; the same status patch and Event per Service from a bare watch): all served in ${ms(ref.ms)} ` +
        `(creates ${ms(ref.createMs)}); machine busy ${load(ref.cpu)}; CPU ms per Service: ` +
        `kube-apiserver ${cpuMsPer(ref.cpu, 'kube-apiserver', o.services)}, etcd ${cpuMsPer(ref.cpu, 'etcd', o.services)}, ` +
        `bench (client + reference) ${cpuMsPer(ref.cpu, 'bench', o.services)}; ${ref.cpu.tcpConnectsOpened} TCP connects`,
    );
  }
  if (a) {
    out.push(
      `\n${table([
        ['Controller run', 'value'],
        ['(a) first create -> all addressed', ms(a.allAddressedMs)],
        ['create phase', `${ms(a.createPhaseMs)} (${a.createsPerSecond}/s)`],
        ['addressed when creates done', `${a.addressedWhenCreatesDone} of ${o.services}`],
        ['tail after last create', ms(a.tailAfterCreatesMs)],
        ['latency create->address p50/p90/p99/max', fmtLatency(a.latencyMs)],
        ['  create -> controller wrote (its log)', fmtLatency(a.createToControllerWriteMs)],
        ['  controller wrote -> watch saw', fmtLatency(a.controllerWriteToSeenMs)],
        ['distinct addresses', String(a.distinctAddresses)],
        ['controller RSS / peak (VmHWM)', `${a.controllerMemory.rssMB} MB / ${a.controllerMemory.hwmMB} MB`],
        ['machine busy', load(a.cpu)],
        ['TCP connections opened (all clients)', String(a.cpu.tcpConnectsOpened)],
      ])}`,
    );
    out.push(
      `\nTimeline (${a.timeline.sliceMs} ms slices), creates returned / addresses seen:\n  ${a.timeline.rows
        .map((x) => `${x.created}/${x.addressed}`)
        .join('  ')}`,
    );
    const perService = (name: string) => (x: CpuUse) => cpuMsPer(x, name, o.services);
    const costRow = (label: string, run: number, base: number | undefined) => [
      label,
      String(run),
      base === undefined ? '-' : String(base),
    ];
    const both = (f: (x: CpuUse) => number) => (b ? round(f(b.create.cpu) + f(b.patch.cpu), 2) : undefined);
    out.push(
      `\n${table([
        ['CPU ms per Service', 'controller run', 'baseline create+patch'],
        costRow('kube-apiserver', perService('kube-apiserver')(a.cpu), both(perService('kube-apiserver'))),
        costRow('etcd', perService('etcd')(a.cpu), both(perService('etcd'))),
        costRow('controller', round((controllerCpu(a.cpu) * 1000) / o.services, 2), undefined),
        costRow('bench (client)', perService('bench')(a.cpu), both(perService('bench'))),
      ])}`,
    );
    const busiest = a.apiserver.requests
      .slice(0, 6)
      .map((q) => `${q.key} ${q.count} x ${q.meanMs} ms`)
      .join('; ');
    out.push(`API server requests during the run (count x server-side mean): ${busiest}`);
    if (b) {
      const creates = (x: { requests: { key: string; meanMs: number }[] }) =>
        x.requests.find((q) => q.key === 'POST services')?.meanMs;
      out.push(
        `POST services server-side mean: ${creates(b.create.apiserver)} ms in the baseline, ${creates(a.apiserver)} ms in the run`,
      );
    }
    const q = (x: { count: number; meanMs: number }[]) => (x[0] ? `${x[0].count} x ${x[0].meanMs} ms` : '-');
    out.push(`Controller work queue: wait ${q(a.controller.queueWait)}, work ${q(a.controller.work)}`);
  }
  if (s) out.push(`\nSingle Service on the full cluster, p50/p90/p99/max: ${fmtLatency(s.latencyMs)}`);
  if (r) {
    const fromLog = (x: number | undefined) => (x === undefined ? '-' : ms(x));
    out.push(
      `\n${table([
        ['Restart (e)', 'value'],
        ['old controller exits after SIGTERM', ms(r.shutdownMs)],
        ['spawn -> /readyz 200', ms(r.readyzMs)],
        ['spawn -> started leading (log)', fromLog(r.log.startedLeadingMs)],
        ['spawn -> initial reconcile done (log)', fromLog(r.log.initialReconcileDoneMs)],
        ['  of which leading -> queue drained', `${r.log.initialReconcileOwnMs} ms`],
        ['status writes during the restart', String(r.statusWritesDuringRestart)],
        ['addresses changed', `${r.changedAddresses} of ${r.services}`],
      ])}`,
    );
  }
  for (const [identity, profile] of Object.entries(report.controllerProfiles ?? {})) {
    const top = profile.byCaller
      .slice(0, 8)
      .map((f) => `${f.name} ${f.percent}%`)
      .join(', ');
    out.push(
      `\nCPU profile of controller ${identity} (${ms(profile.busyMs)} busy): ${top}\n  ${profile.file}`,
    );
  }
  const phases: [string, CpuUse | undefined][] = [
    ['baseline creates', b?.create.cpu],
    ['baseline patches', b?.patch.cpu],
    ['baseline creates after the run', report.baselineAfter?.create.cpu],
    ['baseline patches after the run', report.baselineAfter?.patch.cpu],
    ['controller run', a?.cpu],
  ];
  const disturbed = phases.filter(
    (x): x is [string, CpuUse] => x[1] !== undefined && x[1].othersPercent > DISTURBED_PERCENT,
  );
  if (disturbed.length > 0) {
    out.push(
      `\nNote: other processes kept the machine busy (${disturbed.map(([n, c]) => `${n} ${c.othersPercent}%`).join(', ')}): ` +
        'the ratio is disturbed; run again on a quiet machine.',
    );
  }
  if (o.cpuProf)
    out.push('\nNote: --cpu-prof slows the controllers; use these timings to compare, not as figures.');
  const targets = evaluate(report);
  out.push(
    `\n${table([
      ['Target', 'measured', 'limit', 'result'],
      ...targets.map((t) => [t.name, t.value, t.limit, t.pass === undefined ? '' : t.pass ? 'PASS' : 'FAIL']),
    ])}\n`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  return targets;
}

const fmtLatency = (s: Summary) => `${s.p50} / ${s.p90} / ${s.p99} / ${s.max} ms`;

export interface Target {
  name: string;
  value: string;
  limit: string;
  pass: boolean | undefined;
}

function evaluate(report: Report): Target[] {
  const { allocation: a, single: s, restart: r } = report;
  const targets: Target[] = [];
  const d = baselineMean(report);
  if (a && d) {
    const ratio = a.allAddressedMs / d.createPlusPatchMs;
    report.ratios = {
      allocationToCreatePlusPatch: round(ratio, 2),
      allocationToPatchOnly: round(a.allAddressedMs / d.patchMs, 2),
      tailToPatchOnly: round(a.tailAfterCreatesMs / d.patchMs, 2),
      ...(d.drift !== undefined && { baselineAfterToBefore: d.drift }),
    };
    targets.push({
      name: "(a) / (d') all addressed vs create+patch baseline (mean of before and after)",
      value: `${report.ratios.allocationToCreatePlusPatch}`,
      limit: `<= ${TARGETS.ratio}`,
      pass: ratio <= TARGETS.ratio,
    });
    targets.push({
      name: '(a) / (d) vs patch-only baseline (info)',
      value: `${report.ratios.allocationToPatchOnly}`,
      limit: '',
      pass: undefined,
    });
  }
  const ref = report.reference;
  const after = report.baselineAfter;
  if (ref && after) {
    // The reference runs right after the second baseline: compared with that one, its neighbour.
    report.ratios = {
      ...report.ratios,
      referenceToBaselineAfter: round(ref.ms / after.createPlusPatchMs, 2),
    };
    targets.push({
      name: "reference controller / (d') after the run, its neighbour (info)",
      value: `${report.ratios.referenceToBaselineAfter}`,
      limit: '',
      pass: undefined,
    });
  }
  if (a) {
    targets.push({
      name: 'every Service got its own address',
      value: `${a.distinctAddresses} of ${report.options.services}`,
      limit: `= ${report.options.services}`,
      pass: a.distinctAddresses === report.options.services,
    });
    targets.push({
      name: 'controller peak RSS (VmHWM)',
      value: `${a.controllerMemory.hwmMB} MB`,
      limit: `<= ${TARGETS.rssMB} MB`,
      pass: a.controllerMemory.hwmMB <= TARGETS.rssMB,
    });
  }
  if (s) {
    targets.push({
      name: 'single Service p99 create->address',
      value: `${s.latencyMs.p99} ms`,
      limit: `<= ${TARGETS.singleP99Ms} ms`,
      pass: s.latencyMs.p99 <= TARGETS.singleP99Ms,
    });
  }
  const reps = backlogRatios(report);
  if (reps.length > 0) {
    const ratios = reps.map((x) => x.ratio);
    const sorted = [...ratios].sort((x, y) => x - y);
    const mid = sorted.length / 2;
    const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    report.ratios = {
      ...report.ratios,
      backlogToPatchOnly: round(median, 2),
      backlogToPatchOnlyEach: ratios.map((x) => round(x, 2)),
    };
    targets.push({
      name: `(a*) / (d) N existing Services addressed from the controller's start vs N bare patches (median of ${reps.length})`,
      value: `${round(median, 2)}`,
      limit: `<= ${TARGETS.ratio}`,
      pass: median <= TARGETS.ratio,
    });
    targets.push({
      name: '(a*) / (d) each: (a*) spawn -> all addressed over the mean of the (d) before and after it (info)',
      value: reps.map((x) => `${round(x.ratio, 2)} = ${ms(x.backlogMs)} / ${ms(x.patchMs)}`).join('; '),
      limit: '',
      pass: undefined,
    });
  }
  if (r) {
    targets.push({
      name: 'addresses changed by a restart',
      value: String(r.changedAddresses + r.addressChangesSeenByWatch),
      limit: '= 0',
      pass: r.changedAddresses === 0 && r.addressChangesSeenByWatch === 0,
    });
    targets.push({
      name: '(e) restart: spawn -> reconciled (info)',
      value: r.log.initialReconcileDoneMs === undefined ? '-' : ms(r.log.initialReconcileDoneMs),
      limit: '',
      pass: undefined,
    });
  }
  const problemLines = Object.entries(report.controllerProblems).flatMap(([who, byMsg]) =>
    Object.entries(byMsg).map(([msg, n]) => `${who}: ${n} x ${msg}`),
  );
  targets.push({
    name: 'controller logs without warnings, errors or stray output',
    value: problemLines.length === 0 ? 'none' : problemLines.slice(0, 3).join('; '),
    limit: 'none',
    pass: problemLines.length === 0,
  });
  return targets;
}

export interface Report {
  benchmark: 'controller-allocation';
  startedAt: string;
  machine: ReturnType<typeof machineFacts>;
  apiserverVersion?: string;
  /** Machine busy share in the seconds before the benchmark started anything (other people's work). */
  backgroundBusyPercent?: number;
  options: Options;
  controlPlaneStartMs?: number;
  baseline?: Awaited<ReturnType<typeof baseline>>;
  /** The same baseline after the controller run, with the controller stopped and its Services gone. */
  baselineAfter?: Awaited<ReturnType<typeof baseline>>;
  reference?: Awaited<ReturnType<typeof reference>>;
  allocation?: Awaited<ReturnType<typeof allocation>>;
  single?: Awaited<ReturnType<typeof singles>>;
  restart?: Awaited<ReturnType<typeof restart>>;
  backlogs?: Awaited<ReturnType<typeof backlog>>[];
  /** (d) between two backlog repetitions (phase 1's and phase 5's bracket the first and last). */
  patchBaselines?: Awaited<ReturnType<typeof patchBaseline>>[];
  ratios?: Record<string, number | number[]>;
  targets?: Target[];
  /** Each controller's log, by identity. */
  controllerLogs: Record<string, string>;
  /** With --cpu-prof: where each controller spent its CPU. */
  controllerProfiles?: Record<string, ProfileSummary & { file: string }>;
  /** Warnings and errors each controller logged, counted by message. */
  controllerProblems: Record<string, Record<string, number>>;
  error?: string;
}
