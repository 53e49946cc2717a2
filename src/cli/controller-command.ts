import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { Controller } from '../controller/controller.js';
import { WebhookCertManager } from '../controller/webhook/cert-manager.js';
import { admitPool, POOL_WEBHOOK_PATH } from '../controller/webhook/pool-admission.js';
import { WebhookServer } from '../controller/webhook/server.js';
import type { KubeClient } from '../k8s/client.js';
import { oneLine } from '../k8s/errors.js';
import { LeaderElector } from '../k8s/leader-election.js';
import { DEFAULT_MEMBERSHIP_SECRET, ensureMembershipSecret } from '../speaker/membership/secret.js';
import { realClock } from '../util/clock.js';
import { createLogger, type Logger } from '../util/logger.js';
import { CLASS_FLAGS, classPolicy, installNamespace } from './class-flags.js';
import { type ComponentFlags, type ExtraFlag, parseBindAddress } from './component-flags.js';
import { CliError, EXIT_CONFIG } from './connect.js';
import { healthServer, serveHealth } from './health.js';

export const CONTROLLER_FLAGS: Record<string, ExtraFlag> = {
  namespace: {
    arg: '<ns>',
    help: "namespace of IPAddressPools, the Lease and the webhook Secret (default: the pod's namespace, else portico-system)",
  },
  ...CLASS_FLAGS,
  workers: { arg: '<n>', default: '16', help: 'Services reconciled (status writes in flight) at once' },
  'webhook-bind-address': {
    arg: '<host:port>',
    default: ':9443',
    help: 'serve the validating admission webhook over HTTPS here; port 0 disables it',
  },
  'webhook-service': {
    arg: '<name>',
    default: 'portico-webhook',
    help: 'the Service in front of the webhook (its DNS names go into the serving certificate)',
  },
  'webhook-secret': {
    arg: '<name>',
    default: 'portico-webhook-cert',
    help: 'the Secret holding the webhook CA and serving certificate (created and rotated by the controller)',
  },
  'webhook-configuration': {
    arg: '<name>',
    default: 'portico-validating-webhook',
    help: 'the ValidatingWebhookConfiguration whose caBundle the controller keeps',
  },
  'membership-secret': {
    arg: '<name>',
    default: DEFAULT_MEMBERSHIP_SECRET,
    help: "the Secret with the speakers' heartbeat key; the leader creates it with a random key if it is missing",
  },
  'webhook-ip-sans': {
    arg: '<ip,...>',
    default: '',
    help: 'extra IP addresses for the serving certificate (when the API server dials an address, not the Service)',
  },
};

interface ControllerSettings {
  namespace: string;
  loadBalancerClass: string;
  defaultClass: boolean;
  workers: number;
  membershipSecret: string;
  webhook: {
    host: string;
    port: number;
    service: string;
    secret: string;
    configuration: string;
    ipSans: string[];
  };
}

