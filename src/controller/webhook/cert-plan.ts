/**
 * What to do with the webhook certificates found in the Secret: keep them, reissue the serving
 * certificate from the same CA, or start over with a new CA. Pure: the time comes in as `now`.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { ipToBytes } from './ip-bytes.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  createServingCertificate,
  pemBlocks,
  readSubjectAltNames,
} from './x509.js';

/** The PEM text under each key of the Secret (`ca.crt`, `ca.key`, `tls.crt`, `tls.key`). */
export interface StoredCertificates {
  caCert?: string;
  caKey?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** What the HTTPS server needs, and what the API server must trust. */
export interface ServingMaterial {
  certPem: string;
  keyPem: string;
  /** The CA certificates the API server should trust: the current CA first, then any predecessor still valid. */
  caBundlePem: string;
  notAfter: Date;
}

export interface CertificatePolicy {
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  /** Common name of the serving certificate. */
  commonName: string;
  /** Prefix of the CA's common name; `@<unix seconds>` is added so successive CAs have distinct names. */
  caCommonName: string;
  caValidityMs: number;
  certValidityMs: number;
  /** Renew a certificate once less than this fraction of its lifetime remains. */
  renewFraction: number;
}

export type CertificatePlan =
  | { action: 'keep'; material: ServingMaterial; renewAt: Date }
  | {
      action: 'issue';
      /** Why the stored certificates do not do, one reason per problem. */
      reasons: string[];
      /** The stored CA, if it can go on signing; otherwise a new one is needed. */
      ca: CertificateAuthority | undefined;
      /** Other CA certificates from `ca.crt` that are still valid: the API server keeps trusting them. */
      stillTrusted: string[];
    };

/** Predecessor CAs kept in the bundle, so serving certificates they signed keep working through a CA rotation. */
const MAX_PREVIOUS_CAS = 2;

export function planCertificates(
  stored: StoredCertificates | undefined,
  policy: CertificatePolicy,
  now: Date,
): CertificatePlan {
  const caCheck = checkCa(stored, policy, now);
  if (!caCheck.ca) {
    return { action: 'issue', reasons: [caCheck.problem], ca: undefined, stillTrusted: caCheck.stillTrusted };
  }
  const { ca, x509: caX509 } = caCheck.ca;
  const problem = checkServing(stored, caX509, policy, now);
  if (typeof problem === 'string') {
    return { action: 'issue', reasons: [problem], ca, stillTrusted: caCheck.stillTrusted };
  }
  const caRenewAt = renewalTime(ca.notBefore, ca.notAfter, policy.renewFraction);
  return {
    action: 'keep',
    material: {
      certPem: stored!.tlsCert!,
      keyPem: stored!.tlsKey!,
      caBundlePem: pemBlocks(stored!.caCert!).join(''),
      notAfter: validity(problem.x509).notAfter,
    },
    renewAt: new Date(Math.min(caRenewAt.getTime(), problem.renewAt.getTime())),
  };
}

export interface IssuedCertificates {
  stored: Required<StoredCertificates>;
  material: ServingMaterial;
  /** True when a new CA was made, so the API server must learn to trust it before anyone serves with it. */
  newCa: boolean;
}

/** Carries out an `issue` plan: a new serving certificate, and a new CA if the old one cannot sign. */
export function issueCertificates(
  plan: Extract<CertificatePlan, { action: 'issue' }>,
  policy: CertificatePolicy,
  now: Date,
): IssuedCertificates {
  const ca =
    plan.ca ??
    createCertificateAuthority({
      commonName: `${policy.caCommonName}@${Math.floor(now.getTime() / 1000)}`,
      now,
      validityMs: policy.caValidityMs,
    });
  const serving = createServingCertificate(ca, {
    commonName: policy.commonName,
    dnsNames: policy.dnsNames,
    ipAddresses: policy.ipAddresses,
    now,
    validityMs: policy.certValidityMs,
  });
  const bundle = [ca.certPem, ...plan.stillTrusted.filter((pem) => !samePem(pem, ca.certPem))].join('');
  return {
    stored: { caCert: bundle, caKey: ca.keyPem, tlsCert: serving.certPem, tlsKey: serving.keyPem },
    material: {
      certPem: serving.certPem,
      keyPem: serving.keyPem,
      caBundlePem: bundle,
      notAfter: serving.notAfter,
    },
    newCa: !plan.ca,
  };
}

/**
 * The serving half of the Secret, for a replica that only reads it: the certificate must parse,
 * match its key and be valid now. Throws a one-line reason otherwise.
 */
export function readServingMaterial(stored: StoredCertificates | undefined, now: Date): ServingMaterial {
  const pair = parsePair(stored?.tlsCert, stored?.tlsKey, 'tls');
  if (typeof pair === 'string') throw new Error(pair);
  const { notBefore, notAfter } = validity(pair.x509);
  if (now < notBefore || now >= notAfter) {
    throw new Error(`tls.crt is valid from ${notBefore.toISOString()} to ${notAfter.toISOString()}, not now`);
  }
  const caBundlePem = pemBlocks(stored?.caCert ?? '').join('');
  return { certPem: stored!.tlsCert!, keyPem: stored!.tlsKey!, caBundlePem, notAfter };
}

/** When to renew a certificate valid from notBefore to notAfter: once `fraction` of its lifetime remains. */
export function renewalTime(notBefore: Date, notAfter: Date, fraction: number): Date {
  const lifetime = notAfter.getTime() - notBefore.getTime();
  return new Date(notAfter.getTime() - lifetime * fraction);
}

type CaCheck =
  | { ca: { ca: CertificateAuthority; x509: X509Certificate }; stillTrusted: string[] }
  | { ca: undefined; problem: string; stillTrusted: string[] };

function checkCa(stored: StoredCertificates | undefined, policy: CertificatePolicy, now: Date): CaCheck {
  const blocks = pemBlocks(stored?.caCert ?? '');
  const valid = blocks.filter((pem) => {
    const x509 = tryParse(pem);
    return x509?.ca && now >= validity(x509).notBefore && now < validity(x509).notAfter;
  });
  const [current, ...previous] = blocks;
  const keep = (list: string[]) => list.filter((pem) => valid.includes(pem)).slice(0, MAX_PREVIOUS_CAS);
  const fail = (problem: string): CaCheck => ({ ca: undefined, problem, stillTrusted: keep(blocks) });
  if (!stored) return fail('the Secret does not exist');
  if (!current) return fail('ca.crt holds no certificate');
  const pair = parsePair(current, stored.caKey, 'ca');
  if (typeof pair === 'string') return fail(pair);
  if (!pair.x509.ca) return fail('ca.crt is not a CA certificate');
  const { notBefore, notAfter } = validity(pair.x509);
  if (now < notBefore) return fail(`the CA is not valid until ${notBefore.toISOString()}`);
  const renewAt = renewalTime(notBefore, notAfter, policy.renewFraction);
  if (now >= renewAt) return fail(`the CA expires on ${notAfter.toISOString()}`);
  return {
    ca: { ca: { certPem: current, keyPem: stored.caKey!, notBefore, notAfter }, x509: pair.x509 },
    stillTrusted: keep(previous),
  };
}

function checkServing(
  stored: StoredCertificates | undefined,
  ca: X509Certificate,
  policy: CertificatePolicy,
  now: Date,
): string | { x509: X509Certificate; renewAt: Date } {
  const pair = parsePair(stored?.tlsCert, stored?.tlsKey, 'tls');
  if (typeof pair === 'string') return pair;
  const cert = pair.x509;
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    return 'tls.crt was not issued by the CA in ca.crt';
  }
  const names = readSubjectAltNames(stored!.tlsCert!);
  const have = nameSet(names.dnsNames, names.ipAddresses);
  const want = nameSet(policy.dnsNames, policy.ipAddresses);
  if (have.size !== want.size || [...want].some((name) => !have.has(name))) {
    const list = (dns: readonly string[], ips: readonly string[]) => [...dns, ...ips].join(', ');
    return `tls.crt is for ${list(names.dnsNames, names.ipAddresses) || 'no names'}, not ${list(policy.dnsNames, policy.ipAddresses)}`;
  }
  const { notBefore, notAfter } = validity(cert);
  if (now < notBefore) return `tls.crt is not valid until ${notBefore.toISOString()}`;
  const renewAt = renewalTime(notBefore, notAfter, policy.renewFraction);
  if (now >= renewAt) return `tls.crt expires on ${notAfter.toISOString()}`;
  return { x509: cert, renewAt };
}

