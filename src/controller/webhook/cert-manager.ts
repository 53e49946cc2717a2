/**
 * Keeps the admission webhook's TLS material without cert-manager: the CA and the serving
 * certificate live in one Secret; the writer (the leader) issues and rotates them and sets the
 * caBundle of the ValidatingWebhookConfiguration, and every replica serves whatever the Secret holds.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { KubeClient } from '../../k8s/client.js';
import { isAlreadyExists, isConflict, isNotFound, oneLine } from '../../k8s/errors.js';
import { Informer } from '../../k8s/informer.js';
import type { ResourceClient } from '../../k8s/resource-client.js';
import { Resources } from '../../k8s/resources.js';
import type { Secret, ValidatingWebhookConfiguration } from '../../k8s/types.js';
import { Backoff } from '../../util/backoff.js';
import { type Clock, realClock } from '../../util/clock.js';
import { type Logger, silentLogger } from '../../util/logger.js';
import {
  type CertificatePolicy,
  issueCertificates,
  planCertificates,
  readServingMaterial,
  type ServingMaterial,
  type StoredCertificates,
} from './cert-plan.js';
import { checkSubjectAltNames } from './x509.js';

export type { ServingMaterial } from './cert-plan.js';

export interface WebhookCertOptions {
  client: KubeClient;
  /** Namespace of the Secret, e.g. portico-system. */
  namespace: string;
  /** The `kubernetes.io/tls` Secret holding the CA and the serving certificate, e.g. portico-webhook-cert. */
  secretName: string;
  /** Every webhook in this ValidatingWebhookConfiguration gets the caBundle. */
  webhookConfigurationName: string;
  /** Names the API server dials, e.g. portico-webhook.portico-system.svc. */
  dnsNames: string[];
  ipAddresses?: string[];
  /**
   * Write the Secret and the caBundle (the leader), or only follow the Secret (other replicas).
   * Default true; switch with setWriter() as leadership comes and goes. Two writers at once are
   * safe (every write carries the resourceVersion it read), merely wasteful.
   */
  writer?: boolean;
  clock?: Clock;
  logger?: Logger;
  registry?: Registry;
  /** Default 10 years. */
  caValidityMs?: number;
  /** Default 1 year. */
  certValidityMs?: number;
  /** Rotate a certificate when less than this fraction of its lifetime remains; default 1/3. */
  renewFraction?: number;
  /** Check the Secret and the caBundle this often even when no watch event says so; default 1 minute. */
  pollIntervalMs?: number;
  /** Watch the Secret and the configuration, to act on a change at once instead of at the next poll. Default true. */
  watch?: boolean;
  /** Recorded in managedFields; default portico-controller. */
  fieldManager?: string;
}

const YEAR_MS = 365 * 24 * 3_600_000;
const DEFAULT_POLL_MS = 60_000;
/** setTimeout's limit: a longer delay would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Least time between two syncs, so writers that disagree cannot spin. */
const MIN_RESYNC_MS = 250;
const MAX_WRITE_ATTEMPTS = 5;
const SECRET_TYPE = 'kubernetes.io/tls';
const KEYS = { caCert: 'ca.crt', caKey: 'ca.key', tlsCert: 'tls.crt', tlsKey: 'tls.key' } as const;

type Listener = (material: ServingMaterial) => void;

export class WebhookCertManager {
  private readonly policy: CertificatePolicy;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly secrets: ResourceClient<Secret>;
  private readonly configs: ResourceClient<ValidatingWebhookConfiguration>;
  private readonly metrics: ReturnType<typeof certMetrics> | undefined;
  private readonly listeners = new Set<Listener>();
  private readonly stopController = new AbortController();
  private readonly informers: { stop(): Promise<void> }[] = [];
  private writer: boolean;
  private material: ServingMaterial | undefined;
  private waiters: { resolve: Listener; reject: (err: Error) => void }[] = [];
  private running: Promise<void> | undefined;
  private wakeController: AbortController | undefined;
  private woken = false;
  /** Problems seen this round and the last, so one that persists is logged once, not at every poll. */
  private problems = { current: new Set<string>(), previous: new Set<string>() };

