/**
 * Parsers for BIRD 2's `birdc` text (it has no JSON): `show protocols all`, `show bfd sessions`
 * and `show route <prefix> all`.
 */
import type { BfdSession, PeerState, RibPath } from './router-state.js';

export interface BirdPeer extends PeerState {
  /** The protocol BIRD spawned for the session (node_v4_1); routes name it, not the address. */
  protocol: string;
}

/** Splits `show protocols all` into one block per protocol, starting at its unindented header line. */
function protocolBlocks(text: string): string[][] {
  const blocks: string[][] = [];
  for (const line of text.split('\n')) {
    if (/^\S+\s+\S+\s+\S+\s+(up|down|start|stop|flush)\b/.test(line)) blocks.push([line]);
    else blocks.at(-1)?.push(line);
  }
  return blocks;
}

function field(block: readonly string[], name: string): string | undefined {
  const prefix = `${name}:`;
  return block
    .map((l) => l.trim())
    .find((l) => l.startsWith(prefix))
    ?.slice(prefix.length)
    .trim();
}

/** The BGP sessions with a peer (templates and dynamic listeners, which have none, are skipped). */
export function parseBirdProtocols(text: string): BirdPeer[] {
  return protocolBlocks(text).flatMap((block) => {
    const [protocol, proto] = (block[0] ?? '').split(/\s+/);
    const address = field(block, 'Neighbor address');
    if (proto !== 'BGP' || !protocol || !address) return [];
    const imported = block
      .map((l) => /^\s*Routes:\s+(\d+) imported/.exec(l)?.[1])
      .filter((n) => n !== undefined)
      .reduce((sum, n) => sum + Number(n), 0);
    return [{ protocol, address, state: field(block, 'BGP state') ?? 'Idle', prefixesReceived: imported }];
  });
}

/** `show bfd sessions`: "IP address  Interface  State  Since  Interval  Timeout" rows. */
export function parseBirdBfdSessions(text: string): BfdSession[] {
  return text.split('\n').flatMap((line) => {
    const m = /^(\S+)\s+(\S+)\s+(Up|Down|Init|AdminDown)\s+\S+\s+([\d.]+)\s+([\d.]+)\s*$/.exec(line);
    if (!m) return [];
    const interval = Number(m[4]);
    const timeout = Number(m[5]);
    return [
      {
        peer: m[1]!,
        state: m[3]!,
        intervalMs: Math.round(interval * 1000),
        multiplier: interval > 0 ? Math.round(timeout / interval) : undefined,
      },
    ];
  });
}

/**
 * `show route <prefix> all`: a route line per path ("203.0.113.10/32 unicast [node_v4_1 …] *
 * (100) [AS64512i]", the prefix only on the first), then its attributes, indented by a tab.
 * `peers` maps protocol names to addresses. "Network not found" gives [].
 */
export function parseBirdRoutes(text: string, peers: readonly BirdPeer[] = []): RibPath[] {
  const paths: (RibPath & { protocol: string })[] = [];
  let prefix = '';
  for (const line of text.split('\n')) {
    const head = /^(\S+)?\s+unicast\s+\[(\S+)[^\]]*\](\s+\*)?/.exec(line);
    if (head) {
      prefix = head[1] ?? prefix;
      const protocol = head[2]!;
      const peer = peers.find((p) => p.protocol === protocol)?.address;
      paths.push({ prefix, nextHop: '', protocol, peer, asPath: [], best: head[3] !== undefined });
      continue;
    }
    const path = paths.at(-1);
    if (!path) continue;
    const via = /^\s+via (\S+)/.exec(line);
    if (via) path.nextHop = via[1]!;
    const asPath = /^\s+BGP\.as_path:(.*)$/.exec(line);
    if (asPath) path.asPath = asPath[1]!.trim().split(/\s+/).filter(Boolean).map(Number);
  }
  return paths.map(({ protocol: _, ...path }) => path);
}
