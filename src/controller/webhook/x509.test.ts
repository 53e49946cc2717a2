import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CLOCK_SKEW_MS,
  createCertificateAuthority,
  createServingCertificate,
  pemBlocks,
  readSubjectAltNames,
} from './x509.js';

const HOUR = 3_600_000;
const YEAR = 365 * 24 * HOUR;
const now = new Date('2026-05-01T12:00:00.750Z');
const dnsNames = ['portico-webhook.portico-system.svc', 'portico-webhook.portico-system.svc.cluster.local'];
const ipAddresses = ['127.0.0.1', '2001:db8::7'];

const ca = createCertificateAuthority({ commonName: 'portico-webhook-ca', now, validityMs: 10 * YEAR });
const serving = createServingCertificate(ca, {
  commonName: dnsNames[0]!,
  dnsNames,
  ipAddresses,
  now,
  validityMs: YEAR,
});
const caX509 = new X509Certificate(ca.certPem);
const servingX509 = new X509Certificate(serving.certPem);

describe('certificate authority', () => {
  it('is a self-signed CA certificate for its common name', () => {
    assert.equal(caX509.subject, 'CN=portico-webhook-ca');
    assert.equal(caX509.issuer, 'CN=portico-webhook-ca');
    assert.equal(caX509.ca, true);
    assert.ok(caX509.verify(caX509.publicKey), 'signed with its own key');
    assert.ok(caX509.checkPrivateKey(createPrivateKey(ca.keyPem)));
    assert.equal(caX509.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  it('is valid from an hour before now (clock skew) until now + validity, in whole seconds', () => {
    assert.equal(new Date(caX509.validFrom).toISOString(), '2026-05-01T11:00:00.000Z');
    assert.equal(new Date(caX509.validTo).toISOString(), '2036-04-28T12:00:00.000Z');
    assert.deepEqual(ca.notBefore, new Date(caX509.validFrom));
    assert.deepEqual(ca.notAfter, new Date(caX509.validTo));
    assert.equal(CLOCK_SKEW_MS, HOUR);
  });

  it('has a random positive 16-byte serial', () => {
    const other = createCertificateAuthority({ commonName: 'x', now, validityMs: YEAR });
    const serial = caX509.serialNumber;
    assert.match(serial, /^[4-7][0-9A-F]{31}$/);
    assert.notEqual(serial, new X509Certificate(other.certPem).serialNumber);
  });
});

describe('serving certificate', () => {
  it('is issued by the CA for the DNS names and IP addresses', () => {
    assert.equal(servingX509.subject, `CN=${dnsNames[0]}`);
    assert.equal(servingX509.issuer, 'CN=portico-webhook-ca');
    assert.equal(servingX509.ca, false);
    assert.ok(servingX509.verify(caX509.publicKey), 'signed by the CA key');
    assert.ok(servingX509.checkIssued(caX509));
    assert.ok(servingX509.checkPrivateKey(createPrivateKey(serving.keyPem)));
    assert.equal(
      servingX509.subjectAltName,
      `DNS:${dnsNames[0]}, DNS:${dnsNames[1]}, IP Address:127.0.0.1, IP Address:2001:DB8:0:0:0:0:0:7`,
    );
    assert.deepEqual(readSubjectAltNames(serving.certPem), { dnsNames, ipAddresses });
    assert.ok(servingX509.checkHost(dnsNames[1]!));
    assert.ok(servingX509.checkIP('127.0.0.1'));
    assert.equal(servingX509.checkHost('other.example'), undefined);
  });

  it('is valid for its own validity, but never beyond the CA', () => {
    assert.equal(new Date(servingX509.validFrom).toISOString(), '2026-05-01T11:00:00.000Z');
    assert.equal(new Date(servingX509.validTo).toISOString(), '2027-05-01T12:00:00.000Z');
    const longer = createServingCertificate(ca, { ...servingOptions(), validityMs: 20 * YEAR });
    assert.deepEqual(longer.notAfter, ca.notAfter);
    const late = new Date(ca.notAfter.getTime() + 1000);
    assert.throws(() => createServingCertificate(ca, { ...servingOptions(), now: late }), /CA expired/);
  });

  it('uses GeneralizedTime for dates from 2050', () => {
    const longCa = createCertificateAuthority({ commonName: 'long', now, validityMs: 30 * YEAR });
    assert.equal(new Date(new X509Certificate(longCa.certPem).validTo).getUTCFullYear(), 2056);
  });

  it('refuses bad input with a one-line reason', () => {
    assert.throws(
      () => createServingCertificate(ca, { ...servingOptions(), dnsNames: [], ipAddresses: [] }),
      /at least one DNS name or IP address/,
    );
    assert.throws(
      () => createServingCertificate(ca, { ...servingOptions(), dnsNames: ['bad name'] }),
      /"bad name" is not a valid DNS name/,
    );
    assert.throws(
      () => createServingCertificate(ca, { ...servingOptions(), dnsNames: ['bücher.example'] }),
      /not a valid DNS name/,
    );
    assert.throws(
      () => createServingCertificate(ca, { ...servingOptions(), ipAddresses: ['300.1.1.1'] }),
      /"300.1.1.1" is not an IPv4 or IPv6 address/,
    );
    assert.throws(
      () => createServingCertificate(ca, { ...servingOptions(), validityMs: 0 }),
      /validity must be positive/,
    );
    assert.throws(
      () => createCertificateAuthority({ commonName: 'x'.repeat(65), now, validityMs: YEAR }),
      /1 to 64 characters/,
    );
  });

  it('splits a PEM bundle into its certificates', () => {
    const blocks = pemBlocks(`junk\n${ca.certPem}${serving.certPem}`);
    assert.equal(blocks.length, 2);
    assert.equal(new X509Certificate(blocks[1]!).serialNumber, servingX509.serialNumber);
  });
});

describe('certificates checked by OpenSSL', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'portico-x509-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('parses and verifies strictly as a TLS server certificate', () => {
    const real = freshPair();
    writeFileSync(join(dir, 'ca.pem'), real.ca.certPem);
    writeFileSync(join(dir, 'cert.pem'), real.serving.certPem);
    const text = execFileSync('openssl', ['x509', '-noout', '-text', '-in', join(dir, 'cert.pem')], {
      encoding: 'utf8',
    });
    assert.match(text, /Version: 3 \(0x2\)/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\n/);
    assert.match(text, /X509v3 Extended Key Usage:\s*\n\s+TLS Web Server Authentication/);
    assert.match(text, /DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
    assert.match(text, /X509v3 Authority Key Identifier/);
    const caText = execFileSync('openssl', ['x509', '-noout', '-text', '-in', join(dir, 'ca.pem')], {
      encoding: 'utf8',
    });
    assert.match(caText, /X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(caText, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    const ski = /Subject Key Identifier:\s*\n\s+([0-9A-F:]+)/.exec(caText)?.[1];
    assert.ok(ski && text.includes(ski), "the serving certificate's AKI is the CA's SKI");
    const verified = execFileSync(
      'openssl',
      [
        'verify',
        '-x509_strict',
        '-purpose',
        'sslserver',
        '-CAfile',
        join(dir, 'ca.pem'),
        join(dir, 'cert.pem'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(verified.trim(), `${join(dir, 'cert.pem')}: OK`);
  });

  it('fails verification against another CA', () => {
    const other = createCertificateAuthority({
      commonName: 'portico-webhook-ca',
      now: new Date(),
      validityMs: YEAR,
    });
    writeFileSync(join(dir, 'other.pem'), other.certPem);
    writeFileSync(join(dir, 'cert2.pem'), freshPair().serving.certPem);
    assert.throws(
      () =>
        execFileSync('openssl', ['verify', '-CAfile', join(dir, 'other.pem'), join(dir, 'cert2.pem')], {
          stdio: 'pipe',
        }),
      /verification failed/,
    );
  });
});

describe('TLS handshake with the certificates', () => {
  const pair = freshPair();
  let server: https.Server;
  let port = 0;
  before(async () => {
    server = https.createServer({ cert: pair.serving.certPem, key: pair.serving.keyPem }, (_req, res) => {
      res.end('hello');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const get = (options: https.RequestOptions) =>
    new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, path: '/', agent: false, ...options }, (res) => {
          let body = '';
          res.on('data', (chunk) => {
            body += chunk;
          });
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });

  it('succeeds for a DNS name in the certificate, trusting only the CA', async () => {
    assert.equal(await get({ ca: pair.ca.certPem, servername: 'localhost' }), 'hello');
  });

  it('succeeds for the IP address in the certificate', async () => {
    // No servername: the client checks the IP it dialled against the iPAddress names.
    assert.equal(await get({ ca: pair.ca.certPem }), 'hello');
  });

  it('fails for a name the certificate does not carry', async () => {
    await assert.rejects(get({ ca: pair.ca.certPem, servername: 'elsewhere.example' }), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });

  it('fails with a certificate error against another CA', async () => {
    const other = createCertificateAuthority({
      commonName: 'portico-webhook-ca',
      now: new Date(),
      validityMs: YEAR,
    });
    await assert.rejects(get({ ca: other.certPem, servername: 'localhost' }), (err: NodeJS.ErrnoException) =>
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_SIGNATURE_FAILURE'].includes(err.code ?? ''),
    );
  });
});

function servingOptions() {
  return { commonName: 'portico-webhook', dnsNames, ipAddresses, now, validityMs: YEAR };
}

/** A CA and serving certificate valid now, for localhost, 127.0.0.1 and ::1. */
function freshPair() {
  const at = new Date();
  const authority = createCertificateAuthority({ commonName: 'portico-test-ca', now: at, validityMs: YEAR });
  const cert = createServingCertificate(authority, {
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
    now: at,
    validityMs: HOUR,
  });
  return { ca: authority, serving: cert };
}
