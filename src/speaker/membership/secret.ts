/**
 * The Secret that holds the membership key. The controller creates it once (a random 32-byte key);
 * every speaker reads it at start. `secretkey` signs and verifies; an optional `previouskey` only
 * verifies, so a key can be rotated without a gap: add the old key as `previouskey`, put the new one
 * in `secretkey`, restart the DaemonSet, then drop `previouskey`.
 */
import { randomBytes } from 'node:crypto';
import type { KubeClient } from '../../k8s/client.js';
import { isAlreadyExists, isForbidden, isNotFound, oneLine } from '../../k8s/errors.js';
import { Resources } from '../../k8s/resources.js';
import type { KubeObject } from '../../k8s/types.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { MIN_SECRET_BYTES } from './keyring.js';

export const DEFAULT_MEMBERSHIP_SECRET = 'portico-memberlist';
export const SIGNING_KEY = 'secretkey';
export const PREVIOUS_KEY = 'previouskey';

interface SecretObject extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

export class MembershipSecretError extends Error {
  override readonly name = 'MembershipSecretError';
}

/** The keys in a Secret's data, signing key first; a one-line error if the signing key is missing or short. */
export function membershipKeys(secret: SecretObject): Uint8Array[] {
  const where = `Secret ${secret.metadata.namespace}/${secret.metadata.name}`;
  const decode = (key: string) => {
    const value = secret.data?.[key];
    return value === undefined ? undefined : Buffer.from(value, 'base64');
  };
  const signing = decode(SIGNING_KEY);
  if (!signing) throw new MembershipSecretError(`${where} has no "${SIGNING_KEY}"`);
  const previous = decode(PREVIOUS_KEY);
  const keys = previous && previous.length > 0 ? [signing, previous] : [signing];
  for (const [i, k] of keys.entries()) {
    if (k.length < MIN_SECRET_BYTES) {
      throw new MembershipSecretError(
        `${where}: "${i === 0 ? SIGNING_KEY : PREVIOUS_KEY}" is ${k.length} bytes; it must be at least ${MIN_SECRET_BYTES}`,
      );
    }
  }
  return keys;
}

/** Creates the Secret with a fresh random key unless it exists. Returns whether it created it. */
export async function ensureMembershipSecret(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<boolean> {
  try {
    await client.resource<SecretObject>(Resources.secrets).create({
      metadata: {
        name,
        namespace,
        labels: { 'app.kubernetes.io/part-of': 'portico', 'app.kubernetes.io/component': 'speaker' },
      },
      type: 'Opaque',
      data: { [SIGNING_KEY]: randomBytes(32).toString('base64') },
    });
    return true;
  } catch (err) {
    if (isAlreadyExists(err)) return false;
    throw err;
  }
}

/**
 * Reads the keys, waiting while the Secret does not exist yet (the controller may start after the
 * speakers). Forbidden and malformed are not waited out: they need the user.
 */
export async function readMembershipKeys(o: {
  client: KubeClient;
  namespace: string;
  name: string;
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
  retryMs?: number;
}): Promise<Uint8Array[]> {
  let logged = false;
  for (;;) {
    try {
      const secret = await o.client.resource<SecretObject>(Resources.secrets).get(o.name, o.namespace);
      return membershipKeys(secret);
    } catch (err) {
      if (isForbidden(err)) {
        throw new MembershipSecretError(
          `may not read Secret ${o.namespace}/${o.name} (the speaker's Role must allow get on it): ${oneLine(err)}`,
        );
      }
      if (err instanceof MembershipSecretError) throw err;
      if (!logged) {
        const why = isNotFound(err) ? 'it does not exist yet; the controller creates it' : oneLine(err);
        o.logger.info({ secret: `${o.namespace}/${o.name}`, why }, 'waiting for the membership Secret');
        logged = true;
      }
    }
    o.signal.throwIfAborted();
    await o.clock.sleep(o.retryMs ?? 2000);
  }
}