  constructor(private readonly options: WebhookCertOptions) {
    const { namespace, secretName, webhookConfigurationName, dnsNames, ipAddresses = [] } = options;
    if (!namespace || !secretName || !webhookConfigurationName) {
      throw new Error(
        'the webhook certificate manager needs a namespace, a Secret name and a webhook configuration name',
      );
    }
    checkSubjectAltNames(dnsNames, ipAddresses);
    const renewFraction = options.renewFraction ?? 1 / 3;
    if (!(renewFraction > 0 && renewFraction < 1)) {
      throw new Error(`renewFraction must be between 0 and 1, not ${renewFraction}`);
    }
    this.policy = {
      dnsNames,
      ipAddresses,
      commonName: [...dnsNames, ...ipAddresses].find((name) => name.length <= 64) ?? 'portico-webhook',
      caCommonName: 'portico-webhook-ca',
      caValidityMs: options.caValidityMs ?? 10 * YEAR_MS,
      certValidityMs: options.certValidityMs ?? YEAR_MS,
      renewFraction,
    };
    this.writer = options.writer ?? true;
    this.clock = options.clock ?? realClock;
    this.log = (options.logger ?? silentLogger).child({ secret: `${namespace}/${secretName}` });
    this.secrets = options.client.resource<Secret>(Resources.secrets);
    this.configs = options.client.resource<ValidatingWebhookConfiguration>(
      Resources.validatingWebhookConfigurations,
    );
    this.metrics = options.registry && certMetrics(options.registry);
  }

  /** The certificate and key to serve with now, once the Secret has been read. */
  get current(): ServingMaterial | undefined {
    return this.material;
  }

