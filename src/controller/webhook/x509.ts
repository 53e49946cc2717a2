/**
 * Builds the webhook's X.509 certificates (RFC 5280) with node:crypto alone, which can sign but not
 * issue certificates: a self-signed CA and serving certificates it signs, ECDSA P-256 with SHA-256.
 */
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';
import {
  bitString,
  boolean,
  decodeOid,
  explicit,
  implicit,
  integer,
  namedBits,
  octetString,
  oid,
  readChildren,
  readTlv,
  sequence,
  set,
  Tag,
  type Tlv,
  utf8String,
  x509Time,
} from './der.js';
import { bytesToIp, ipToBytes } from './ip-bytes.js';

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
}

export interface ServingCertificate {
  certPem: string;
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
}

export interface CertificateAuthorityOptions {
  commonName: string;
  now: Date;
  validityMs: number;
}

export interface ServingCertificateOptions {
  commonName: string;
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  now: Date;
  /** Capped at the CA's own expiry: a certificate cannot outlive its issuer and still verify. */
  validityMs: number;
}

/** notBefore is this far in the past, so a peer whose clock is behind ours still accepts a new certificate. */
export const CLOCK_SKEW_MS = 60 * 60 * 1000;

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

const KeyUsage = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

export function createCertificateAuthority(options: CertificateAuthorityOptions): CertificateAuthority {
  const { commonName, now, validityMs } = options;
  const validity = validityWindow(now, validityMs);
  const keys = newKeyPair();
  const subject = distinguishedName(commonName);
  const spki = keys.publicKey.export({ type: 'spki', format: 'der' });
  const tbs = tbsCertificate({
    issuer: subject,
    subject,
    ...validity,
    spki,
    extensions: [
      // pathLen 0: this CA signs the webhook's serving certificates and nothing that signs further.
      extension(OID.basicConstraints, true, sequence(boolean(true), integer(0))),
      extension(OID.keyUsage, true, namedBits([KeyUsage.keyCertSign, KeyUsage.cRLSign])),
      extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(spki))),
    ],
  });
  return {
    certPem: signedCertificatePem(tbs, keys.privateKey),
    keyPem: privateKeyPem(keys.privateKey),
    ...validity,
  };
}

export function createServingCertificate(
  ca: Pick<CertificateAuthority, 'certPem' | 'keyPem'>,
  options: ServingCertificateOptions,
): ServingCertificate {
  const { commonName, dnsNames, ipAddresses, now, validityMs } = options;
  checkSubjectAltNames(dnsNames, ipAddresses);
  const caCert = parseCertificate(pemToDer(ca.certPem, 'CERTIFICATE'));
  const caKey = createPrivateKey(ca.keyPem);
  const validity = validityWindow(now, validityMs);
  if (validity.notAfter > caCert.notAfter) validity.notAfter = caCert.notAfter;
  if (validity.notAfter <= now) throw new Error(`the CA expired on ${caCert.notAfter.toISOString()}`);
  const keys = newKeyPair();
  const spki = keys.publicKey.export({ type: 'spki', format: 'der' });
  const names = [
    ...dnsNames.map((name) => implicit(2, Buffer.from(validDnsName(name), 'ascii'))),
    ...ipAddresses.map((ip) => implicit(7, ipToBytes(ip))),
  ];
  const authorityKeyId = caCert.extensions.get(OID.subjectKeyIdentifier)
    ? readTlv(caCert.extensions.get(OID.subjectKeyIdentifier)!.value).content
    : keyIdentifier(caCert.spki);
  const tbs = tbsCertificate({
    issuer: caCert.subject,
    subject: distinguishedName(commonName),
    ...validity,
    spki,
    extensions: [
      extension(OID.basicConstraints, true, sequence()),
      extension(OID.keyUsage, true, namedBits([KeyUsage.digitalSignature])),
      extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
      extension(OID.subjectAltName, false, sequence(...names)),
      extension(OID.authorityKeyIdentifier, false, sequence(implicit(0, authorityKeyId))),
      extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(spki))),
    ],
  });
  return { certPem: signedCertificatePem(tbs, caKey), keyPem: privateKeyPem(keys.privateKey), ...validity };
}

/** The DNS names and IP addresses in a certificate's subjectAltName extension. */
export function readSubjectAltNames(certPem: string): { dnsNames: string[]; ipAddresses: string[] } {
  const cert = parseCertificate(pemToDer(certPem, 'CERTIFICATE'));
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const san = cert.extensions.get(OID.subjectAltName);
  if (san) {
    for (const name of readChildren(readTlv(san.value).content)) {
      if (name.tag === 0x82) dnsNames.push(name.content.toString('ascii'));
      if (name.tag === 0x87) ipAddresses.push(bytesToIp(name.content));
    }
  }
  return { dnsNames, ipAddresses };
}

