/** What a benchmark figure depends on: the machine, and what each process costs (from /proc). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem } from 'node:os';

export interface MachineFacts {
  nproc: number;
  cpuModel: string;
  memTotalMB: number;
  node: string;
  kernel: string;
}

export function machineFacts(): MachineFacts {
  return {
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memTotalMB: Math.round(totalmem() / 2 ** 20),
    node: process.version,
    kernel: release(),
  };
}

export interface Memory {
  /** Resident set now. */
  rssMB: number;
  /** Peak resident set since the process started (VmHWM). */
  hwmMB: number;
}

/** VmRSS and VmHWM of a running process, from /proc/<pid>/status. */
export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMB: Math.round(kB('VmRSS') / 102.4) / 10, hwmMB: Math.round(kB('VmHWM') / 102.4) / 10 };
}

let ticksPerSecond: number | undefined;

/** CPU seconds (user + system) a process has used so far, or NaN once it is gone. */
export function cpuSecondsOf(pid: number): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return Number.NaN;
  }
}

export interface CpuUse {
  wallS: number;
  /** CPU seconds each of our processes used. */
  byProcess: Record<string, number>;
  /** Our processes' CPU as a share of all CPUs over the interval (100 = every CPU busy). */
  oursPercent: number;
  /** The whole machine's busy share, from /proc/stat. */
  machineBusyPercent: number;
  /** Busy time not spent in our processes: other work on the machine, and the kernel's share. */
  othersPercent: number;
  stealPercent: number;
  /**
   * TCP connections opened on this machine (its network namespace) meanwhile: each is a TLS handshake
   * for the API server when a client's keep-alive pool lets sockets go.
   */
  tcpConnectsOpened: number;
}

/** CPU used between construction and `read()`, per process and machine-wide. */
export class CpuMeter {
  private readonly before = new Map<string, number>();
  private readonly ticks = systemTicks();
  private readonly opens = tcpActiveOpens();
  private readonly started = performance.now();

  constructor(private readonly pids: () => Record<string, number>) {
    for (const [name, pid] of Object.entries(pids())) this.before.set(name, cpuSecondsOf(pid));
  }

  read(): CpuUse {
    const wallS = (performance.now() - this.started) / 1000;
    const byProcess: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids())) {
      byProcess[name] = round2(cpuSecondsOf(pid) - (this.before.get(name) ?? 0));
    }
    const now = systemTicks();
    const total = now.total - this.ticks.total || 1;
    const capacity = wallS * availableParallelism();
    const oursPercent = (Object.values(byProcess).reduce((a, b) => a + b, 0) / capacity) * 100;
    const machineBusyPercent = ((now.busy - this.ticks.busy) / total) * 100;
    return {
      wallS: round2(wallS),
      byProcess,
      oursPercent: round1(oursPercent),
      machineBusyPercent: round1(machineBusyPercent),
      othersPercent: round1(Math.max(0, machineBusyPercent - oursPercent)),
      stealPercent: round1(((now.steal - this.ticks.steal) / total) * 100),
      tcpConnectsOpened: tcpActiveOpens() - this.opens,
    };
  }
}

/** The machine's busy share over `ms` milliseconds while the benchmark does nothing: its background load. */
export async function backgroundBusyPercent(ms: number): Promise<number> {
  const before = systemTicks();
  await new Promise((r) => setTimeout(r, ms));
  const now = systemTicks();
  return round1(((now.busy - before.busy) / (now.total - before.total || 1)) * 100);
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

function systemTicks(): { busy: number; steal: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal (guest time is already in user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, steal, total: busy + idle + iowait };
}

/** The kernel's count of TCP connections this network namespace opened (connect()), from /proc/net/snmp. */
function tcpActiveOpens(): number {
  const [names, values] = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('Tcp:'))
    .map((line) => line.split(/\s+/));
  const at = names?.indexOf('ActiveOpens') ?? -1;
  return at > 0 ? Number(values?.[at]) : Number.NaN;
}
