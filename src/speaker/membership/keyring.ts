/**
 * The shared membership secret as HMAC-SHA256 keys. Every speaker holds the same secret (a Kubernetes
 * Secret); a datagram carries the 4-byte id of the key that signed it, so a receiver tells "another
 * cluster or a stale secret" apart from "forged or corrupted", and a rotation can verify with the old
 * and new keys while signing with the new one. The key authenticates the cluster, not a node: any
 * holder can speak for any node, so the Secret deserves the same care as the speakers' credentials.
 */
import { createHash, createHmac } from 'node:crypto';

export interface MembershipKey {
  /** First 32 bits of SHA-256 of the derived key. */
  readonly id: number;
  readonly key: Buffer;
}

export interface Keyring {
  readonly signing: MembershipKey;
  readonly byId: ReadonlyMap<number, MembershipKey>;
}

export const MIN_SECRET_BYTES = 16;

/** The first secret signs; all of them verify. Throws a one-line error for a short or missing secret. */
export function createKeyring(secrets: readonly (string | Uint8Array)[]): Keyring {
  if (secrets.length === 0) throw new RangeError('the membership keyring needs at least one secret');
  const keys = secrets.map((secret, i) => {
    const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
    if (bytes.length < MIN_SECRET_BYTES) {
      throw new RangeError(
        `membership secret ${i + 1} is ${bytes.length} bytes; it must be at least ${MIN_SECRET_BYTES}`,
      );
    }
    // Derived, not used raw, so the same secret used by another protocol cannot sign our datagrams.
    const key = createHmac('sha256', bytes).update('portico membership v1').digest();
    return { id: createHash('sha256').update(key).digest().readUInt32BE(0), key };
  });
  return { signing: keys[0]!, byId: new Map(keys.map((k) => [k.id, k])) };
}
