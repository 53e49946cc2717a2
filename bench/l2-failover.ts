/**
 * Benchmark: how long a client on the LAN loses a LoadBalancer VIP announced over L2 when its owner
 * fails, on the lab (real kernel ARP/NDP through the switch, real speakers as the DaemonSet runs
 * them). See bench/README.md for what each figure means.
 *
 *   node --import tsx bench/l2-failover.ts [--reps 10] [--scenarios link-cut,sigkill,...]
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { k8sBinaries } from '../e2e/cluster/binaries.js';
import { ipBatch } from '../e2e/lab/exec.js';
import { kubectlFor } from '../e2e/lab/kubectl.js';
import { L2Probe } from '../e2e/lab/l2-probe.js';
import { porticoWith, prepareLabSuite } from '../e2e/lab/lab-suite.js';
import { planLab } from '../e2e/lab/plan.js';
import { isLabTopologyNamespace, teardown } from '../e2e/lab/teardown.js';
import { packageRoot } from '../src/util/package-root.js';
import {
  apiServer,
  linkCut,
  noFault,
  speakerSignal,
  speakersReady,
  withoutApiServer,
} from './l2-failover/faults.js';
import { printSummary, summarizeTrials, verdicts } from './l2-failover/report.js';
import { type Fault, runTrial, stableOwner, type TrialResult } from './l2-failover/trial.js';
import { machineFacts } from './lib/machine.js';

const SCENARIOS = [
  'baseline',
  'link-cut',
  'sigkill',
  'sigterm',
  'link-cut-no-api',
  'sigkill-no-api',
  'non-revertive-return',
] as const;
type Scenario = (typeof SCENARIOS)[number];

function options() {
  const { values } = parseArgs({
    options: {
      reps: { type: 'string', default: '10' },
      scenarios: { type: 'string', default: SCENARIOS.join(',') },
      families: { type: 'string', default: '4,6' },
    },
  });
  const reps = Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1)
    throw new Error(`--reps must be a whole number ≥ 1, not ${values.reps}`);
  const scenarios = values.scenarios.split(',').map((s) => s.trim()) as Scenario[];
  for (const s of scenarios) {
    if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}: choose from ${SCENARIOS.join(', ')}`);
  }
  const families = values.families.split(',').map(Number) as (4 | 6)[];
  return {
    reps,
    scenarios: ['baseline' as Scenario, ...scenarios.filter((s) => s !== 'baseline')],
    families,
  };
}

const RESULTS_DIR = join(packageRoot(), 'bench/results');
const LOGS_DIR = join(RESULTS_DIR, 'l2-failover-logs');

/** The speakers' logs of the run (every Pod's, restarted ones too), kept beside the JSON. */
function keepSpeakerLogs(stateDir: string): void {
  const pods = join(stateDir, 'pods');
  if (!existsSync(pods)) return;
  rmSync(LOGS_DIR, { recursive: true, force: true });
  mkdirSync(LOGS_DIR, { recursive: true });
  for (const dir of readdirSync(pods)) {
    const log = join(pods, dir, 'speaker.log');
    if (existsSync(log)) copyFileSync(log, join(LOGS_DIR, `${dir}.log`));
  }
}

