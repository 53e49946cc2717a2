import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  type CertificatePlan,
  type CertificatePolicy,
  issueCertificates,
  planCertificates,
  readServingMaterial,
  renewalTime,
  type StoredCertificates,
} from './cert-plan.js';
import { CLOCK_SKEW_MS, createCertificateAuthority, createServingCertificate, pemBlocks } from './x509.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const t0 = new Date('2026-03-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

const policy: CertificatePolicy = {
  dnsNames: ['portico-webhook.portico-system.svc'],
  ipAddresses: ['127.0.0.1', '::1'],
  commonName: 'portico-webhook.portico-system.svc',
  caCommonName: 'portico-webhook-ca',
  caValidityMs: 30 * DAY,
  certValidityMs: 3 * DAY,
  renewFraction: 1 / 3,
};

function issued(plan: CertificatePlan, now: Date) {
  assert.equal(plan.action, 'issue', 'expected an issue plan');
  if (plan.action !== 'issue') throw new Error('unreachable');
  return issueCertificates(plan, policy, now);
}

const fresh = () => issued(planCertificates(undefined, policy, t0), t0);
const serial = (pem: string) => new X509Certificate(pem).serialNumber;

describe('planning the webhook certificates', () => {
  it('issues a CA and a serving certificate when there is no Secret', () => {
    const plan = planCertificates(undefined, policy, t0);
    assert.deepEqual(plan.action === 'issue' && plan.reasons, ['the Secret does not exist']);
    const { stored, material, newCa } = issued(plan, t0);
    assert.equal(newCa, true);
    const ca = new X509Certificate(stored.caCert);
    const cert = new X509Certificate(stored.tlsCert);
    assert.equal(ca.subject, `CN=portico-webhook-ca@${t0.getTime() / 1000}`);
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey));
    assert.deepEqual(material, {
      certPem: stored.tlsCert,
      keyPem: stored.tlsKey,
      caBundlePem: stored.caCert,
      notAfter: at(3 * DAY),
    });
  });

  it('keeps what it issued until a third of the serving lifetime remains, then reissues from the same CA', () => {
    const first = fresh();
    // Lifetime = validity + the hour of clock skew before t0.
    const renewAt = at(3 * DAY - (3 * DAY + CLOCK_SKEW_MS) / 3);
    const kept = planCertificates(first.stored, policy, at(HOUR));
    assert.equal(kept.action, 'keep');
    assert.deepEqual(kept.action === 'keep' && kept.renewAt, renewAt);
    assert.equal(planCertificates(first.stored, policy, new Date(renewAt.getTime() - 1)).action, 'keep');

    const due = planCertificates(first.stored, policy, renewAt);
    assert.deepEqual(due.action === 'issue' && due.reasons, [
      `tls.crt expires on ${at(3 * DAY).toISOString()}`,
    ]);
    const second = issued(due, renewAt);
    assert.equal(second.newCa, false);
    assert.equal(second.stored.caCert, first.stored.caCert, 'same CA, same bundle');
    assert.equal(second.stored.caKey, first.stored.caKey);
    assert.notEqual(serial(second.stored.tlsCert), serial(first.stored.tlsCert));
    assert.equal(planCertificates(second.stored, policy, renewAt).action, 'keep');
  });

  it('reissues the serving certificate for other names, comparing IPs by value and DNS names without case', () => {
    const { stored } = fresh();
    const same = {
      ...policy,
      dnsNames: ['Portico-Webhook.portico-system.svc'],
      ipAddresses: ['0:0::1', '127.0.0.1'],
    };
    assert.equal(planCertificates(stored, same, t0).action, 'keep');
    const more = {
      ...policy,
      dnsNames: [...policy.dnsNames, 'portico-webhook.portico-system.svc.cluster.local'],
    };
    const plan = planCertificates(stored, more, t0);
    assert.deepEqual(plan.action === 'issue' && plan.reasons, [
      'tls.crt is for portico-webhook.portico-system.svc, 127.0.0.1, ::1, not ' +
        'portico-webhook.portico-system.svc, portico-webhook.portico-system.svc.cluster.local, 127.0.0.1, ::1',
    ]);
    assert.ok(plan.action === 'issue' && plan.ca, 'the CA is kept');
    const fewer = planCertificates(stored, { ...policy, ipAddresses: ['127.0.0.1'] }, t0);
    assert.equal(fewer.action, 'issue');
  });

  it('reissues a serving certificate that is broken, mismatched or from another CA', () => {
    const { stored } = fresh();
    const other = fresh().stored;
    const cases: [StoredCertificates, string][] = [
      [{ ...stored, tlsCert: undefined }, 'tls.crt is missing'],
      [{ ...stored, tlsKey: '' }, 'tls.key is missing'],
      [{ ...stored, tlsCert: 'not a certificate' }, 'tls.crt does not hold a certificate'],
      [
        { ...stored, tlsKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' },
        'tls.key does not hold a private key',
      ],
      [{ ...stored, tlsKey: other.tlsKey }, 'tls.key does not match tls.crt'],
      [
        { ...stored, tlsCert: other.tlsCert, tlsKey: other.tlsKey },
        'tls.crt was not issued by the CA in ca.crt',
      ],
    ];
    for (const [broken, reason] of cases) {
      const plan = planCertificates(broken, policy, t0);
      assert.deepEqual(plan.action === 'issue' && plan.reasons, [reason]);
      assert.ok(plan.action === 'issue' && plan.ca, `${reason}: the CA is kept`);
    }
  });

  it('makes a new CA when the old one is broken, and keeps trusting the old one while it is valid', () => {
    const { stored } = fresh();
    const cases: [StoredCertificates, string, number][] = [
      [{ ...stored, caKey: undefined }, 'ca.key is missing', 1],
      [{ ...stored, caKey: fresh().stored.caKey }, 'ca.key does not match ca.crt', 1],
      [{ ...stored, caCert: 'garbage' }, 'ca.crt holds no certificate', 0],
      [{ ...stored, caCert: stored.tlsCert, caKey: stored.tlsKey }, 'ca.crt is not a CA certificate', 0],
    ];
    for (const [broken, reason, trusted] of cases) {
      const plan = planCertificates(broken, policy, t0);
      assert.deepEqual(plan.action === 'issue' && plan.reasons, [reason]);
      assert.ok(plan.action === 'issue' && !plan.ca, `${reason}: a new CA`);
      const next = issued(plan, t0);
      assert.equal(next.newCa, true);
      assert.equal(pemBlocks(next.stored.caCert).length, 1 + trusted, reason);
    }
  });

  it('rotates the CA when it nears expiry, and the bundle trusts certificates from both CAs', () => {
    const first = fresh();
    const caRenewAt = renewalTime(at(-CLOCK_SKEW_MS), at(30 * DAY), 1 / 3);
    // Renew the serving certificate along the way so only the CA is due.
    let stored = first.stored;
    let now = t0;
    while (now < caRenewAt) {
      const plan = planCertificates(stored, policy, now);
      if (plan.action === 'issue') stored = issued(plan, now).stored;
      now = new Date(now.getTime() + DAY);
    }
    assert.equal(stored.caCert, first.stored.caCert, 'the CA lasted until its renewal point');
    const plan = planCertificates(stored, policy, caRenewAt);
    assert.deepEqual(plan.action === 'issue' && plan.reasons, [
      `the CA expires on ${at(30 * DAY).toISOString()}`,
    ]);
    const rotated = issued(plan, caRenewAt);
    assert.equal(rotated.newCa, true);
    const [newCa, oldCa] = pemBlocks(rotated.material.caBundlePem).map((pem) => new X509Certificate(pem));
    assert.ok(newCa && oldCa);
    assert.equal(oldCa.serialNumber, serial(first.stored.caCert));
    const served = new X509Certificate(rotated.stored.tlsCert);
    assert.ok(served.verify(newCa.publicKey), 'the new serving certificate is from the new CA');
    assert.ok(new X509Certificate(stored.tlsCert).verify(oldCa.publicKey), 'the old one still verifies');
    assert.equal(planCertificates(rotated.stored, policy, caRenewAt).action, 'keep');

    // Once the old CA has expired, the next issue drops it from the bundle.
    const later = at(31 * DAY);
    let latest = rotated.stored;
    const plan2 = planCertificates(latest, { ...policy, dnsNames: ['renamed.example'] }, later);
    assert.equal(plan2.action, 'issue');
    if (plan2.action === 'issue') latest = issueCertificates(plan2, policy, later).stored;
    assert.equal(pemBlocks(latest.caCert).length, 1);
  });

  it('starts over when the CA is not valid yet (a clock far behind the writer)', () => {
    const ahead = issued(planCertificates(undefined, policy, at(2 * HOUR)), at(2 * HOUR));
    const plan = planCertificates(ahead.stored, policy, t0);
    assert.deepEqual(plan.action === 'issue' && plan.reasons, [
      `the CA is not valid until ${at(HOUR).toISOString()}`,
    ]);
  });

  it('caps a serving certificate at the expiry of its CA', () => {
    const ca = createCertificateAuthority({ commonName: 'short', now: t0, validityMs: DAY });
    const cert = createServingCertificate(ca, { ...policy, now: t0, validityMs: 10 * DAY });
    assert.deepEqual(cert.notAfter, ca.notAfter);
  });
});

describe('reading the serving certificate on a replica that does not write', () => {
  it('returns the certificate, key and CA bundle when they are valid now', () => {
    const { stored } = fresh();
    const material = readServingMaterial(stored, at(HOUR));
    assert.equal(material.certPem, stored.tlsCert);
    assert.equal(material.caBundlePem, stored.caCert);
    assert.deepEqual(material.notAfter, at(3 * DAY));
  });

  it('says what is wrong otherwise', () => {
    const { stored } = fresh();
    assert.throws(() => readServingMaterial(undefined, t0), /tls.crt is missing/);
    assert.throws(
      () => readServingMaterial({ ...stored, tlsKey: fresh().stored.tlsKey }, t0),
      /does not match/,
    );
    assert.throws(() => readServingMaterial(stored, at(3 * DAY)), /tls.crt is valid from .* to .*, not now/);
  });
});
