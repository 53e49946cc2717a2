/**
 * One failover repetition on the lab: a lan-client pings the VIP every 10 ms and captures every ARP
 * reply and neighbour advertisement; the owner is hit by the fault; the client's view of it is read
 * off the ping replies (the outage) and the capture (who answered, and when the successor did).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  dualResponderMs,
  largestGap,
  lostSince,
  type NeighborAnswer,
  neighborAnswers,
  type PingReply,
  pingReplies,
} from '../../e2e/lab/failover-trace.js';
import type { L2Probe } from '../../e2e/lab/l2-probe.js';
import type { LabPlan } from '../../e2e/lab/plan.js';

export const PING_INTERVAL_MS = 10;

export interface TrialResult {
  scenario: string;
  family: 4 | 6;
  rep: number;
  owner: string;
  /** The node whose first unsolicited answer came after the fault, if any did. */
  successor: string | undefined;
  /** Largest gap between ping replies from the fault to the recovery: the outage the client saw. */
  gapMs: number;
  /** From the fault to the successor's first gratuitous ARP / unsolicited NA. */
  takeoverMs: number | undefined;
  /** Pings unanswered from the fault to the recovery, and from the recovery to the end. */
  lostDuringFault: number;
  lostOnReturn: number;
  /** Largest gap between ping replies after the recovery (the old owner coming back). */
  returnGapMs: number;
  /** Longest time two nodes answered for the VIP at once (from the capture). */
  dualResponderMs: number;
  /** The one node answering once the fault was undone and things settled. */
  ownerAfter: string | undefined;
}

/** A `ping -D` and a `tcpdump -e -tt` in the lan-client, both running until stopped. */
class ClientWatch {
  private readonly ping: ChildProcess;
  private readonly dump: ChildProcess;
  private pingOut = '';
  private dumpOut = '';
  private dumpErr = '';

  constructor(netns: string, address: string) {
    const v6 = address.includes(':');
    const pingArgs = [
      v6 ? '-6' : '-4',
      '-D',
      '-n',
      '-i',
      String(PING_INTERVAL_MS / 1000),
      '-W',
      '1',
      address,
    ];
    this.ping = spawn('ip', ['netns', 'exec', netns, 'ping', ...pingArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.ping.stdout?.setEncoding('utf8').on('data', (s: string) => {
      this.pingOut += s;
    });
    const filter = 'arp or (icmp6 and ip6[40] == 136)';
    this.dump = spawn(
      'ip',
      ['netns', 'exec', netns, 'tcpdump', '-l', '-n', '-tt', '-e', '--immediate-mode', '-i', 'eth0', filter],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.dump.stdout?.setEncoding('utf8').on('data', (s: string) => {
      this.dumpOut += s;
    });
    this.dump.stderr?.setEncoding('utf8').on('data', (s: string) => {
      this.dumpErr += s;
    });
  }

  async ready(): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!this.dumpErr.includes('listening on')) {
      if (Date.now() > deadline) throw new Error(`tcpdump did not start: ${this.dumpErr}`);
      await sleep(10);
    }
    while (pingReplies(this.pingOut).length < 5) {
      if (Date.now() > deadline + 5000) throw new Error(`no ping replies: ${this.pingOut.slice(-300)}`);
      await sleep(10);
    }
  }

  async stop(): Promise<{ replies: PingReply[]; answers: NeighborAnswer[] }> {
    const exited = (c: ChildProcess) =>
      new Promise((r) => (c.exitCode !== null ? r(null) : c.once('close', r)));
    this.ping.kill('SIGINT');
    this.dump.kill('SIGINT');
    await Promise.all([exited(this.ping), exited(this.dump)]);
    return {
      replies: pingReplies(this.pingOut),
      answers: neighborAnswers(this.dumpOut),
    };
  }
}

export interface Fault {
  /** Breaks the owner; resolves as soon as the fault is in place. */
  inject(owner: string): Promise<void>;
  /** Undoes it; resolves when the old owner can take part again. */
  recover(owner: string): Promise<void>;
}

export interface TrialOptions {
  plan: LabPlan;
  probe: L2Probe;
  scenario: string;
  family: 4 | 6;
  rep: number;
  address: string;
  fault: Fault;
  /** Watched after the fault before recovering. */
  observeMs: number;
  /** Waited for after the recovery, until one node answers; returns it. */
  settle: (owner: string) => Promise<string | undefined>;
}

/** Waits until one node answers for the address twice in a row, and returns it. */
export async function stableOwner(probe: L2Probe, address: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  for (;;) {
    const now = await probe.owner(address);
    if (now && now === last) return now;
    last = now;
    if (Date.now() > deadline) throw new Error(`no single stable owner for ${address} in ${timeoutMs} ms`);
    await sleep(200);
  }
}

export async function runTrial(o: TrialOptions): Promise<TrialResult> {
  const owner = await stableOwner(o.probe, o.address);
  const watch = new ClientWatch(o.plan.lanClient!.netns, o.address);
  let faultAt = 0;
  let recoveredAt = 0;
  let ownerAfter: string | undefined;
  let result: Awaited<ReturnType<ClientWatch['stop']>>;
  try {
    await watch.ready();
    await sleep(300);
    faultAt = Date.now();
    await o.fault.inject(owner);
    await sleep(o.observeMs);
    await o.fault.recover(owner);
    recoveredAt = Date.now();
    ownerAfter = await o.settle(owner);
    await sleep(1000);
  } finally {
    result = await watch.stop();
  }
  const times = result.replies.map((r) => r.at);
  const during = times.filter((t) => t >= faultAt - PING_INTERVAL_MS && t <= recoveredAt);
  const after = times.filter((t) => t >= recoveredAt - PING_INTERVAL_MS);
  const macs = await o.probe.nodeMacs();
  const successor = result.answers.find(
    (a) => a.address === o.address && a.at >= faultAt && macs.get(a.mac) !== owner,
  );
  return {
    scenario: o.scenario,
    family: o.family,
    rep: o.rep,
    owner,
    successor: successor ? (macs.get(successor.mac) ?? successor.mac) : undefined,
    gapMs: largestGap(during).ms,
    takeoverMs: successor ? successor.at - faultAt : undefined,
    lostDuringFault: lostSince(result.replies, faultAt) - lostSince(result.replies, recoveredAt),
    lostOnReturn: lostSince(result.replies, recoveredAt),
    returnGapMs: largestGap(after).ms,
    dualResponderMs: dualResponderMs(result.answers, o.address),
    ownerAfter,
  };
}