async function main(): Promise<number> {
  const opts = options();
  const stateDir = mkdtempSync(join(tmpdir(), 'portico-bench-l2-'));
  const portico = porticoWith(stateDir);
  const plan = planLab({ mldSnooping: true });
  const kubectlPath = (await k8sBinaries(['kubectl'])).paths.kubectl;
  const kubectl = kubectlFor(() => kubectlPath, join(stateDir, 'kubeconfig'));
  const probe = new L2Probe(plan);
  const api = apiServer(stateDir);
  const trials: TrialResult[] = [];
  const stop = () => {
    api.thaw();
    portico('lab', 'down');
  };
  process.once('SIGINT', () => {
    stop();
    process.exit(130);
  });
  try {
    await prepareLabSuite();
    const up = portico('lab', 'up', '--mld-snooping');
    if (up.code !== 0) throw new Error(`lab up failed: ${up.stderr.slice(-2000)}`);
    await speakersReady(kubectl, plan.nodes.length);
    const addresses = await vips(kubectl);
    // As kube-proxy's IPVS mode does with kube-ipvs0: the VIPs on every node, so whichever node the
    // client's neighbour cache points at answers the ping (arp_ignore keeps the kernel from answering ARP).
    for (const n of plan.nodes) {
      await ipBatch(
        n.netns,
        Object.values(addresses).map((a) => `addr add ${a}/${a.includes(':') ? 128 : 32} dev lo`),
      );
    }
    const faults: Record<Exclude<Scenario, 'non-revertive-return'>, Fault> = {
      baseline: noFault,
      'link-cut': linkCut(plan),
      sigkill: speakerSignal(plan, kubectl, 'SIGKILL'),
      sigterm: speakerSignal(plan, kubectl, 'SIGTERM'),
      'link-cut-no-api': withoutApiServer(linkCut(plan), api),
      'sigkill-no-api': withoutApiServer(speakerSignal(plan, kubectl, 'SIGKILL'), api),
    };
    const settled = (address: string) => () => stableOwner(probe, address);
    for (const scenario of opts.scenarios) {
      if (scenario === 'non-revertive-return')
        await setPlacement(kubectl, plan.nodes.length, 'non-revertive');
      for (const family of opts.families) {
        const address = addresses[family];
        for (let rep = 1; rep <= opts.reps; rep++) {
          const fault = scenario === 'non-revertive-return' ? linkCut(plan) : faults[scenario];
          const t = await runTrial({
            plan,
            probe,
            scenario,
            family,
            rep,
            address,
            fault,
            observeMs: 2000,
            settle: settled(address),
          });
          trials.push(t);
          process.stdout.write(
            `${scenario.padEnd(22)} v${family} #${String(rep).padStart(2)}  owner ${t.owner} → ${t.successor ?? '-'}  outage ${t.gapMs.toFixed(0)} ms  takeover ${t.takeoverMs?.toFixed(0) ?? '-'} ms  two responders ${t.dualResponderMs.toFixed(0)} ms  lost on return ${t.lostOnReturn}  then on ${t.ownerAfter ?? '-'}\n`,
          );
        }
      }
    }
  } finally {
    keepSpeakerLogs(stateDir);
    stop();
    await teardown({ matchNamespace: isLabTopologyNamespace });
    rmSync(stateDir, { recursive: true, force: true });
  }
  const summaries = summarizeTrials(trials);
  const checks = verdicts(summaries);
  printSummary(summaries, checks);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'l2-failover.json');
  writeFileSync(
    file,
    `${JSON.stringify({ at: new Date().toISOString(), machine: machineFacts(), options: opts, summaries, checks, trials }, null, 2)}\n`,
  );
  process.stdout.write(`\nwrote ${file}\n`);
  return checks.every((c) => c.pass) ? 0 : 1;
}

/** The example Services' VIPs in the L2 part of the pools: echo (IPv4) and echo-dual-stack (IPv6). */
async function vips(kubectl: ReturnType<typeof kubectlFor>): Promise<Record<4 | 6, string>> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ip = (name: string, v6: boolean) =>
      (
        kubectl.json<{ status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }>(
          'get',
          'svc',
          '-n',
          'portico-examples',
          name,
        ).status?.loadBalancer?.ingress ?? []
      )
        .map((i) => i.ip ?? '')
        .find((a) => a !== '' && a.includes(':') === v6);
    const v4 = ip('echo', false);
    const v6 = ip('echo-dual-stack', true);
    if (v4 && v6) return { 4: v4, 6: v6 };
    if (Date.now() > deadline) throw new Error('the example Services got no addresses');
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Rolls the speaker DaemonSet to another placement mode and waits for every new Pod to be Ready. */
async function setPlacement(kubectl: ReturnType<typeof kubectlFor>, nodes: number, mode: string) {
  const patch = [
    {
      op: 'replace',
      path: '/spec/template/spec/containers/0/args',
      value: ['speaker', `--placement=${mode}`],
    },
  ];
  const r = kubectl(
    'patch',
    'daemonset',
    '-n',
    'portico-system',
    'portico-speaker',
    '--type=json',
    '-p',
    JSON.stringify(patch),
  );
  if (r.code !== 0) throw new Error(`cannot switch the speakers to ${mode}: ${r.stderr}`);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const ds = kubectl.json<{ status?: { updatedNumberScheduled?: number; numberReady?: number } }>(
      'get',
      'daemonset',
      '-n',
      'portico-system',
      'portico-speaker',
    );
    if (ds.status?.updatedNumberScheduled === nodes) {
      await speakersReady(kubectl, nodes);
      return;
    }
    if (Date.now() > deadline) throw new Error(`the speakers did not roll to ${mode}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

process.exitCode = await main();
