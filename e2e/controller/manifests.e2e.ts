import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type IPAddressPool,
  IPAddressPoolResource,
  type IPAddressPoolStatus,
} from '../../src/api/ip-address-pool.js';
import { L2AdvertisementResource, ServiceL2StatusResource } from '../../src/api/l2-advertisement.js';
import { ApiError, isForbidden } from '../../src/k8s/errors.js';
import type { ResourceClient } from '../../src/k8s/resource-client.js';
import { type ResourceRef, Resources } from '../../src/k8s/resources.js';
import type { KubeObject, Lease, Namespace } from '../../src/k8s/types.js';
import { k8sBinaries } from '../cluster/binaries.js';
import { type ExecResult, exec } from '../lab/exec.js';
import { useControlPlane } from '../support/fixture.js';
import { clientFor, createTestNamespace, uniqueName } from '../support/kube.js';
import { waitFor } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MANIFESTS = join(ROOT, 'manifests');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const NS = 'portico-system';
const CONTROLLER = `system:serviceaccount:${NS}:portico-controller`;
const WEBHOOK_NAME = 'portico-validating-webhook';
const CERT_SECRET = 'portico-webhook-cert';

const clusterScoped = (group: string, plural: string, kind: string): ResourceRef => ({
  group,
  version: 'v1',
  plural,
  kind,
  namespaced: false,
});
const CRDs = clusterScoped('apiextensions.k8s.io', 'customresourcedefinitions', 'CustomResourceDefinition');
const WebhookConfigs = clusterScoped(
  'admissionregistration.k8s.io',
  'validatingwebhookconfigurations',
  'ValidatingWebhookConfiguration',
);
const Deployments: ResourceRef = {
  group: 'apps',
  version: 'v1',
  plural: 'deployments',
  kind: 'Deployment',
  namespaced: true,
};

