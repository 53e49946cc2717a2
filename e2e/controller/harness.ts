/**
 * Runs Portico's controller as a user would: `node bin/portico.js controller` under its own
 * ServiceAccount (the manifests' RBAC), against a real control plane where `kubectl apply -k
 * manifests/` installed the CRD, the RBAC and the webhook configuration.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IPAddressPool, IPAddressPoolSpec } from '../../src/api/ip-address-pool.js';
import { IPAddressPoolResource } from '../../src/api/ip-address-pool.js';
import { REPORTING_CONTROLLER } from '../../src/controller/controller.js';
import type { KubeClient } from '../../src/k8s/client.js';
import { isNotFound } from '../../src/k8s/errors.js';
import { Resources } from '../../src/k8s/resources.js';
import type { KubeEvent, Service } from '../../src/k8s/types.js';
import { packageRoot } from '../../src/util/package-root.js';
import { k8sBinaries } from '../cluster/binaries.js';
import { freePort } from '../cluster/ports.js';
import type { ControlPlane } from '../cluster/types.js';
import { exec } from '../lab/exec.js';
import { waitFor } from '../support/wait.js';

export const SYSTEM_NAMESPACE = 'portico-system';
const bin = join(packageRoot(), 'bin', 'portico.js');

export async function kubectl(plane: ControlPlane, args: string[]): Promise<string> {
  const { paths } = await k8sBinaries(['kubectl']);
  const r = await exec(paths.kubectl, ['--kubeconfig', plane.kubeconfigPath, ...args], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

export const WEBHOOK_CONFIGURATION = 'portico-validating-webhook';
export const WEBHOOK_PATH = '/validate-portico-dev-v1alpha1-ipaddresspool';

/**
 * `kubectl apply -k manifests/` and waits for the CRD, as the README tells a cluster admin. This
 * control plane has no Service network: the API server would send webhook calls for the ClusterIP
 * of portico-webhook out of this machine's default route. So, before anything creates a pool, the
 * webhook is pointed at `webhookUrl` on loopback (by default a port nothing listens on, which the
 * Ignore failure policy lets through).
 */
export async function installManifests(plane: ControlPlane, webhookUrl?: string): Promise<void> {
  await kubectl(plane, ['apply', '-k', join(packageRoot(), 'manifests')]);
  await pointWebhookAt(plane, webhookUrl ?? `https://127.0.0.1:${await freePort()}${WEBHOOK_PATH}`);
  await kubectl(plane, [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/ipaddresspools.portico.dev',
  ]);
}

export async function pointWebhookAt(plane: ControlPlane, url: string): Promise<void> {
  await kubectl(plane, [
    'patch',
    'validatingwebhookconfiguration',
    WEBHOOK_CONFIGURATION,
    '--type=json',
    `-p=${JSON.stringify([{ op: 'replace', path: '/webhooks/0/clientConfig', value: { url } }])}`,
  ]);
}

export interface ControllerProcessOptions {
  identity: string;
  /** Extra flags. */
  args?: string[];
  /** `fast` (default): a 3 s lease, so tests see hand-overs quickly; `default`: the flags' defaults. */
  leaderElection?: 'fast' | 'default' | 'off';
  /** Serve the webhook on 127.0.0.1 at this port (the certificate gets 127.0.0.1 too); default off. */
  webhookPort?: number;
  /** PORTICO_LOG_LEVEL; default debug (tests read the decisions). Undefined-as-info: 'info'. */
  logLevel?: string;
  /** Where the log goes; default a file in the temp directory named after the identity. */
  logPath?: string;
}

const FAST_LEADER_ELECTION = [
  '--leader-elect-lease-duration',
  '3s',
  '--leader-elect-renew-deadline',
  '2s',
  '--leader-elect-retry-period',
  '500ms',
];

/** One `portico controller` process, its output written straight into its log file. */
export class ControllerProcess {
  private constructor(
    readonly identity: string,
    private readonly child: ChildProcess,
    readonly logPath: string,
    readonly metricsPort: number,
    readonly exited: Promise<number | null>,
  ) {}

