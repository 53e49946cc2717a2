/**
 * A member's claims split into chunks that each fit one datagram, and a peer's chunks reassembled.
 * All chunks of one claims version are sent together when the claims change, then one chunk per
 * heartbeat in rotation, so a lost chunk is repaired within one rotation. A receiver replaces a peer's
 * claims only when every chunk of a newer version has arrived, so it never sees half of a change.
 */

import { ipToText, parseIpBytes } from '../l2/ip-bytes.js';
import type { Heartbeat } from './codec.js';

export const MAX_CHUNKS = 65_535;

/**
 * Canonical, de-duplicated, sorted (IPv4 first, by address bytes) and packed into chunks of at most
 * `roomBytes` of addresses; always at least one chunk. Text that is not an IP throws a RangeError.
 */
export function splitClaims(ips: Iterable<string>, roomBytes: number): string[][] {
  const unique = new Map<string, Buffer>();
  for (const ip of ips) {
    const parsed = parseIpBytes(ip);
    if (!parsed.ok) throw new RangeError(`cannot claim "${ip}": not an IP address`);
    unique.set(parsed.value.text, parsed.value.bytes);
  }
  const sorted = [...unique.values()].sort((a, b) => a.length - b.length || Buffer.compare(a, b));
  const chunks: string[][] = [[]];
  let used = 0;
  for (const bytes of sorted) {
    if (used + bytes.length > roomBytes) {
      chunks.push([]);
      used = 0;
    }
    chunks[chunks.length - 1]!.push(ipToText(bytes));
    used += bytes.length;
  }
  if (chunks.length > MAX_CHUNKS)
    throw new RangeError(`${unique.size} claimed IPs need more than ${MAX_CHUNKS} chunks`);
  return chunks;
}

export class ClaimsAssembler {
  private version: number | undefined;
  private complete: ReadonlySet<string> = new Set();
  private partial: { version: number; count: number; chunks: Map<number, readonly string[]> } | undefined;

  get claims(): ReadonlySet<string> {
    return this.complete;
  }

  /** Takes one chunk; true when it completed a version whose IPs differ from the previous claims. */
  accept(h: Heartbeat): boolean {
    if (h.claimsVersion === this.version) return false;
    if (!this.partial || this.partial.version !== h.claimsVersion || this.partial.count !== h.chunkCount) {
      this.partial = { version: h.claimsVersion, count: h.chunkCount, chunks: new Map() };
    }
    this.partial.chunks.set(h.chunkIndex, h.ips);
    if (this.partial.chunks.size < this.partial.count) return false;
    const next = new Set([...this.partial.chunks.values()].flat());
    const changed = next.size !== this.complete.size || [...next].some((ip) => !this.complete.has(ip));
    this.version = this.partial.version;
    this.complete = next;
    this.partial = undefined;
    return changed;
  }
}
