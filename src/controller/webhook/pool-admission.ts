import { AddressError, formatRange, parseAddressEntry, rangesOverlap } from '../../api/address.js';
import { type FieldError, formatFieldError } from '../../api/field-errors.js';
import type { IPAddressPool } from '../../api/ip-address-pool.js';
import { parsePool } from '../../api/pool.js';
import type { AdmissionRequest, AdmissionResult } from './admission-review.js';

export const POOL_WEBHOOK_PATH = '/validate-portico-dev-v1alpha1-ipaddresspool';

/**
 * Admission of an IPAddressPool: the same checks the controller applies at runtime (so a pool the
 * webhook let through never behaves differently), plus overlaps with the other pools, which only a
 * check at write time can refuse instead of merely marking. Every problem is listed, each naming
 * its field.
 */
export function admitPool(
  request: AdmissionRequest,
  installNamespace: string,
  others: readonly IPAddressPool[],
): AdmissionResult {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return { allowed: true };
  const pool = request.object as IPAddressPool | undefined;
  if (!pool || typeof pool !== 'object' || !pool.metadata) {
    return {
      allowed: false,
      code: 400,
      reason: 'BadRequest',
      message: 'the request carries no IPAddressPool',
    };
  }
  const errors: FieldError[] = [];
  const namespace = pool.metadata.namespace ?? request.namespace;
  if (namespace !== installNamespace) {
    errors.push({
      field: 'metadata.namespace',
      message: `IPAddressPools must be created in ${installNamespace}, where Portico runs, not in ${namespace ?? '(none)'}`,
    });
  }
  const parsed = parsePool(pool);
  if (!parsed.ok) errors.push(...parsed.errors);
  errors.push(...overlaps(pool, others));
  if (errors.length === 0) return { allowed: true };
  return { allowed: false, code: 422, reason: 'Invalid', message: errors.map(formatFieldError).join('; ') };
}

function overlaps(pool: IPAddressPool, others: readonly IPAddressPool[]): FieldError[] {
  const name = pool.metadata.name;
  const errors: FieldError[] = [];
  const theirs = others
    .filter((o) => o.metadata.name !== name)
    .flatMap((o) =>
      (o.spec?.addresses ?? []).flatMap((text) => {
        try {
          return [{ pool: o.metadata.name ?? '', range: parseAddressEntry(text) }];
        } catch (err) {
          if (err instanceof AddressError) return [];
          throw err;
        }
      }),
    );
  for (const [i, text] of (pool.spec?.addresses ?? []).entries()) {
    let range: ReturnType<typeof parseAddressEntry>;
    try {
      range = parseAddressEntry(text);
    } catch (err) {
      if (err instanceof AddressError) continue; // reported by parsePool
      throw err;
    }
    const hit = theirs.find((t) => rangesOverlap(t.range, range));
    if (hit) {
      errors.push({
        field: `spec.addresses[${i}]`,
        message: `"${text}" overlaps pool ${hit.pool} (${formatRange(hit.range)}); pools may not share addresses`,
      });
    }
  }
  return errors;
}
