/** Node tags: 8 bytes of SHA-256 of a node name, naming members compactly inside datagrams. */
import { createHash } from 'node:crypto';

export const TAG_BYTES = 8;

/** 16 lower-case hex digits; collisions among a cluster's node names are a 2^-64 event. */
export function nodeTag(name: string): string {
  return createHash('sha256')
    .update(`portico node tag\0${name}`, 'utf8')
    .digest()
    .subarray(0, TAG_BYTES)
    .toString('hex');
}