/** DNS names compare case-insensitively, IP addresses by their bytes (`::1` is `0:0:0:0:0:0:0:1`). */
function nameSet(dnsNames: readonly string[], ipAddresses: readonly string[]): Set<string> {
  return new Set([
    ...dnsNames.map((name) => `dns:${name.toLowerCase()}`),
    ...ipAddresses.map((ip) => `ip:${ipToBytes(ip).toString('hex')}`),
  ]);
}

function parsePair(
  certPem: string | undefined,
  keyPem: string | undefined,
  prefix: 'ca' | 'tls',
): string | { x509: X509Certificate; key: KeyObject } {
  if (!certPem) return `${prefix}.crt is missing`;
  if (!keyPem) return `${prefix}.key is missing`;
  const x509 = tryParse(certPem);
  if (!x509) return `${prefix}.crt does not hold a certificate`;
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return `${prefix}.key does not hold a private key`;
  }
  if (!x509.checkPrivateKey(key)) return `${prefix}.key does not match ${prefix}.crt`;
  return { x509, key };
}

function tryParse(pem: string): X509Certificate | undefined {
  const [first] = pemBlocks(pem);
  if (!first) return undefined;
  try {
    return new X509Certificate(first);
  } catch {
    return undefined;
  }
}

function validity(x509: X509Certificate): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(x509.validFrom), notAfter: new Date(x509.validTo) };
}

function samePem(a: string, b: string): boolean {
  return a.replace(/\s/g, '') === b.replace(/\s/g, '');
}