/** Every PEM block with this label in `text`, in order (a CA bundle holds several). */
export function pemBlocks(text: string, label = 'CERTIFICATE'): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[A-Za-z0-9+/=\\s]+?-----END ${label}-----`, 'g');
  return (text.match(re) ?? []).map((block) => `${block}\n`);
}

export function toPem(label: string, der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function pemToDer(pem: string, label: string): Buffer {
  const [block] = pemBlocks(pem, label);
  if (!block) throw new Error(`no ${label} PEM block found`);
  return Buffer.from(block.replace(/-----(BEGIN|END) [^-]+-----|\s/g, ''), 'base64');
}

function newKeyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

function validityWindow(now: Date, validityMs: number): { notBefore: Date; notAfter: Date } {
  if (Number.isNaN(now.getTime())) throw new Error('invalid "now"');
  if (!(validityMs > 0)) throw new Error(`certificate validity must be positive, not ${validityMs} ms`);
  // Whole seconds, as the certificate encodes them.
  const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  return { notBefore: second(now.getTime() - CLOCK_SKEW_MS), notAfter: second(now.getTime() + validityMs) };
}

function distinguishedName(commonName: string): Buffer {
  // ub-common-name (RFC 5280 appendix A).
  if (!commonName || [...commonName].length > 64) {
    throw new Error(`a certificate common name needs 1 to 64 characters: "${commonName}"`);
  }
  return sequence(set(sequence(oid(OID.commonName), utf8String(commonName))));
}

/** Throws a one-line error for a DNS name or IP address that cannot go into a certificate. */
export function checkSubjectAltNames(dnsNames: readonly string[], ipAddresses: readonly string[]): void {
  if (dnsNames.length + ipAddresses.length === 0) {
    throw new Error('a serving certificate needs at least one DNS name or IP address');
  }
  for (const name of dnsNames) validDnsName(name);
  for (const ip of ipAddresses) ipToBytes(ip);
}

function validDnsName(name: string): string {
  // Names go into an IA5String: internationalised names must come as their A-label (xn--) form.
  if (!/^(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/.test(name) || name.length > 253) {
    throw new Error(`"${name}" is not a valid DNS name for a certificate`);
  }
  return name;
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
function extension(id: string, critical: boolean, value: Buffer): Buffer {
  // DER leaves a DEFAULT value out, so `critical` appears only when true.
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

/**
 * Key identifier: the leftmost 160 bits of the SHA-256 of the subjectPublicKey bits (RFC 7093
 * section 2, method 1), the same for a key wherever it appears.
 */
function keyIdentifier(spki: Buffer): Buffer {
  const [, subjectPublicKey] = readChildren(readTlv(spki).content);
  if (subjectPublicKey?.tag !== Tag.bitString) throw new Error('malformed SubjectPublicKeyInfo');
  return createHash('sha256').update(subjectPublicKey.content.subarray(1)).digest().subarray(0, 20);
}

interface TbsFields {
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  spki: Buffer;
  extensions: Buffer[];
}

const ecdsaWithSha256 = () => sequence(oid(OID.ecdsaWithSha256));

function tbsCertificate(fields: TbsFields): Buffer {
  // A positive 16-byte serial: the top bit cleared (not negative) and the next one set (no leading zero byte).
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  return sequence(
    explicit(0, integer(2)), // v3
    integer(serial),
    ecdsaWithSha256(),
    fields.issuer,
    sequence(x509Time(fields.notBefore), x509Time(fields.notAfter)),
    fields.subject,
    fields.spki,
    explicit(3, sequence(...fields.extensions)),
  );
}

function signedCertificatePem(tbs: Buffer, key: KeyObject): string {
  // For an EC key node:crypto returns the DER ECDSA-Sig-Value X.509 wants (RFC 5758 3.2).
  const signature = sign('sha256', tbs, key);
  return toPem('CERTIFICATE', sequence(tbs, ecdsaWithSha256(), bitString(signature)));
}

interface ParsedCertificate {
  subject: Buffer;
  spki: Buffer;
  notAfter: Date;
  extensions: Map<string, { critical: boolean; value: Buffer }>;
}

/** Reads what issuing from a CA needs: its exact subject bytes, key, expiry and extensions. */
function parseCertificate(der: Buffer): ParsedCertificate {
  const certificate = readTlv(der);
  const [tbs] = readChildren(certificate.content);
  if (certificate.tag !== Tag.sequence || tbs?.tag !== Tag.sequence) throw new Error('malformed certificate');
  const fields = readChildren(tbs.content);
  const at = fields[0]?.tag === 0xa0 ? 1 : 0;
  const [validity, subject, spki] = [fields[at + 3], fields[at + 4], fields[at + 5]];
  if (!validity || !subject || !spki) throw new Error('malformed certificate: TBSCertificate too short');
  const notAfter = readChildren(validity.content)[1];
  if (!notAfter) throw new Error('malformed certificate: no notAfter');
  const extensions = new Map<string, { critical: boolean; value: Buffer }>();
  const wrapper = fields.find((f) => f.tag === 0xa3);
  if (wrapper) {
    for (const ext of readChildren(readTlv(wrapper.content).content)) {
      const [id, second, third] = readChildren(ext.content);
      if (id?.tag !== Tag.oid || !second) throw new Error('malformed certificate extension');
      const critical = second.tag === Tag.boolean && second.content[0] !== 0;
      extensions.set(decodeOid(id.content), { critical, value: (third ?? second).content });
    }
  }
  return { subject: subject.encoded, spki: spki.encoded, notAfter: decodeTime(notAfter), extensions };
}

function decodeTime(t: Tlv): Date {
  const text = t.content.toString('ascii');
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m || (t.tag === Tag.utcTime) !== (m[1]!.length === 2)) throw new Error(`malformed time "${text}"`);
  const yy = Number(m[1]);
  const year = t.tag === Tag.utcTime ? (yy < 50 ? 2000 + yy : 1900 + yy) : yy;
  const [month, day, hour, minute, second] = m.slice(2).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}
