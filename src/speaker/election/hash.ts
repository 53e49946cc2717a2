/**
 * Rendezvous (highest random weight) scores for (IP, node) pairs. Each IP and each node name is hashed
 * once with SHA-256; a pair's score mixes the two digests with murmur3's 32-bit finalizer, so ranking
 * m IPs over n nodes costs m + n SHA-256 digests and m × n cheap integer mixes instead of m × n digests.
 * Scores are 53-bit integers (exact in a double) and identical on every platform.
 */
import { createHash } from 'node:crypto';

/** The first 64 bits of a SHA-256 digest, as two unsigned 32-bit halves. */
export interface Digest {
  readonly hi: number;
  readonly lo: number;
}

// Domain prefixes keep an IP and a node that happen to share a spelling from sharing a digest.
export const ipDigest = (ip: string): Digest => digest(`ip\0${ip}`);
export const nodeDigest = (node: string): Digest => digest(`node\0${node}`);

function digest(text: string): Digest {
  const bytes = createHash('sha256').update(text, 'utf8').digest();
  return { hi: bytes.readUInt32BE(0), lo: bytes.readUInt32BE(4) };
}

function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The score of `node` for `ip`: the highest-scoring eligible node is the IP's first choice. */
export function score(ip: Digest, node: Digest): number {
  const hi = fmix32(ip.hi ^ node.hi);
  const lo = fmix32(ip.lo ^ node.lo ^ Math.imul(hi, 0x9e3779b1));
  return hi * 2 ** 21 + (lo >>> 11);
}

/** Total order of candidates for one IP: higher score first, the smaller name on the (unlikely) tie. */
export function ranksAbove(scoreA: number, nameA: string, scoreB: number, nameB: string): boolean {
  return scoreA !== scoreB ? scoreA > scoreB : nameA < nameB;
}