  static async start(plane: ControlPlane, options: ControllerProcessOptions): Promise<ControllerProcess> {
    const kubeconfig = await plane.serviceAccountKubeconfig(SYSTEM_NAMESPACE, 'portico-controller');
    const metricsPort = await freePort();
    const logPath =
      options.logPath ?? join(tmpdir(), `portico-e2e-controller-${options.identity}-${process.pid}.log`);
    const election = options.leaderElection ?? 'fast';
    // The child writes its log itself: no pipe through the test process, which may be busy.
    const fd = openSync(logPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn(
        process.execPath,
        [
          bin,
          'controller',
          '--kubeconfig',
          kubeconfig,
          '--metrics-bind-address',
          `127.0.0.1:${metricsPort}`,
          '--namespace',
          SYSTEM_NAMESPACE,
          ...(election === 'off'
            ? ['--leader-elect=false']
            : election === 'fast'
              ? FAST_LEADER_ELECTION
              : []),
          ...(options.webhookPort
            ? ['--webhook-bind-address', `127.0.0.1:${options.webhookPort}`, '--webhook-ip-sans', '127.0.0.1']
            : ['--webhook-bind-address', ':0']),
          ...(options.args ?? []),
        ],
        {
          env: {
            ...process.env,
            POD_NAME: options.identity,
            POD_NAMESPACE: SYSTEM_NAMESPACE,
            PORTICO_LOG_LEVEL: options.logLevel ?? 'debug',
            NODE_TEST_CONTEXT: undefined,
          },
          stdio: ['ignore', fd, fd],
        },
      );
    } finally {
      closeSync(fd);
    }
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return new ControllerProcess(options.identity, child, logPath, metricsPort, exited);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.running) this.child.kill(signal);
    return await this.exited;
  }

  /** For exit handlers, which cannot wait. */
  killNow(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  /** Waits until the log holds `text`; fails at once if the process exits. */
  async waitForLog(text: string, timeoutMs = 20_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.log().includes(text)) {
      if (!this.running) throw new Error(`controller ${this.identity} exited:\n${this.tail()}`);
      if (performance.now() > deadline) {
        throw new Error(
          `controller ${this.identity}: no "${text}" in its log within ${timeoutMs} ms:\n${this.tail()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  log(): string {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  tail(lines = 40): string {
    return this.log().trimEnd().split('\n').slice(-lines).join('\n');
  }

  async metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    return await res.text();
  }

  /** Waits until this process leads (its log says so). */
  async waitLeading(timeoutMs = 20_000): Promise<void> {
    await waitFor('the controller to lead', () => this.log().includes('initial reconcile done'), {
      timeoutMs,
    });
  }
}

export function pools(client: KubeClient) {
  return client.resource<IPAddressPool>(IPAddressPoolResource);
}

export async function createPool(
  client: KubeClient,
  name: string,
  spec: IPAddressPoolSpec,
  labels?: Record<string, string>,
): Promise<IPAddressPool> {
  return await pools(client).create({
    apiVersion: 'portico.dev/v1alpha1',
    kind: 'IPAddressPool',
    metadata: { name, namespace: SYSTEM_NAMESPACE, labels },
    spec,
  });
}

/**
 * Waits until the controller has taken these pools in, as written (their status is written for their
 * current generation). A Service created before that may be served from the pools it knew.
 */
export async function waitForPoolsSeen(client: KubeClient, names: readonly string[]): Promise<void> {
  await waitFor(`the controller to see pools ${names.join(', ')}`, async (seen) => {
    const list = await pools(client).list({ namespace: SYSTEM_NAMESPACE });
    const pending = names.filter((name) => {
      const p = list.items.find((x) => x.metadata.name === name);
      return (
        !p?.status?.conditions?.some((c) => c.type === 'Ready') ||
        p.status.observedGeneration !== p.metadata.generation
      );
    });
    seen(pending);
    return pending.length === 0 ? true : undefined;
  });
}

export async function deletePool(client: KubeClient, name: string): Promise<void> {
  try {
    await pools(client).delete(name, SYSTEM_NAMESPACE);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export async function deleteAllPools(client: KubeClient): Promise<void> {
  for (const p of (await pools(client).listAll({ namespace: SYSTEM_NAMESPACE })).items) {
    await deletePool(client, p.metadata.name!);
  }
}

export interface ServiceOptions {
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  ports?: { port: number; protocol?: 'TCP' | 'UDP' }[];
  spec?: Partial<NonNullable<Service['spec']>>;
}

export async function createService(
  client: KubeClient,
  namespace: string,
  name: string,
  o: ServiceOptions = {},
): Promise<Service> {
  return await client.resource<Service>(Resources.services).create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, annotations: o.annotations, labels: o.labels },
    spec: {
      type: 'LoadBalancer',
      selector: { app: name },
      ports: (o.ports ?? [{ port: 80 }]).map((p) => ({
        port: p.port,
        protocol: p.protocol ?? 'TCP',
        name: `p${p.port}-${(p.protocol ?? 'tcp').toLowerCase()}`,
      })),
      ...o.spec,
    },
  });
}

export async function getService(client: KubeClient, namespace: string, name: string): Promise<Service> {
  return await client.resource<Service>(Resources.services).get(name, namespace);
}

export const ingressIPs = (svc: Service): string[] =>
  (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter(Boolean);

/** Waits until the Service's status lists exactly `count` addresses (default: at least one). */
export async function waitForIPs(
  client: KubeClient,
  namespace: string,
  name: string,
  count?: number,
  timeoutMs = 20_000,
): Promise<string[]> {
  return await waitFor(
    `${namespace}/${name} to get ${count ?? 'an'} external address${count === 1 ? '' : 'es'}`,
    async (seen) => {
      const svc = await getService(client, namespace, name);
      const ips = ingressIPs(svc);
      seen({ ips, conditions: svc.status?.conditions });
      return (count === undefined ? ips.length > 0 : ips.length === count) ? ips : undefined;
    },
    { timeoutMs },
  );
}

/** Waits until the Service is pending with this reason on its condition, and returns the message. */
export async function waitForPending(
  client: KubeClient,
  namespace: string,
  name: string,
  reason: string,
  timeoutMs = 20_000,
): Promise<string> {
  return await waitFor(
    `${namespace}/${name} to be pending with reason ${reason}`,
    async (seen) => {
      const svc = await getService(client, namespace, name);
      const c = svc.status?.conditions?.find((x) => x.type === 'portico.dev/Allocated');
      seen({ ips: ingressIPs(svc), condition: c });
      return c?.status === 'False' && c.reason === reason && ingressIPs(svc).length === 0
        ? c.message
        : undefined;
    },
    { timeoutMs },
  );
}

/**
 * Portico's Events about a Service. The API server writes some of its own (under load its ClusterIP
 * repair loop can race a new Service and report `ClusterIPNotAllocated`), which are not ours to count.
 */
export async function eventsFor(client: KubeClient, namespace: string, name: string): Promise<KubeEvent[]> {
  const events = await client.resource<KubeEvent>(Resources.events).listAll({ namespace });
  return events.items.filter(
    (e) =>
      e.regarding.name === name &&
      e.regarding.kind === 'Service' &&
      e.reportingController === REPORTING_CONTROLLER,
  );
}
