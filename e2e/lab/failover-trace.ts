/**
 * Reading a failover from a client's point of view: the replies of `ping -D` (when the address
 * answered) and the ARP / NDP answers a capture saw (who answered). Pure parsing and arithmetic; the
 * processes that produce the text are started by the failover probe.
 */

export interface PingReply {
  /** Epoch milliseconds. */
  at: number;
  seq: number;
}

/** Replies with their sequence numbers, from `ping -D -n` output lines. */
export function pingReplies(output: string): PingReply[] {
  const out: PingReply[] = [];
  for (const line of output.split('\n')) {
    const m = /^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)/.exec(line);
    if (m) out.push({ at: Number(m[1]) * 1000, seq: Number(m[2]) });
  }
  return out;
}

/** Reply times in milliseconds (epoch), from `ping -D -n` output lines. */
export function pingReplyTimes(output: string): number[] {
  return pingReplies(output).map((r) => r.at);
}

/**
 * Echo requests that got no reply among those answered from `from` on: the sequence numbers missing
 * between the first and the last reply at or after it. (ping's pace drifts from its interval, so
 * counting by time would invent losses.)
 */
export function lostSince(replies: readonly PingReply[], from: number): number {
  const seqs = replies.filter((r) => r.at >= from).map((r) => r.seq);
  if (seqs.length === 0) return 0;
  return Math.max(...seqs) - Math.min(...seqs) + 1 - new Set(seqs).size;
}

/**
 * The longest silence between consecutive replies, in ms, and when it began; the outage a client saw.
 * With replies every `intervalMs`, a gap of one interval is no outage at all.
 */
export function largestGap(replies: readonly number[]): { ms: number; at: number | undefined } {
  let best = { ms: 0, at: undefined as number | undefined };
  for (let i = 1; i < replies.length; i++) {
    const gap = replies[i]! - replies[i - 1]!;
    if (gap > best.ms) best = { ms: gap, at: replies[i - 1] };
  }
  return best;
}

export interface NeighborAnswer {
  /** Epoch milliseconds. */
  at: number;
  address: string;
  mac: string;
}

/**
 * ARP replies and neighbor advertisements from `tcpdump -l -n -tt -e` output, e.g.
 *   1795664544.912593 02:00:00:00:00:0b > 02:00:00:00:00:64, ethertype ARP (0x0806), length 42: Reply 203.0.113.10 is-at 02:00:00:00:00:0b, length 28
 *   1795664544.912593 02:00:00:00:00:0b > 33:33:00:00:00:01, ethertype IPv6 (0x86dd), length 86: 2001:db8::10 > ff02::1: ICMP6, neighbor advertisement, tgt is 2001:db8::10, length 32
 * The answering MAC is the Ethernet source (what a client caches comes from the target link-layer
 * option, which our speaker sets to the same MAC).
 */
export function neighborAnswers(output: string): NeighborAnswer[] {
  const out: NeighborAnswer[] = [];
  for (const line of output.split('\n')) {
    const head = /^(\d+\.\d+) ([0-9a-f:]{17}) > /.exec(line);
    if (!head) continue;
    const at = Number(head[1]) * 1000;
    const mac = head[2]!;
    const arp = /Reply (\S+) is-at /.exec(line);
    if (arp) {
      out.push({ at, address: arp[1]!, mac });
      continue;
    }
    const na = /neighbor advertisement, tgt is ([0-9a-f:]+)/.exec(line);
    if (na) out.push({ at, address: na[1]!, mac });
  }
  return out;
}

/**
 * The longest time two MACs both kept answering for one address: each MAC's answers are grouped
 * into bursts (answers less than `quietMs` apart), and overlapping bursts of different MACs count
 * from the later burst's start to the earlier one's end. Zero when ownership moved cleanly.
 */
export function dualResponderMs(answers: readonly NeighborAnswer[], address: string, quietMs = 1500): number {
  const bursts: { mac: string; from: number; to: number }[] = [];
  const open = new Map<string, { mac: string; from: number; to: number }>();
  for (const a of [...answers].filter((x) => x.address === address).sort((x, y) => x.at - y.at)) {
    const burst = open.get(a.mac);
    if (burst && a.at - burst.to <= quietMs) {
      burst.to = a.at;
    } else {
      const fresh = { mac: a.mac, from: a.at, to: a.at };
      bursts.push(fresh);
      open.set(a.mac, fresh);
    }
  }
  let worst = 0;
  for (const [i, x] of bursts.entries()) {
    for (const y of bursts.slice(i + 1)) {
      if (x.mac === y.mac) continue;
      worst = Math.max(worst, Math.min(x.to, y.to) - Math.max(x.from, y.from));
    }
  }
  return worst;
}