interface Crd extends KubeObject {
  spec: {
    names: { shortNames?: string[]; categories?: string[]; kind: string };
    scope: string;
    versions: { name: string; subresources?: { status?: object } }[];
  };
  status?: { conditions?: { type: string; status: string }[] };
}
interface Webhook {
  name: string;
  clientConfig: {
    caBundle?: string;
    url?: string;
    service?: { namespace: string; name: string; path?: string; port?: number };
  };
  rules: { apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[] }[];
  failurePolicy: string;
  sideEffects: string;
  admissionReviewVersions: string[];
  timeoutSeconds: number;
  matchPolicy: string;
}
interface WebhookConfig extends KubeObject {
  webhooks: Webhook[];
}
interface PodSpec {
  containers: { name: string; image: string; args?: string[]; securityContext?: Record<string, unknown> }[];
  priorityClassName?: string;
  serviceAccountName?: string;
}
interface Deployment extends KubeObject {
  spec: { replicas: number; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}
interface Pod extends KubeObject {
  spec: PodSpec & { priority?: number };
}
interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

type Run = ExecResult;

/** Error text of a rejected request, for assertions; fails the test if it was not rejected. */
async function rejection(what: string, action: () => Promise<unknown>): Promise<ApiError> {
  const err = await action().then(
    () => assert.fail(`${what} was accepted, but should be rejected`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApiError, `${what}: expected an ApiError, got ${String(err)}`);
  return err;
}

/**
 * Lists and watches the one object called `name`, as the controller's informers do: through the field
 * selector metadata.name=<name>, which RBAC checks against a rule's resourceNames. Returns what each saw.
 */
async function listAndWatchByName<T extends KubeObject>(
  resource: ResourceClient<T>,
  name: string,
  namespace?: string,
): Promise<{ listed: (string | undefined)[]; watched: string }> {
  const options = { namespace, fieldSelector: `metadata.name=${name}` };
  const listed = (await resource.list(options)).items.map((o) => o.metadata.name);
  const watch = resource.watch(options);
  const first = (await watch.next()).value;
  await watch.return(undefined);
  const watched =
    first && first.type !== 'ERROR' ? `${first.type} ${first.object.metadata.name}` : String(first?.type);
  return { listed, watched };
}

/** Columns of `kubectl get` output: fields are separated by at least two spaces. */
const columns = (line: string): string[] => line.trim().split(/ {2,}/);

describe('manifests/ installed with kubectl on a real kube-apiserver', () => {
  const cp = useControlPlane({ controllerManager: false });
  let kubectlPath = '';
  /** kubectl's discovery cache, so that no ~/.kube of whoever runs the tests is read or written. */
  let cacheDir = '';
  const install = { first: {} as Run, established: {} as Run, diff: {} as Run, second: {} as Run };
  let shipped: Webhook | undefined;
  const caBundle = { written: '', afterReapply: '' as string | undefined };
  /** Stands in for the webhook: counts the API server's connection attempts and closes each one. */
  let webhookStandIn: Server | undefined;
  let webhookCalls = 0;

  const kubectl = (args: string[]): Promise<Run> =>
    exec(kubectlPath, ['--kubeconfig', cp.plane.kubeconfigPath, '--cache-dir', cacheDir, ...args], {
      timeoutMs: 60_000,
    });

  const pools = () => cp.admin.resource<IPAddressPool>(IPAddressPoolResource);
  const webhookConfigs = () => cp.admin.resource<WebhookConfig>(WebhookConfigs);
  const newPool = (spec: object, name = uniqueName('pool')): IPAddressPool =>
    ({ metadata: { name, namespace: NS }, spec }) as IPAddressPool;
  /** Creates a pool with `spec` (typed loosely, to send what a user might); it must be refused with 422. */
  async function refused(spec: object, ...expected: string[]): Promise<string> {
    const err = await rejection(`a pool with spec ${JSON.stringify(spec)}`, () =>
      pools().create(newPool(spec)),
    );
    assert.equal(err.code, 422, err.message);
    assert.equal(err.reason, 'Invalid', err.message);
    for (const text of expected)
      assert.ok(err.message.includes(text), `${JSON.stringify(err.message)} names ${text}`);
    return err.message;
  }

  before(async () => {
    kubectlPath = (await k8sBinaries(['kubectl'])).paths.kubectl;
    cacheDir = mkdtempSync(join(tmpdir(), 'portico-manifests-e2e-'));
    install.first = await kubectl(['apply', '-k', MANIFESTS]);
    assert.equal(install.first.code, 0, `kubectl apply -k manifests/: ${install.first.stderr}`);
    install.established = await kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      ...[IPAddressPoolResource, L2AdvertisementResource, ServiceL2StatusResource].map(
        (r) => `crd/${r.plural}.${r.group}`,
      ),
    ]);
    shipped = structuredClone((await webhookConfigs().get(WEBHOOK_NAME)).webhooks[0]);
    // What the controller does at start: put its CA into the webhook configuration. A later
    // re-apply of the manifests (an upgrade, a GitOps sync) must neither show it as drift nor undo it.
    caBundle.written = readFileSync(cp.plane.caPath).toString('base64');
    const addCa = { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: caBundle.written };
    await webhookConfigs().patch(WEBHOOK_NAME, undefined, [addCa], { type: 'json' });
    install.diff = await kubectl(['diff', '-k', MANIFESTS]);
    install.second = await kubectl(['apply', '-k', MANIFESTS]);
    caBundle.afterReapply = (await webhookConfigs().get(WEBHOOK_NAME)).webhooks[0]?.clientConfig.caBundle;

    // No controller runs here, and the API server would call the webhook at the portico-webhook
    // Service's ClusterIP, which only kube-proxy on a node could forward: the packets would leave
    // this machine by its default route. Point the webhook at a stand-in on loopback instead, which
    // refuses every call as a controller that is not up yet would.
    webhookStandIn = createServer((socket) => {
      webhookCalls++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => webhookStandIn?.listen(0, '127.0.0.1', resolve));
    const address = webhookStandIn.address();
    assert.ok(address && typeof address === 'object');
    await webhookConfigs().patch(
      WEBHOOK_NAME,
      undefined,
      [
        {
          op: 'replace',
          path: '/webhooks/0/clientConfig',
          value: { url: `https://127.0.0.1:${address.port}${shipped?.clientConfig.service?.path ?? '/'}` },
        },
      ],
      { type: 'json' },
    );
  });

  after(async () => {
    await new Promise((resolve) => (webhookStandIn ? webhookStandIn.close(resolve) : resolve(undefined)));
    if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  });

  it(
    'installs with `kubectl apply -k manifests/`; the CRD becomes Established; re-applying changes nothing',
    cp.run(async () => {
      const created = install.first.stdout.trim().split('\n');
      for (const object of [
        'namespace/portico-system',
        'customresourcedefinition.apiextensions.k8s.io/ipaddresspools.portico.dev',
        'customresourcedefinition.apiextensions.k8s.io/l2advertisements.portico.dev',
        'customresourcedefinition.apiextensions.k8s.io/servicel2statuses.portico.dev',
        'resourcequota/portico-critical-pods',
        'serviceaccount/portico-controller',
        'clusterrole.rbac.authorization.k8s.io/portico-controller',
        'clusterrolebinding.rbac.authorization.k8s.io/portico-controller',
        'role.rbac.authorization.k8s.io/portico-controller',
        'rolebinding.rbac.authorization.k8s.io/portico-controller',
        'service/portico-webhook',
        'validatingwebhookconfiguration.admissionregistration.k8s.io/portico-validating-webhook',
        'deployment.apps/portico-controller',
        'poddisruptionbudget.policy/portico-controller',
      ]) {
        assert.ok(created.includes(`${object} created`), `${object} created: ${install.first.stdout}`);
      }
      assert.equal(install.first.stderr, '', 'no warnings');
      assert.equal(install.established.code, 0, install.established.stderr);
      const crd = await cp.admin.resource<Crd>(CRDs).get('ipaddresspools.portico.dev');
      assert.equal(crd.status?.conditions?.find((c) => c.type === 'Established')?.status, 'True');
      assert.equal(crd.spec.names.kind, 'IPAddressPool');
      assert.equal(crd.spec.scope, 'Namespaced');
      assert.deepEqual(crd.spec.names.shortNames, ['ipp']);
      assert.deepEqual(crd.spec.names.categories, ['portico']);
      assert.deepEqual(
        crd.spec.versions.map((v) => v.name),
        ['v1alpha1'],
      );

      // The controller's CA, patched in after the install, is not drift, and survives a re-apply.
      assert.equal(
        install.diff.code,
        0,
        `kubectl diff -k shows no drift: ${install.diff.stdout}${install.diff.stderr}`,
      );
      assert.equal(install.second.code, 0, install.second.stderr);
      assert.equal(caBundle.afterReapply, caBundle.written, 're-applying keeps the CA the controller wrote');

      const deployment = await cp.admin.resource<Deployment>(Deployments).get('portico-controller', NS);
      assert.equal(deployment.spec.replicas, 2);
      const [container] = deployment.spec.template.spec.containers;
      assert.equal(
        container?.image,
        `ghcr.io/portico-dev/portico:${VERSION}`,
        'the image tag is the package version',
      );
      assert.deepEqual(container?.args, ['controller']);
      assert.equal(deployment.spec.template.spec.serviceAccountName, 'portico-controller');
    }),
  );

  it(
    'ships the webhook with failurePolicy Ignore and no caBundle, and a pool is admitted while the webhook is down',
    cp.run(async () => {
      assert.ok(shipped);
      assert.equal(shipped.name, 'ipaddresspools.portico.dev');
      assert.deepEqual(shipped.clientConfig, {
        service: {
          namespace: NS,
          name: 'portico-webhook',
          path: '/validate-portico-dev-v1alpha1-ipaddresspool',
          port: 443,
        },
      });
      assert.deepEqual(
        shipped.rules.map(({ apiGroups, apiVersions, operations, resources }) => ({
          apiGroups,
          apiVersions,
          operations,
          resources,
        })),
        [
          {
            apiGroups: ['portico.dev'],
            apiVersions: ['v1alpha1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['ipaddresspools'],
          },
        ],
      );
      assert.equal(shipped.failurePolicy, 'Ignore');
      assert.equal(shipped.sideEffects, 'None');
      assert.deepEqual(shipped.admissionReviewVersions, ['v1']);
      assert.equal(shipped.timeoutSeconds, 5);
      assert.equal(shipped.matchPolicy, 'Equivalent');

      const callsBefore = webhookCalls;
      const created = await pools().create(newPool({ addresses: ['192.0.2.0/28'] }));
      assert.equal(created.spec.addresses[0], '192.0.2.0/28');
      assert.ok(webhookCalls > callsBefore, 'the API server did call the webhook, and let the pool through');
    }),
  );

  it(
    'applies the defaults autoAssign: true and avoidBuggyIPs: false, and keeps what the user set',
    cp.run(async () => {
      const defaulted = await pools().create(newPool({ addresses: ['192.0.2.16/28'] }));
      assert.equal(defaulted.spec.autoAssign, true);
      assert.equal(defaulted.spec.avoidBuggyIPs, false);
      assert.equal(defaulted.spec.excludes, undefined);
      assert.equal(defaulted.spec.reuseHoldDown, undefined);
      const explicit = await pools().create(
        newPool({ addresses: ['192.0.2.32/28'], autoAssign: false, avoidBuggyIPs: true }),
      );
      assert.equal(explicit.spec.autoAssign, false);
      assert.equal(explicit.spec.avoidBuggyIPs, true);
    }),
  );

  it(
    'accepts every address form, both families, and every field of the API types',
    cp.run(async () => {
      const forms: Record<string, string[]> = {
        'IPv4 CIDR': ['198.51.100.0/24'],
        'IPv6 CIDR': ['2001:db8:10::/64'],
        'range with spaces around "-"': ['203.0.113.10 - 203.0.113.20'],
        'range without spaces': ['203.0.113.30-203.0.113.40'],
        'IPv6 range': ['2001:db8:11::10-2001:db8:11::ff'],
        'single IPv4 address': ['203.0.113.50'],
        'single IPv6 address': ['2001:db8:12::1'],
        'IPv4-mapped IPv6': ['::ffff:198.18.0.1'],
        'mixed families': ['198.18.1.0/24', '2001:db8:13::/120', '198.18.2.1-198.18.2.9', '2001:db8:14::7'],
        'full-length IPv6 range with embedded IPv4': [
          'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.254 - ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255',
        ],
      };
      for (const [form, addresses] of Object.entries(forms)) {
        const created = await pools()
          .create(newPool({ addresses }))
          .catch((err: unknown) => {
            assert.fail(`${form} ${JSON.stringify(addresses)} was refused: ${String(err)}`);
          });
        assert.deepEqual(created.spec.addresses, addresses, form);
      }
      const everything = {
        addresses: ['198.18.3.0/24', '2001:db8:15::/64'],
        autoAssign: true,
        avoidBuggyIPs: true,
        excludes: ['198.18.3.1', '198.18.3.250-198.18.3.254', '2001:db8:15::/120'],
        reuseHoldDown: '1h30m',
        serviceAllocation: {
          priority: 10,
          namespaces: ['web', 'shop'],
          namespaceSelectors: [{ matchLabels: { team: 'edge' } }],
          serviceSelectors: [
            {
              matchLabels: { 'app.kubernetes.io/name': 'ingress' },
              matchExpressions: [
                { key: 'tier', operator: 'In', values: ['front', 'api'] },
                { key: 'canary', operator: 'NotIn', values: ['true'] },
                { key: 'exposed', operator: 'Exists' },
                { key: 'internal', operator: 'DoesNotExist' },
              ],
            },
          ],
        },
      };
      const created = await pools().create(newPool(everything));
      assert.deepEqual(created.spec, everything, 'stored as sent, nothing pruned');
      for (const reuseHoldDown of ['30s', '10m', '500ms', '1.5s', '0', '']) {
        await pools().create(newPool({ addresses: ['198.18.4.0/30'], reuseHoldDown }), { dryRun: true });
      }
      const priorityOnly = await pools().create(
        newPool({ addresses: ['198.18.5.0/30'], serviceAllocation: { priority: 0 } }),
      );
      assert.deepEqual(priorityOnly.spec.serviceAllocation, { priority: 0 });
    }),
  );

  it(
    'refuses malformed pools with messages that name the field',
    cp.run(async () => {
      await refused({ addresses: [] }, 'spec.addresses', 'should have at least 1 items');
      await refused({ autoAssign: true }, 'spec.addresses', 'Required value');
      const entry =
        'must be a CIDR (203.0.113.0/25), a range (203.0.113.10-203.0.113.20) or a single address';
      await refused({ addresses: ['pool-a'] }, 'spec.addresses[0]', '"pool-a"', entry);
      await refused(
        { addresses: ['192.0.2.0/24', '198.51.100.0/24,203.0.113.0/24'] },
        'spec.addresses[1]',
        '"198.51.100.0/24,203.0.113.0/24"',
        entry,
      );
      await refused({ addresses: ['192.0.2.1 to 192.0.2.9'] }, 'spec.addresses[0]', entry);
      await refused({ addresses: ['192.0.2.0/24'], excludes: ['gateway'] }, 'spec.excludes[0]', entry);
      await refused(
        { addresses: ['192.0.2.0/24'], reuseHoldDown: '10 minutes' },
        'spec.reuseHoldDown',
        '"10 minutes"',
        'must be a duration such as 30s, 10m, 1h30m or 500ms',
      );
      for (const bad of ['10', '-5s', '1d', '5 m']) {
        await refused(
          { addresses: ['192.0.2.0/24'], reuseHoldDown: bad },
          'spec.reuseHoldDown',
          JSON.stringify(bad),
        );
      }
      await refused(
        { addresses: ['192.0.2.0/24'], serviceAllocation: { priority: -1 } },
        'spec.serviceAllocation.priority',
        'greater than or equal to 0',
      );
      await refused(
        { addresses: ['192.0.2.0/24'], serviceAllocation: { namespaces: ['web', 'web'] } },
        'spec.serviceAllocation.namespaces[1]',
        'Duplicate value: "web"',
      );
      const selectorsWith = (expression: object) => ({
        addresses: ['192.0.2.0/24'],
        serviceAllocation: { serviceSelectors: [{ matchExpressions: [{ key: 'tier', ...expression }] }] },
      });
      const needValues = 'must list at least one value when operator is In or NotIn';
      const noValues = 'must be empty when operator is Exists or DoesNotExist';
      const field = 'spec.serviceAllocation.serviceSelectors[0].matchExpressions[0].values';
      await refused(selectorsWith({ operator: 'In' }), `${field}: Required value: ${needValues}`);
      await refused(
        selectorsWith({ operator: 'NotIn', values: [] }),
        `${field}: Required value: ${needValues}`,
      );
      await refused(selectorsWith({ operator: 'Exists', values: ['x'] }), `${field}: Forbidden: ${noValues}`);
      await refused(
        selectorsWith({ operator: 'DoesNotExist', values: ['x'] }),
        `${field}: Forbidden: ${noValues}`,
      );
      await refused(
        selectorsWith({ operator: 'Equals', values: ['x'] }),
        'spec.serviceAllocation.serviceSelectors[0].matchExpressions[0].operator',
        'Unsupported value: "Equals"',
      );
      await refused(
        {
          addresses: ['192.0.2.0/24'],
          serviceAllocation: {
            namespaceSelectors: [{ matchExpressions: [{ key: 'team', operator: 'In' }] }],
          },
        },
        `spec.serviceAllocation.namespaceSelectors[0].matchExpressions[0].values: Required value: ${needValues}`,
      );
      const tooMany = Array.from({ length: 1001 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
      await refused(
        { addresses: ['198.18.0.0/16'], excludes: tooMany },
        'spec.excludes',
        'must have at most 1000 items',
      );
      // Every problem at once, each with its field, so one round trip shows the user all of them.
      const all = await refused(
        { addresses: ['x'], reuseHoldDown: '1 hour', serviceAllocation: { priority: -2 } },
        'spec.addresses[0]',
        'spec.reuseHoldDown',
        'spec.serviceAllocation.priority',
      );
      assert.match(all, /is invalid/);
    }),
  );

  it(
    '`kubectl get` prints ADDRESSES, AUTO ASSIGN, IN USE, FREE, READY and AGE; -o wide adds AVOID BUGGY IPS',
    cp.run(async () => {
      const name = uniqueName('columns');
      await pools().create(newPool({ addresses: ['203.0.113.64/26', '2001:db8:20::/120'] }, name));
      await pools().patch(
        name,
        NS,
        {
          status: {
            inUse: 3,
            free: '317',
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'Ready',
                message: '3 of 320 addresses in use',
                lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
              },
            ],
          },
        },
        { subresource: 'status' },
      );
      const table = await kubectl(['get', 'ipaddresspools', '-n', NS]);
      assert.equal(table.code, 0, table.stderr);
      const [header, ...rows] = table.stdout.trimEnd().split('\n');
      assert.deepEqual(columns(header ?? ''), [
        'NAME',
        'ADDRESSES',
        'AUTO ASSIGN',
        'IN USE',
        'FREE',
        'READY',
        'AGE',
      ]);
      const row = rows.find((r) => r.startsWith(`${name} `));
      assert.ok(row, `a row for ${name}: ${table.stdout}`);
      assert.deepEqual(columns(row).slice(0, 6), [
        name,
        '["203.0.113.64/26","2001:db8:20::/120"]',
        'true',
        '3',
        '317',
        'True',
      ]);

      const wide = await kubectl(['get', 'ipp', name, '-n', NS, '-o', 'wide']);
      assert.equal(wide.code, 0, wide.stderr);
      const [wideHeader, wideRow] = wide.stdout.trimEnd().split('\n');
      assert.deepEqual(columns(wideHeader ?? ''), [
        'NAME',
        'ADDRESSES',
        'AUTO ASSIGN',
        'AVOID BUGGY IPS',
        'IN USE',
        'FREE',
        'READY',
        'AGE',
      ]);
      assert.equal(columns(wideRow ?? '')[3], 'false');

      const category = await kubectl(['get', 'portico', '-n', NS, '-o', 'name']);
      assert.equal(category.code, 0, category.stderr);
      assert.ok(
        category.stdout.split('\n').includes(`ipaddresspool.portico.dev/${name}`),
        `kubectl get portico lists the pools: ${category.stdout}`,
      );
    }),
  );

  it(
    '`kubectl explain` shows the descriptions',
    cp.run(async () => {
      // The API server publishes a new CRD's OpenAPI a moment after it is Established.
      const holdDown = await waitFor('kubectl explain ipaddresspool.spec.reuseHoldDown', async (seen) => {
        const run = await kubectl(['explain', 'ipaddresspool.spec.reuseHoldDown']);
        seen(run);
        return run.code === 0 ? run.stdout : undefined;
      });
      assert.match(holdDown, /FIELD: +reuseHoldDown <string>/);
      const text = holdDown.replace(/\s+/g, ' ');
      assert.ok(text.includes('How long an address freed by a Service is kept from other Services'), text);
      assert.ok(text.includes('30s, 10m, 1h30m, 500ms'), text);
      const addresses = (await kubectl(['explain', 'ipaddresspool.spec.addresses'])).stdout.replace(
        /\s+/g,
        ' ',
      );
      assert.ok(addresses.includes('(203.0.113.10-203.0.113.20; spaces around "-" are allowed)'), addresses);
      const operator = await kubectl([
        'explain',
        'ipp.spec.serviceAllocation.serviceSelectors.matchExpressions.operator',
      ]);
      assert.match(operator.stdout, /ENUM:\s+In\s+NotIn\s+Exists\s+DoesNotExist\s/);
      const free = (await kubectl(['explain', 'ipaddresspool.status.free'])).stdout.replace(/\s+/g, ' ');
      assert.ok(free.includes('as a decimal number'), free);
    }),
  );

  it(
    'takes status only through the status subresource, and checks it against the schema there',
    cp.run(async () => {
      const name = uniqueName('status');
      const status: IPAddressPoolStatus = {
        assignedIPv4: 2,
        assignedIPv6: 1,
        availableIPv4: 14,
        availableIPv6: 255,
        inUse: 3,
        free: '269',
        observedGeneration: 1,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Ready',
            message: '3 of 272 addresses in use',
            lastTransitionTime: '2026-01-02T03:04:05Z',
            observedGeneration: 1,
          },
        ],
      };
      const created = await pools().create({ ...newPool({ addresses: ['192.0.2.64/28'] }, name), status });
      assert.equal(created.status, undefined, 'status sent with a create is dropped');
      const updated = await pools().update({ ...created, status });
      assert.equal(updated.status, undefined, 'status sent with an update of the pool is dropped');
      const patched = await pools().patch(name, NS, { status });
      assert.equal(patched.status, undefined, 'status sent with a patch of the pool is dropped');

      const written = await pools().patch(name, NS, { status }, { subresource: 'status' });
      assert.deepEqual(written.status, status);
      assert.equal(written.metadata.generation, 1, 'a status write is not a new generation');
      assert.deepEqual(written.spec, created.spec, 'the status subresource does not touch the spec');
      const spec = await pools().patch(
        name,
        NS,
        { spec: { autoAssign: false }, status: { inUse: 99 } },
        { subresource: 'status' },
      );
      assert.equal(spec.spec.autoAssign, true, 'spec sent to the status subresource is dropped');
      assert.equal(spec.status?.inUse, 99);

      const badFree = await rejection('free: "lots"', () =>
        pools().patch(name, NS, { status: { free: 'lots' } }, { subresource: 'status' }),
      );
      assert.equal(badFree.code, 422);
      assert.ok(badFree.message.includes('status.free'), badFree.message);
      const badCondition = await rejection('a condition without a reason', () =>
        pools().patch(
          name,
          NS,
          {
            status: {
              conditions: [
                { type: 'Ready', status: 'Maybe', message: '', lastTransitionTime: '2026-01-02T03:04:05Z' },
              ],
            },
          },
          { subresource: 'status' },
        ),
      );
      assert.ok(
        badCondition.message.includes('status.conditions[0].status: Unsupported value: "Maybe"'),
        badCondition.message,
      );
      assert.ok(
        badCondition.message.includes('status.conditions[0].reason: Required value'),
        badCondition.message,
      );
    }),
  );

  it(
    'gives the controller ServiceAccount what it needs and nothing more (kubectl auth can-i --as)',
    cp.run(async () => {
      const other = await createTestNamespace(cp.admin, 'manifests');
      const allowed: string[][] = [
        ['get', 'services', '-n', other],
        ['list', 'services', '--all-namespaces'],
        ['watch', 'services', '--all-namespaces'],
        ['update', 'services', '--subresource=status', '-n', other],
        ['get', 'namespaces'],
        ['list', 'namespaces'],
        ['watch', 'namespaces'],
        ['create', 'events.events.k8s.io', '-n', other],
        ['patch', 'events.events.k8s.io', '-n', other],
        ['create', 'events.events.k8s.io', '-n', NS],
        ...['get', 'list', 'watch', 'patch', 'update'].map((verb) => [
          verb,
          `validatingwebhookconfigurations/${WEBHOOK_NAME}`,
        ]),
        ...['get', 'list', 'watch'].map((verb) => [verb, 'ipaddresspools.portico.dev', '-n', NS]),
        ...['get', 'patch', 'update'].map((verb) => [
          verb,
          'ipaddresspools.portico.dev',
          '--subresource=status',
          '-n',
          NS,
        ]),
        ['get', 'leases.coordination.k8s.io/portico-controller', '-n', NS],
        ['update', 'leases.coordination.k8s.io/portico-controller', '-n', NS],
        ['create', 'leases.coordination.k8s.io', '-n', NS],
        ...['get', 'list', 'watch', 'update'].map((verb) => [verb, `secrets/${CERT_SECRET}`, '-n', NS]),
        ['create', 'secrets', '-n', NS],
      ];
      const denied: string[][] = [
        ['delete', 'services', '-n', other],
        ['update', 'services', '-n', other],
        ['patch', 'services', '-n', other],
        ['patch', 'services', '--subresource=status', '-n', other],
        ['create', 'services', '-n', other],
        ['list', 'pods', '--all-namespaces'],
        ['get', 'pods', '-n', NS],
        ['list', 'nodes'],
        ['patch', 'namespaces'],
        ['create', 'events', '-n', other],
        ['get', `secrets/${CERT_SECRET}`, '-n', other],
        ['list', 'secrets', '-n', NS],
        ['get', 'secrets/some-other-secret', '-n', NS],
        ['delete', `secrets/${CERT_SECRET}`, '-n', NS],
        ['create', 'secrets', '-n', other],
        ['list', 'validatingwebhookconfigurations'],
        ['get', 'validatingwebhookconfigurations/someone-elses-webhook'],
        ['create', 'validatingwebhookconfigurations'],
        ['delete', `validatingwebhookconfigurations/${WEBHOOK_NAME}`],
        ['patch', 'mutatingwebhookconfigurations'],
        ['create', 'ipaddresspools.portico.dev', '-n', NS],
        ['update', 'ipaddresspools.portico.dev', '-n', NS],
        ['patch', 'ipaddresspools.portico.dev', '-n', NS],
        ['delete', 'ipaddresspools.portico.dev', '-n', NS],
        ['list', 'ipaddresspools.portico.dev', '-n', other],
        ['update', 'leases.coordination.k8s.io/kube-scheduler', '-n', NS],
        ['create', 'leases.coordination.k8s.io', '-n', other],
        ['delete', 'leases.coordination.k8s.io/portico-controller', '-n', NS],
        ['patch', 'clusterroles'],
        ['*', '*'],
      ];
      const ask = (args: string[]) => kubectl(['auth', 'can-i', ...args, `--as=${CONTROLLER}`]);
      const answers = await Promise.all([...allowed, ...denied].map(ask));
      const wrong: string[] = [];
      for (const [i, args] of [...allowed, ...denied].entries()) {
        const expected = i < allowed.length ? 'yes' : 'no';
        const answer = answers[i]!.stdout.trim();
        if (answer !== expected)
          wrong.push(`can-i ${args.join(' ')}: ${answer || answers[i]!.stderr.trim()}, expected ${expected}`);
      }
      assert.deepEqual(wrong, []);
    }),
  );

  it(
    "lets the controller's own token reach its single Secret, Lease and webhook configuration by name only",
    cp.run(async () => {
      const sa = clientFor(await cp.plane.serviceAccountKubeconfig(NS, 'portico-controller'));
      try {
        const secrets = sa.resource<Secret>(Resources.secrets);
        await secrets.create({ metadata: { name: CERT_SECRET, namespace: NS }, type: 'Opaque', data: {} });
        const cert = await secrets.get(CERT_SECRET, NS);
        await secrets.update({ ...cert, data: { 'ca.crt': Buffer.from('pem').toString('base64') } });
        assert.deepEqual(await listAndWatchByName(secrets, CERT_SECRET, NS), {
          listed: [CERT_SECRET],
          watched: `ADDED ${CERT_SECRET}`,
        });
        const list = await rejection('listing every Secret', () => secrets.list({ namespace: NS }));
        assert.ok(isForbidden(list), list.message);
        // It may create a Secret of another name (create cannot be limited by name), but not read it back.
        await secrets.create({ metadata: { name: 'portico-decoy', namespace: NS }, type: 'Opaque' });
        const decoy = await rejection('reading a Secret of another name', () =>
          secrets.get('portico-decoy', NS),
        );
        assert.ok(isForbidden(decoy), decoy.message);

        const leases = sa.resource<Lease>(Resources.leases);
        const lease = await leases.create({
          metadata: { name: 'portico-controller', namespace: NS },
          spec: { holderIdentity: 'portico-controller-0', leaseDurationSeconds: 15 },
        });
        await leases.update({ ...lease, spec: { ...lease.spec, holderIdentity: 'portico-controller-1' } });
        const elsewhere = await rejection('reading a Lease in another namespace', () =>
          leases.get('portico-controller', 'default'),
        );
        assert.ok(isForbidden(elsewhere), elsewhere.message);

        const webhooks = sa.resource<WebhookConfig>(WebhookConfigs);
        assert.deepEqual(await listAndWatchByName(webhooks, WEBHOOK_NAME), {
          listed: [WEBHOOK_NAME],
          watched: `ADDED ${WEBHOOK_NAME}`,
        });
        await webhooks.patch(WEBHOOK_NAME, undefined, {
          metadata: { labels: { 'portico.dev/ca-rotated': 'true' } },
        });
        const all = await rejection('listing every webhook configuration', () => webhooks.list());
        assert.ok(isForbidden(all), all.message);

        const namespaces = await sa.resource<Namespace>(Resources.namespaces).list();
        assert.ok(namespaces.items.some((n) => n.metadata.name === NS));
      } finally {
        sa.close();
      }
    }),
  );

  it(
    "the controller's pod template passes admission: PodSecurity restricted, and the system-cluster-critical priority",
    cp.run(async () => {
      const deployment = await cp.admin.resource<Deployment>(Deployments).get('portico-controller', NS);
      const { template } = deployment.spec;
      const pods = cp.admin.resource<Pod>(Resources.pods);
      const podIn = (namespace: string, spec: PodSpec): Pod => ({
        metadata: { name: 'portico-controller-probe', namespace, labels: template.metadata.labels },
        spec,
      });
      const inPorticoSystem = await pods.create(podIn(NS, template.spec), { dryRun: true });
      assert.equal(inPorticoSystem.spec.priorityClassName, 'system-cluster-critical');
      assert.equal(
        inPorticoSystem.spec.priority,
        2_000_000_000,
        'the priority class resolved outside kube-system',
      );

      // portico-system allows privileged pods (for the speaker); the controller would run under "restricted".
      const restricted = await createTestNamespace(cp.admin, 'restricted');
      await cp.admin.resource<Namespace>(Resources.namespaces).patch(restricted, undefined, {
        metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
      });
      await pods.create(podIn(restricted, template.spec), { dryRun: true });
      // The same check refuses a container that keeps its capabilities: the admission above was real.
      const loosened = structuredClone(template.spec);
      delete loosened.containers[0]?.securityContext?.capabilities;
      const refusedPod = await rejection('a pod that keeps its capabilities', () =>
        pods.create(podIn(restricted, loosened), { dryRun: true }),
      );
      assert.match(refusedPod.message, /violates PodSecurity "restricted:latest".*capabilities/);
    }),
  );
});
