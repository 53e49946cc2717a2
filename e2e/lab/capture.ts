/**
 * Packet captures inside a lab namespace, or on the host's own interfaces (tcpdump), for tests that
 * must see what crossed a wire: started and ready before the traffic, one line per packet.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface CaptureOptions {
  iface?: string;
  /** How long to wait for tcpdump to start listening. Default 5 s. */
  startTimeoutMs?: number;
}

export class Capture {
  readonly lines: string[] = [];
  private readonly closed: Promise<void>;
  private stderr = '';

  private constructor(private readonly child: ChildProcessByStdio<null, Readable, Readable>) {
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts.filter((l) => l.trim() !== ''));
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.closed = new Promise((resolve) => child.once('close', () => resolve()));
  }

  /**
   * Starts `tcpdump -i <iface> <filter>` in the namespace (undefined: the host's own) and resolves
   * once it is listening.
   */
  static async start(netns: string | undefined, filter: string, opts: CaptureOptions = {}): Promise<Capture> {
    const args = ['-i', opts.iface ?? 'eth0', '-nn', '-l', '--immediate-mode', filter];
    const stdio = ['ignore', 'pipe', 'pipe'] as const;
    const child = netns
      ? spawn('ip', ['netns', 'exec', netns, 'tcpdump', ...args], { stdio: [...stdio] })
      : spawn('tcpdump', args, { stdio: [...stdio] });
    const capture = new Capture(child);
    const deadline = Date.now() + (opts.startTimeoutMs ?? 5_000);
    while (!capture.stderr.includes('listening on')) {
      if (capture.child.exitCode !== null || Date.now() > deadline) {
        capture.child.kill('SIGKILL');
        const where = netns ?? 'the host';
        throw new Error(`tcpdump in ${where} did not start: ${capture.stderr.trim() || '(no output)'}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    return capture;
  }

  /** Resolves true once `count` packets were captured, false if that did not happen within `timeoutMs`. */
  async waitForPackets(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length < count) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  /** Stops tcpdump and returns every captured line. */
  async stop(): Promise<string[]> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    await this.closed;
    return this.lines;
  }
}

/**
 * Captures `filter` in each host (name → namespace), runs `send`, and reports which hosts saw at
 * least one matching packet. Frames arrive within microseconds; `waitMs` gives the hosts that
 * should not see one a fair chance to see it anyway.
 */
export async function seenBy(
  hosts: Readonly<Record<string, string>>,
  filter: string,
  send: () => Promise<unknown>,
  waitMs = 500,
): Promise<Record<string, boolean>> {
  const names = Object.keys(hosts);
  const captures = await Promise.all(names.map((name) => Capture.start(hosts[name] ?? '', filter)));
  try {
    await send();
    await Promise.all(captures.map((c) => c.waitForPackets(1, waitMs)));
  } finally {
    await Promise.all(captures.map((c) => c.stop()));
  }
  return Object.fromEntries(names.map((name, i) => [name, (captures[i]?.lines.length ?? 0) > 0]));
}
