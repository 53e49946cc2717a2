/**
 * The webhook's self-managed certificates against a real kube-apiserver: the cert manager stores
 * them in a Secret and sets the caBundle, and the API server really calls our HTTPS server,
 * trusting it only through that caBundle.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:tls';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { WebhookCertManager } from '../../src/controller/webhook/cert-manager.js';
import { WebhookServer } from '../../src/controller/webhook/server.js';
import { pemBlocks, readSubjectAltNames } from '../../src/controller/webhook/x509.js';
import { ApiError, isNotFound } from '../../src/k8s/errors.js';
import { Resources } from '../../src/k8s/resources.js';
import type { KubeObject, Secret, ValidatingWebhookConfiguration } from '../../src/k8s/types.js';
import { type Clock, realClock } from '../../src/util/clock.js';
import { useControlPlane } from '../support/fixture.js';
import { createTestNamespace, uniqueName } from '../support/kube.js';
import { waitFor } from '../support/wait.js';

const HOUR = 3_600_000;
const POLL_MS = 500;
const SECRET = 'portico-webhook-cert';
const WEBHOOK = 'deny.webhook-test.portico.dev';
const PATH = '/validate-test';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

describe('webhook certificates against a real kube-apiserver', () => {
  const cp = useControlPlane({ controllerManager: false });

  describe('a Fail-policy webhook served with certificates the controller manages itself', () => {
    const logs: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(line) });
    // Wall time as the leader sees it; the tests move it forward to bring expiry near.
    let skewMs = 0;
    const leaderClock: Clock = { ...realClock, wallNow: () => Date.now() + skewMs };
    const configName = uniqueName('portico-test-webhook');
    const server = new WebhookServer({ host: '127.0.0.1', port: 0, logger, registry: new Registry() });
    const reviewed: string[] = [];
    let ns = '';
    let port = 0;
    let leader: WebhookCertManager;
    let replica: WebhookCertManager;
    const managers: WebhookCertManager[] = [];

    server.route(PATH, (req) => {
      const cm = req.object as ConfigMap;
      reviewed.push(`${req.namespace}/${cm.metadata.name}`);
      if (cm.data?.deny === 'yes') {
        return {
          allowed: false,
          message: `ConfigMap ${cm.metadata.name} asks to be denied (data.deny is "yes")`,
        };
      }
      return { allowed: true };
    });

    const manager = (options: Partial<ConstructorParameters<typeof WebhookCertManager>[0]> = {}) => {
      const m = new WebhookCertManager({
        client: cp.admin,
        namespace: ns,
        secretName: SECRET,
        webhookConfigurationName: configName,
        dnsNames: [`portico-webhook.${ns}.svc`, `portico-webhook.${ns}.svc.cluster.local`],
        ipAddresses: ['127.0.0.1'],
        logger: logger.child({ manager: managers.length }),
        ...options,
      });
      managers.push(m);
      m.start();
      return m;
    };

    const secrets = () => cp.admin.resource<Secret>(Resources.secrets);
    const configs = () =>
      cp.admin.resource<ValidatingWebhookConfiguration>(Resources.validatingWebhookConfigurations);
    const stored = async () => {
      const secret = await secrets().get(SECRET, ns);
      const field = (key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
      return {
        secret,
        ca: field('ca.crt'),
        caKey: field('ca.key'),
        cert: field('tls.crt'),
        key: field('tls.key'),
      };
    };
    const caBundles = async () =>
      (await configs().get(configName)).webhooks?.map((w) =>
        Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString('utf8'),
      ) ?? [];
    const waitForCaBundle = (what: string, timeoutMs = 10_000) =>
      waitFor(
        what,
        async (seen) => {
          const { ca } = await stored();
          const bundles = await caBundles();
          seen(bundles.map((b) => `${pemBlocks(b).length} certificates`));
          return bundles.length > 0 && bundles.every((b) => b === ca) ? ca : undefined;
        },
        { timeoutMs, intervalMs: 50 },
      );
    const emptyCaBundle = async () => {
      const config = await configs().get(configName);
      const webhooks = config.webhooks?.map((w) => ({
        ...w,
        clientConfig: { ...w.clientConfig, caBundle: '' },
      }));
      await configs().update({ ...config, webhooks });
      assert.deepEqual(await caBundles(), ['']);
    };
    const configMaps = () => cp.admin.resource<ConfigMap>(Resources.configMaps);
    const createConfigMap = (name: string, data: Record<string, string>, namespace = ns) =>
      configMaps().create({ metadata: { name, namespace }, data });
    /** Waits until an allowed ConfigMap goes through the webhook: the API server trusts our certificate. */
    const waitForAdmission = (what: string) =>
      waitFor(what, async (seen) => {
        const name = uniqueName('allowed');
        try {
          await createConfigMap(name, { deny: 'no' });
        } catch (err) {
          seen(err instanceof Error ? err.message : err);
          return false;
        }
        return reviewed.includes(`${ns}/${name}`);
      });
    const assertDenied = async () => {
      const name = uniqueName('denied');
      await assert.rejects(createConfigMap(name, { deny: 'yes' }), (err: unknown) => {
        assert.ok(err instanceof ApiError, String(err));
        assert.equal(err.code, 403);
        assert.equal(
          err.message,
          `admission webhook "${WEBHOOK}" denied the request: ConfigMap ${name} asks to be denied (data.deny is "yes")`,
        );
        return true;
      });
    };
    /** The certificate a fresh TLS connection to our server gets, verified against `ca` for 127.0.0.1. */
    const presented = (ca: string) =>
      new Promise<X509Certificate>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, ca }, () => {
          const cert = socket.getPeerX509Certificate();
          socket.end();
          if (cert) resolve(cert);
          else reject(new Error('no peer certificate'));
        });
        socket.on('error', reject);
      });
    const run = (body: () => Promise<void>) =>
      cp.run(async () => {
        try {
          await body();
        } catch (err) {
          process.stderr.write(`\n--- webhook logs (last lines) ---\n${logs.slice(-40).join('')}\n`);
          throw err;
        }
      });

    before(async () => {
      ns = await createTestNamespace(cp.admin, 'webhook');
      // The leader polls fast and does not watch, so the poll is what the tests below exercise;
      // the replica only watches (its poll is far beyond any test's patience).
      leader = manager({ clock: leaderClock, pollIntervalMs: POLL_MS, watch: false, certValidityMs: HOUR });
      replica = manager({ writer: false, pollIntervalMs: 10 * 60_000 });
      replica.onChange((m) => server.setCertificate(m.certPem, m.keyPem));
      await replica.ready();
      port = ((await server.listen()) as AddressInfo).port;
    });

    after(async () => {
      // First, so a failed test cannot leave a Fail-policy webhook pointing at a closed port.
      await configs()
        .delete(configName)
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      await Promise.all(managers.map((m) => m.stop()));
      await server.close();
    });

    it(
      'stores a CA and a serving certificate for the service names and 127.0.0.1 in a kubernetes.io/tls Secret',
      run(async () => {
        const { secret, ca, caKey, cert, key } = await stored();
        assert.equal(secret.type, 'kubernetes.io/tls');
        assert.deepEqual(Object.keys(secret.data ?? {}).sort(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
        assert.match(caKey, /^-----BEGIN PRIVATE KEY-----/);
        assert.match(key, /^-----BEGIN PRIVATE KEY-----/);
        const caX509 = new X509Certificate(ca);
        const certX509 = new X509Certificate(cert);
        assert.ok(caX509.ca);
        assert.match(caX509.subject, /^CN=portico-webhook-ca@\d+$/);
        assert.ok(certX509.checkIssued(caX509) && certX509.verify(caX509.publicKey));
        assert.deepEqual(readSubjectAltNames(cert), {
          dnsNames: [`portico-webhook.${ns}.svc`, `portico-webhook.${ns}.svc.cluster.local`],
          ipAddresses: ['127.0.0.1'],
        });
        const lifetime = Date.parse(certX509.validTo) - Date.now();
        assert.ok(lifetime > 0.9 * HOUR && lifetime <= HOUR, `valid for the hour asked, not ${lifetime} ms`);
        assert.equal((await leader.ready()).certPem, cert, 'the leader serves what it stored');
        assert.equal(replica.current?.certPem, cert, 'the replica serves what the leader stored');
        assert.equal((await presented(ca)).fingerprint256, certX509.fingerprint256);
      }),
    );

    it(
      'sets the caBundle of a webhook configuration installed after it started',
      run(async () => {
        const selector = { matchLabels: { 'kubernetes.io/metadata.name': ns } };
        const created = performance.now();
        await configs().create({
          metadata: { name: configName },
          webhooks: [
            {
              name: WEBHOOK,
              clientConfig: { url: `https://127.0.0.1:${port}${PATH}` },
              rules: [
                {
                  operations: ['CREATE'],
                  apiGroups: [''],
                  apiVersions: ['v1'],
                  resources: ['configmaps'],
                  scope: 'Namespaced',
                },
              ],
              namespaceSelector: selector,
              failurePolicy: 'Fail',
              sideEffects: 'None',
              admissionReviewVersions: ['v1'],
              timeoutSeconds: 5,
            },
          ],
        });
        const ca = await waitForCaBundle('the caBundle to hold the CA from the Secret');
        const ms = performance.now() - created;
        assert.ok(
          ms < 4 * POLL_MS,
          `patched within the poll interval (${POLL_MS} ms), took ${Math.round(ms)} ms`,
        );
        assert.equal(pemBlocks(ca).length, 1);
        process.stderr.write(`# caBundle set ${Math.round(ms)} ms after the configuration was created\n`);
      }),
    );

    it(
      'is called by the API server over TLS: a ConfigMap it denies fails with its message, others are created',
      run(async () => {
        await waitForAdmission('the API server to call the webhook and trust its certificate');
        await assertDenied();
        const allowed = await createConfigMap('plain', { colour: 'blue' });
        assert.equal(allowed.metadata.name, 'plain');
        assert.ok(reviewed.includes(`${ns}/plain`), 'the webhook saw the allowed ConfigMap');
        // Outside the selected namespace the webhook is not called at all.
        const elsewhere = uniqueName('portico-test-elsewhere');
        await createConfigMap(elsewhere, { deny: 'yes' }, 'default');
        assert.ok(!reviewed.some((r) => r.endsWith(`/${elsewhere}`)));
        await configMaps().delete(elsewhere, 'default');
      }),
    );

    it(
      'puts the caBundle back within the poll interval after `kubectl apply` empties it',
      run(async () => {
        await emptyCaBundle();
        const emptied = performance.now();
        await waitForCaBundle('the leader to set the caBundle again');
        const ms = performance.now() - emptied;
        assert.ok(
          ms < 4 * POLL_MS,
          `re-patched within the poll interval (${POLL_MS} ms), took ${Math.round(ms)} ms`,
        );
        process.stderr.write(`# caBundle restored by the poll ${Math.round(ms)} ms after it was emptied\n`);
        await waitForAdmission('admission to work again');
        await assertDenied();
      }),
    );

    it(
      'a second manager started on the existing Secret reuses its CA and certificate, and re-patches on a watch event',
      run(async () => {
        const before = await stored();
        const registry = new Registry();
        const second = manager({ registry, pollIntervalMs: 10 * 60_000 });
        const material = await second.ready();
        assert.equal(material.certPem, before.cert);
        assert.equal(material.caBundlePem, before.ca);
        const after = await stored();
        assert.equal(
          after.secret.metadata.resourceVersion,
          before.secret.metadata.resourceVersion,
          'no write',
        );
        assert.doesNotMatch(
          await registry.getSingleMetricAsString('portico_webhook_certificates_issued_total'),
          /certificate=/,
        );

        // The leader steps down; the second manager, which only hears of changes by its watch, takes over.
        leader.setWriter(false);
        try {
          await sleep(2 * POLL_MS); // any round the leader had begun is over
          await emptyCaBundle();
          const emptied = performance.now();
          await waitForCaBundle('the second manager to set the caBundle again');
          const ms = performance.now() - emptied;
          assert.ok(ms < 2_000, `re-patched from the watch event, took ${Math.round(ms)} ms`);
          process.stderr.write(
            `# caBundle restored by the watch ${Math.round(ms)} ms after it was emptied\n`,
          );
          await waitFor('the second manager to count its caBundle update', async () =>
            /portico_webhook_ca_bundle_updates_total 1$/m.test(
              await registry.getSingleMetricAsString('portico_webhook_ca_bundle_updates_total'),
            ),
          );
          await second.stop();
        } finally {
          leader.setWriter(true);
        }
      }),
    );

    it(
      'rotates the serving certificate near expiry from the same CA; every replica and the server switch to it',
      run(async () => {
        const before = await stored();
        const oldCert = new X509Certificate(before.cert);
        // 30 of the certificate's 120 minutes (the hour asked plus an hour of clock skew) remain: below a third.
        skewMs = Date.parse(oldCert.validTo) - Date.now() - 30 * 60_000;
        const rotated = await waitFor('the leader to store a new serving certificate', async () => {
          const now = await stored();
          return now.cert !== before.cert ? now : undefined;
        });
        assert.equal(rotated.ca, before.ca, 'same CA');
        assert.equal(rotated.caKey, before.caKey);
        const newCert = new X509Certificate(rotated.cert);
        assert.notEqual(newCert.serialNumber, oldCert.serialNumber);
        assert.ok(Date.parse(newCert.validFrom) <= Date.now(), 'valid now by the real clock too');
        assert.ok(newCert.checkIssued(new X509Certificate(rotated.ca)));

        await waitFor('the replica to load it', () => replica.current?.certPem === rotated.cert);
        assert.equal(leader.current?.certPem, rotated.cert);
        const served = await presented(rotated.ca);
        assert.equal(served.fingerprint256, newCert.fingerprint256, 'the server hot-swapped its certificate');
        assert.deepEqual(await caBundles(), [rotated.ca], 'the caBundle did not need to change');
        await waitForAdmission('admission after the rotation');
        await assertDenied();
      }),
    );

    it(
      'replaces a broken CA, trusting both CAs in the caBundle until the old one expires',
      run(async () => {
        const before = await stored();
        const { 'ca.key': _dropped, ...data } = before.secret.data ?? {};
        await secrets().update({ ...before.secret, data });
        const rotated = await waitFor('the leader to store a new CA', async () => {
          const now = await stored();
          return now.caKey && now.ca !== before.ca ? now : undefined;
        });
        const [newCa, oldCa] = pemBlocks(rotated.ca);
        assert.ok(newCa && oldCa, 'the bundle holds the new CA and the old one');
        assert.equal(oldCa, before.ca);
        assert.ok(new X509Certificate(rotated.cert).verify(new X509Certificate(newCa).publicKey));
        await waitForCaBundle('the caBundle to hold both CAs');
        await waitFor(
          'the replica to load the certificate from the new CA',
          () => replica.current?.certPem === rotated.cert,
        );
        const served = await presented(newCa);
        assert.equal(served.fingerprint256, new X509Certificate(rotated.cert).fingerprint256);
        // A new caBundle makes the API server build a new client: this handshake is with the new certificate.
        await waitForAdmission('admission with the certificate from the new CA');
        await assertDenied();
      }),
    );
  });
});