  /**
   * Calls `listener` with the current certificate, if there is one yet, then with each new one;
   * returns the unsubscribe function. What it throws is logged, never propagated.
   */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    if (this.material) this.notify(listener, this.material);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first usable certificate; rejects if the manager stops first. */
  ready(): Promise<ServingMaterial> {
    if (this.material) return Promise.resolve(this.material);
    if (this.stopController.signal.aborted) {
      return Promise.reject(new Error('the certificate manager is stopped'));
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  get isWriter(): boolean {
    return this.writer;
  }

  /** Becomes the writer (on gaining leadership) or a follower (on losing it); takes effect at once. */
  setWriter(writer: boolean): void {
    if (writer === this.writer) return;
    this.writer = writer;
    this.log.info(
      { writer },
      writer ? 'now writing the webhook certificate' : 'now only following the Secret',
    );
    this.wake();
  }

  /** Checks the Secret and the caBundle now instead of at the next poll. */
  resync(): void {
    this.wake();
  }

  start(): void {
    if (this.running) throw new Error('WebhookCertManager.start() may only be called once');
    if (this.options.watch ?? true) this.startInformers();
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('the certificate manager stopped'));
    await Promise.all([this.running, ...this.informers.map((informer) => informer.stop())]);
  }

  private async loop(): Promise<void> {
    const stop = this.stopController.signal;
    const backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
    while (!stop.aborted) {
      let delay = this.options.pollIntervalMs ?? DEFAULT_POLL_MS;
      this.problems = { current: new Set(), previous: this.problems.current };
      try {
        const renewAt = this.writer ? await this.write(stop) : await this.follow(stop);
        backoff.reset();
        if (renewAt) delay = Math.min(delay, Math.max(0, renewAt.getTime() - this.clock.wallNow()));
      } catch (err) {
        if (stop.aborted) break;
        delay = backoff.next();
        this.problem(`could not sync the webhook certificate: ${oneLine(err)}`, {
          retryInMs: Math.round(delay),
        });
      }
      await this.pause(Math.min(delay, MAX_TIMER_MS), stop);
    }
  }

  /** The writer's round: make the Secret right, serve it, make the caBundle right. Returns when to renew. */
  private async write(signal: AbortSignal): Promise<Date> {
    for (let attempt = 1; ; attempt++) {
      const secret = await this.readSecret(signal);
      const now = new Date(this.clock.wallNow());
      const plan = planCertificates(secret && decodeSecret(secret), this.policy, now);
      if (plan.action === 'keep') {
        this.publish(plan.material);
        await this.ensureCaBundle(plan.material.caBundlePem, signal);
        return plan.renewAt;
      }
      if (attempt > MAX_WRITE_ATTEMPTS) {
        throw new Error(`the Secret still needs a new certificate: ${plan.reasons.join('; ')}`);
      }
      const issued = issueCertificates(plan, this.policy, now);
      this.log.info(
        { reasons: plan.reasons, newCa: issued.newCa, notAfter: issued.material.notAfter.toISOString() },
        'issuing a webhook serving certificate',
      );
      // When a working CA is replaced, the API server must trust the new one before any replica
      // serves a certificate it signed; the new bundle still holds the old CA, so the certificate
      // served now keeps working meanwhile. (With no working CA there is nothing to keep working.)
      if (issued.newCa && plan.stillTrusted.length > 0) {
        await this.ensureCaBundle(issued.material.caBundlePem, signal);
      }
      try {
        await this.writeSecret(secret, issued.stored, signal);
        this.metrics?.issued.inc({ certificate: 'serving' });
        if (issued.newCa) this.metrics?.issued.inc({ certificate: 'ca' });
      } catch (err) {
        if (!isAlreadyExists(err) && !isConflict(err)) throw err;
        this.log.info('another replica wrote the Secret first; using its certificate');
      }
      // Read back: what is stored now (ours, or another replica's) is what gets served.
    }
  }

  /** A follower's round: serve whatever valid certificate the Secret holds. */
  private async follow(signal: AbortSignal): Promise<undefined> {
    const secret = await this.readSecret(signal);
    if (!secret) {
      this.problem('the Secret does not exist yet; waiting for the leader to create it');
      return undefined;
    }
    try {
      this.publish(readServingMaterial(decodeSecret(secret), new Date(this.clock.wallNow())));
    } catch (err) {
      this.problem(`the Secret holds no usable certificate yet (${oneLine(err)}); waiting for the leader`);
    }
    return undefined;
  }

  private async readSecret(signal: AbortSignal): Promise<Secret | undefined> {
    const { secretName, namespace } = this.options;
    try {
      return await this.secrets.get(secretName, namespace, signal);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * The CA key lives in the same Secret as the serving key. A separate Secret would protect
   * nothing: whoever can read this one holds tls.key and can impersonate the webhook anyway. One
   * Secret keeps the CA and the certificate it signed consistent in a single atomic write, and
   * needs a single RBAC rule.
   */
  private async writeSecret(
    existing: Secret | undefined,
    stored: Required<StoredCertificates>,
    signal: AbortSignal,
  ): Promise<void> {
    const { secretName, namespace } = this.options;
    const data: Record<string, string> = { ...existing?.data };
    for (const [field, key] of Object.entries(KEYS)) {
      data[key] = Buffer.from(stored[field as keyof typeof KEYS]).toString('base64');
    }
    const labels = { ...existing?.metadata.labels, 'app.kubernetes.io/managed-by': 'portico' };
    const fieldManager = this.options.fieldManager ?? 'portico-controller';
    if (!existing) {
      await this.secrets.create(
        { metadata: { name: secretName, namespace, labels }, type: SECRET_TYPE, data },
        { fieldManager, signal },
      );
    } else {
      // A PUT with the resourceVersion just read: a concurrent writer makes it fail with 409.
      await this.secrets.update(
        { ...existing, metadata: { ...existing.metadata, labels }, data },
        { fieldManager, signal },
      );
    }
  }

  /** Sets every webhook's caBundle to `bundlePem`; false if the configuration does not exist (yet). */
  private async ensureCaBundle(bundlePem: string, signal: AbortSignal): Promise<boolean> {
    const name = this.options.webhookConfigurationName;
    const want = Buffer.from(bundlePem).toString('base64');
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      let config: ValidatingWebhookConfiguration;
      try {
        config = await this.configs.get(name, undefined, signal);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.problem(
          `ValidatingWebhookConfiguration ${name} does not exist yet; its caBundle will be set once it does`,
        );
        return false;
      }
      const webhooks = config.webhooks ?? [];
      const stale = webhooks.filter((webhook) => webhook.clientConfig?.caBundle !== want).map((w) => w.name);
      if (stale.length === 0) return true;
      try {
        await this.configs.update(
          {
            ...config,
            webhooks: webhooks.map((w) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle: want } })),
          },
          { fieldManager: this.options.fieldManager ?? 'portico-controller', signal },
        );
        this.metrics?.caBundleUpdates.inc();
        this.log.info(
          { configuration: name, webhooks: stale },
          'set the caBundle of the webhook configuration',
        );
        return true;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    throw new Error(`ValidatingWebhookConfiguration ${name} kept changing while its caBundle was being set`);
  }

  private publish(material: ServingMaterial): void {
    const previous = this.material;
    if (
      previous?.certPem === material.certPem &&
      previous.keyPem === material.keyPem &&
      previous.caBundlePem === material.caBundlePem
    ) {
      return;
    }
    this.material = material;
    this.metrics?.notAfter.set(material.notAfter.getTime() / 1000);
    this.log.info({ notAfter: material.notAfter.toISOString() }, 'serving certificate loaded');
    for (const waiter of this.waiters.splice(0)) waiter.resolve(material);
    for (const listener of this.listeners) this.notify(listener, material);
  }

  private notify(listener: Listener, material: ServingMaterial): void {
    try {
      listener(material);
    } catch (err) {
      this.log.error({ err: oneLine(err) }, 'a webhook certificate listener failed');
    }
  }

  private problem(message: string, fields: Record<string, unknown> = {}): void {
    const { current, previous } = this.problems;
    if (!current.has(message) && !previous.has(message)) this.log.warn(fields, message);
    current.add(message);
  }

  private startInformers(): void {
    const { namespace, secretName, webhookConfigurationName } = this.options;
    const common = { clock: this.clock, logger: this.log };
    const secrets = new Informer<Secret>(this.secrets, {
      ...common,
      namespace,
      fieldSelector: `metadata.name=${secretName}`,
    });
    // Our own writes come back as events too; only a Secret that differs from what we serve matters.
    const onSecret = (secret: Secret | undefined) => {
      const stored = secret && decodeSecret(secret);
      const m = this.material;
      if (!m || stored?.tlsCert !== m.certPem || stored.tlsKey !== m.keyPem) this.wake();
    };
    secrets.addHandler({
      onAdd: onSecret,
      onUpdate: (_, secret) => onSecret(secret),
      onDelete: () => onSecret(undefined),
    });
    const configs = new Informer<ValidatingWebhookConfiguration>(this.configs, {
      ...common,
      fieldSelector: `metadata.name=${webhookConfigurationName}`,
    });
    const onConfig = (config: ValidatingWebhookConfiguration) => {
      if (!this.writer || !this.material) return;
      const want = Buffer.from(this.material.caBundlePem).toString('base64');
      if (config.webhooks?.some((w) => w.clientConfig?.caBundle !== want)) this.wake();
    };
    configs.addHandler({ onAdd: onConfig, onUpdate: (_, config) => onConfig(config) });
    this.informers.push(secrets.start(), configs.start());
  }

  /** Sleeps for `ms` on the clock, or until wake() or stop, but at least MIN_RESYNC_MS. */
  private async pause(ms: number, stop: AbortSignal): Promise<void> {
    await this.clock.sleep(MIN_RESYNC_MS, stop);
    if (!this.woken && ms > MIN_RESYNC_MS) {
      const wake = new AbortController();
      this.wakeController = wake;
      await this.clock.sleep(ms - MIN_RESYNC_MS, AbortSignal.any([stop, wake.signal]));
      this.wakeController = undefined;
    }
    this.woken = false;
  }

  private wake(): void {
    if (this.wakeController) this.wakeController.abort();
    else this.woken = true;
  }
}

function decodeSecret(secret: Secret): StoredCertificates {
  const read = (key: string) => {
    const value = secret.data?.[key];
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
  };
  return {
    caCert: read(KEYS.caCert),
    caKey: read(KEYS.caKey),
    tlsCert: read(KEYS.tlsCert),
    tlsKey: read(KEYS.tlsKey),
  };
}

/** Shared by every manager on the registry. */
function certMetrics(registry: Registry) {
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  return {
    notAfter:
      existing<Gauge>('portico_webhook_certificate_expiry_timestamp_seconds') ??
      new Gauge({
        name: 'portico_webhook_certificate_expiry_timestamp_seconds',
        help: 'When the webhook serving certificate in use expires (Unix time).',
        registers: [registry],
      }),
    issued:
      existing<Counter<'certificate'>>('portico_webhook_certificates_issued_total') ??
      new Counter({
        name: 'portico_webhook_certificates_issued_total',
        help: 'Webhook certificates this process issued and stored, by certificate (serving, ca).',
        labelNames: ['certificate'] as const,
        registers: [registry],
      }),
    caBundleUpdates:
      existing<Counter>('portico_webhook_ca_bundle_updates_total') ??
      new Counter({
        name: 'portico_webhook_ca_bundle_updates_total',
        help: 'Times this process set the caBundle of the webhook configuration.',
        registers: [registry],
      }),
  };
}