export function controllerSettings(flags: ComponentFlags): ControllerSettings {
  const x = flags.extra;
  const workers = Number(x.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) {
    throw new CliError(`--workers must be a whole number from 1 to 256, not "${x.workers}"`, EXIT_CONFIG);
  }
  const classes = classPolicy(x);
  const ipSans = (x['webhook-ip-sans'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const ip of ipSans) {
    if (!isIP(ip)) throw new CliError(`--webhook-ip-sans: "${ip}" is not an IP address`, EXIT_CONFIG);
  }
  let bind: { host: string; port: number };
  try {
    bind = parseBindAddress(x['webhook-bind-address'] ?? ':9443');
  } catch (err) {
    throw new CliError(
      (err as Error).message.replace('--metrics-bind-address', '--webhook-bind-address'),
      EXIT_CONFIG,
    );
  }
  return {
    namespace: installNamespace(x.namespace),
    ...classes,
    workers,
    membershipSecret: x['membership-secret'] || DEFAULT_MEMBERSHIP_SECRET,
    webhook: {
      ...bind,
      service: x['webhook-service'] ?? 'portico-webhook',
      secret: x['webhook-secret'] ?? 'portico-webhook-cert',
      configuration: x['webhook-configuration'] ?? 'portico-validating-webhook',
      ipSans,
    },
  };
}

/**
 * `portico controller`: caches on every replica, the work on the leader only. Exits 1 when
 * leadership is lost (as client-go controllers do) so no state of a lost term survives; exits 0 on
 * SIGTERM after in-flight writes end and the lease is released, so the successor starts at once.
 */
export async function runController(flags: ComponentFlags, client: KubeClient): Promise<number> {
  const settings = controllerSettings(flags);
  const logger = createLogger('controller', undefined, { batched: true });
  const identity = process.env.POD_NAME || `${hostname()}-${randomBytes(3).toString('hex')}`;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'portico_controller_process_' });
  const controller = new Controller({
    client,
    namespace: settings.namespace,
    identity,
    classes: { loadBalancerClass: settings.loadBalancerClass, defaultClass: settings.defaultClass },
    workers: settings.workers,
    logger,
    registry,
  });
  const health = healthServer(flags, registry);
  health.addReadinessCheck('informers-synced', () => controller.hasSynced());
  await serveHealth(health, flags);
  controller.start();
  logger.info({ identity, ...settings }, 'controller starting');
  const webhook =
    settings.webhook.port > 0 ? startWebhook(settings, client, controller, registry, logger) : undefined;
  if (webhook) health.addReadinessCheck('webhook', () => webhook.serving());

  const shutdown = new AbortController();
  let work: Promise<void> | undefined;
  const onSignal = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    shutdown.abort();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));

  let lost = false;
  if (flags.leaderElect) {
    const elector = new LeaderElector({
      client,
      namespace: flags.leaderElection.namespace ?? settings.namespace,
      name: flags.leaderElection.name,
      identity,
      leaseDurationMs: flags.leaderElection.leaseDurationMs,
      renewDeadlineMs: flags.leaderElection.renewDeadlineMs,
      retryPeriodMs: flags.leaderElection.retryPeriodMs,
      logger,
      registry,
      onStartedLeading: (term) => {
        webhook?.certs.setWriter(true);
        const signal = AbortSignal.any([term, shutdown.signal]);
        void keepMembershipSecret(client, settings, logger, signal);
        work = controller.lead(signal, () => elector.isLeader());
      },
      onStoppedLeading: () => {
        webhook?.certs.setWriter(false);
        if (!shutdown.signal.aborted) lost = true;
      },
    });
    shutdown.signal.addEventListener('abort', () => {
      // Finish in-flight writes first, then release the lease so the successor starts at once.
      void (work ?? Promise.resolve()).finally(() => elector.stop());
    });
    await elector.run();
  } else {
    webhook?.certs.setWriter(true);
    void keepMembershipSecret(client, settings, logger, shutdown.signal);
    work = controller.lead(shutdown.signal, () => true);
  }
  await work;
  await webhook?.stop();
  await controller.stop();
  await health.close();
  client.close();
  if (lost) {
    logger.error('lost leadership; exiting so a fresh process starts clean');
    return 1;
  }
  return 0;
}

/** The speakers wait for their membership Secret: the leader creates it, retrying until it exists. */
async function keepMembershipSecret(
  client: KubeClient,
  settings: ControllerSettings,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  const secret = `${settings.namespace}/${settings.membershipSecret}`;
  while (!signal.aborted) {
    try {
      if (await ensureMembershipSecret(client, settings.namespace, settings.membershipSecret)) {
        logger.info({ secret }, "created the speakers' membership Secret");
      }
      return;
    } catch (err) {
      logger.warn({ secret, err: oneLine(err) }, "cannot create the speakers' membership Secret; retrying");
      await realClock.sleep(5000, signal);
    }
  }
}

/**
 * The validating webhook, on every replica (the API server may call any of them); only the leader
 * writes the certificate Secret and the caBundle, the others follow the Secret.
 */
function startWebhook(
  settings: ControllerSettings,
  client: KubeClient,
  controller: Controller,
  registry: Registry,
  logger: Logger,
) {
  const { webhook, namespace } = settings;
  const certs = new WebhookCertManager({
    client,
    namespace,
    secretName: webhook.secret,
    webhookConfigurationName: webhook.configuration,
    dnsNames: [`${webhook.service}.${namespace}.svc`, `${webhook.service}.${namespace}.svc.cluster.local`],
    ipAddresses: webhook.ipSans,
    writer: false,
    logger,
    registry,
  });
  const server = new WebhookServer({ host: webhook.host, port: webhook.port, logger, registry });
  server.route(POOL_WEBHOOK_PATH, (request) => admitPool(request, namespace, controller.pools.list()));
  let listening = false;
  certs.onChange((material) => {
    server.setCertificate(material.certPem, material.keyPem);
    if (listening) return;
    listening = true;
    server.listen().catch((err: unknown) => {
      logger.error({ err: oneLine(err), port: webhook.port }, 'cannot serve the webhook');
      listening = false;
    });
  });
  certs.start();
  return {
    certs,
    serving: () => listening && controller.pools.hasSynced(),
    async stop() {
      await server.close();
      await certs.stop();
    },
  };
}
