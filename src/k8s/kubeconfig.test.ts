import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KubeconfigError } from './errors.js';
import { type KubeconfigSource, loadKubeconfig } from './kubeconfig.js';

const root = mkdtempSync(join(tmpdir(), 'portico-kc-'));
after(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** A fresh, empty directory under the temp root. */
function freshDir(): string {
  const dir = join(root, `d${++counter}`);
  mkdirSync(dir);
  return dir;
}

interface ConfigShape {
  server?: string;
  cluster?: string;
  contextCluster?: string;
  currentContext?: string | null;
  extra?: string;
  context?: string;
}

function kubeconfigYaml(o: ConfigShape = {}): string {
  const cluster = o.cluster ?? 'c';
  const context = o.context ?? 'x';
  const lines = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${cluster}`,
    '  cluster:',
    o.server === undefined ? '    insecure-skip-tls-verify: true' : `    server: ${JSON.stringify(o.server)}`,
    ...(o.extra ? [o.extra] : []),
    'users:',
    `- name: u-${context}`,
    '  user:',
    '    token: t',
    'contexts:',
    `- name: ${context}`,
    '  context:',
    `    cluster: ${o.contextCluster ?? cluster}`,
    `    user: u-${context}`,
  ];
  if (o.currentContext !== null) lines.push(`current-context: ${o.currentContext ?? context}`);
  return `${lines.join('\n')}\n`;
}

function writeConfig(text: string, name = 'config'): string {
  const path = join(freshDir(), name);
  writeFileSync(path, text);
  return path;
}

/** Isolated source: no real $KUBECONFIG, home, or service account is ever consulted. */
function source(extra: KubeconfigSource): KubeconfigSource {
  return { env: {}, home: freshDir(), serviceAccountDir: join(root, 'no-such-sa'), ...extra };
}

/** Asserts that loading fails with a one-line KubeconfigError matching every pattern. */
function assertFails(src: KubeconfigSource, ...patterns: (RegExp | string)[]): KubeconfigError {
  let caught: unknown;
  try {
    loadKubeconfig(src);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof KubeconfigError, `expected a KubeconfigError, got ${String(caught)}`);
  assert.equal(caught.name, 'KubeconfigError');
  assert.doesNotMatch(caught.message, /[\r\n]/, `not one line: ${JSON.stringify(caught.message)}`);
  for (const p of patterns) {
    if (typeof p === 'string') assert.ok(caught.message.includes(p), `"${caught.message}" lacks "${p}"`);
    else assert.match(caught.message, p);
  }
  assert.doesNotMatch(caught.message, /localhost:8080/);
  return caught;
}

describe('loadKubeconfig', () => {
  describe('--kubeconfig flag', () => {
    it('loads a valid file and returns its server URL without trailing slashes', () => {
      const path = writeConfig(kubeconfigYaml({ server: 'https://10.0.0.1:6443/' }));
      const loaded = loadKubeconfig(source({ flag: path }));
      assert.equal(loaded.server, 'https://10.0.0.1:6443');
      assert.equal(loaded.origin, `--kubeconfig ${path}`);
      assert.equal(loaded.context.name, 'x');
      assert.equal(loaded.user.token, 't');
    });

    it('takes precedence over $KUBECONFIG', () => {
      const flagged = writeConfig(kubeconfigYaml({ server: 'https://flag.example:6443' }));
      const env = writeConfig(kubeconfigYaml({ server: 'https://env.example:6443' }));
      const loaded = loadKubeconfig(source({ flag: flagged, env: { KUBECONFIG: env } }));
      assert.equal(loaded.server, 'https://flag.example:6443');
    });

    it('a missing file is an error that names the path', () => {
      const path = join(freshDir(), 'missing.yaml');
      assertFails(source({ flag: path }), path, /not found/);
    });

    it('an empty path is an error', () => {
      assertFails(source({ flag: '' }), '--kubeconfig', /empty/);
    });

    it('a directory is a one-line error naming it', () => {
      const dir = freshDir();
      assertFails(source({ flag: dir }), dir);
    });
  });

  describe('$KUBECONFIG', () => {
    it('a missing file is an error naming it', () => {
      const path = join(freshDir(), 'nope');
      assertFails(source({ env: { KUBECONFIG: path } }), '$KUBECONFIG', path);
    });

    it('merges several files, keeping the current-context of the first', () => {
      const first = writeConfig(
        kubeconfigYaml({ server: 'https://first.example:6443', cluster: 'c1', context: 'one' }),
      );
      const second = writeConfig(
        kubeconfigYaml({ server: 'https://second.example:6443', cluster: 'c2', context: 'two' }),
      );
      const loaded = loadKubeconfig(source({ env: { KUBECONFIG: [first, second].join(delimiter) } }));
      assert.equal(loaded.server, 'https://first.example:6443');
      assert.equal(loaded.context.name, 'one');
      assert.deepEqual([...loaded.config.contexts.keys()].sort(), ['one', 'two']);
      assert.deepEqual([...loaded.config.clusters.keys()].sort(), ['c1', 'c2']);
      assert.ok(loaded.origin.startsWith('$KUBECONFIG'));
    });

    it('skips missing entries in the list, and ignores empty ones', () => {
      const missing = join(freshDir(), 'missing');
      const real = writeConfig(kubeconfigYaml({ server: 'https://real.example' }));
      const loaded = loadKubeconfig(source({ env: { KUBECONFIG: ['', missing, real].join(delimiter) } }));
      assert.equal(loaded.server, 'https://real.example');
    });

    it('is preferred to the in-cluster service account and to ~/.kube/config', () => {
      const sa = serviceAccount();
      const home = freshDir();
      mkdirSync(join(home, '.kube'));
      writeFileSync(join(home, '.kube', 'config'), kubeconfigYaml({ server: 'https://home.example' }));
      const env = writeConfig(kubeconfigYaml({ server: 'https://env.example' }));
      const loaded = loadKubeconfig({
        env: { KUBECONFIG: env, KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
        serviceAccountDir: sa,
        home,
      });
      assert.equal(loaded.server, 'https://env.example');
    });
  });

  describe('~/.kube/config', () => {
    it('is used when there is no flag, no $KUBECONFIG and no service account', () => {
      const home = freshDir();
      mkdirSync(join(home, '.kube'));
      const path = join(home, '.kube', 'config');
      writeFileSync(path, kubeconfigYaml({ server: 'https://home.example:443' }));
      const loaded = loadKubeconfig(source({ home }));
      assert.equal(loaded.server, 'https://home.example:443');
      assert.equal(loaded.origin, path);
    });

    it('when nothing is found, the error says to pass --kubeconfig (never a localhost:8080 fallback)', () => {
      assertFails(source({}), '--kubeconfig', '$KUBECONFIG', '~/.kube/config');
    });

    it('KUBERNETES_SERVICE_HOST without a token file is not enough for in-cluster', () => {
      assertFails(source({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' } }), '--kubeconfig');
    });
  });

  describe('in-cluster', () => {
    it('uses the service account files and KUBERNETES_SERVICE_HOST/PORT', async () => {
      const sa = serviceAccount();
      const loaded = loadKubeconfig({
        env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '6443' },
        serviceAccountDir: sa,
        home: freshDir(),
      });
      assert.equal(loaded.server, 'https://10.96.0.1:6443');
      assert.equal(loaded.origin, 'in-cluster');
      assert.equal(loaded.cluster.server, 'https://10.96.0.1:6443');
      assert.equal(loaded.cluster.caFile, join(sa, 'ca.crt'));
      assert.equal(loaded.context.namespace, 'portico-system');
      // The token is read from the service account directory, and re-read as the kubelet rotates it.
      const credentials = await loaded.credentials.get();
      assert.equal(credentials.headers.Authorization, 'Bearer sa-token-123');
      assert.match(String(credentials.ca), /BEGIN CERTIFICATE/);
      assert.equal(credentials.rejectUnauthorized, undefined);
      writeFileSync(join(sa, 'token'), 'sa-token-456\n');
      assert.equal((await loaded.credentials.get()).headers.Authorization, 'Bearer sa-token-456');
    });

    it('brackets an IPv6 host and defaults the port to 443', () => {
      const loaded = loadKubeconfig({
        env: { KUBERNETES_SERVICE_HOST: 'fd00:10:96::1' },
        serviceAccountDir: serviceAccount(),
        home: freshDir(),
      });
      assert.equal(loaded.server, 'https://[fd00:10:96::1]:443');
      assert.equal(new URL(loaded.server).hostname, '[fd00:10:96::1]');
    });

    it('is preferred to ~/.kube/config', () => {
      const home = freshDir();
      mkdirSync(join(home, '.kube'));
      writeFileSync(join(home, '.kube', 'config'), kubeconfigYaml({ server: 'https://home.example' }));
      const loaded = loadKubeconfig({
        env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
        serviceAccountDir: serviceAccount(),
        home,
      });
      assert.equal(loaded.origin, 'in-cluster');
    });

    it('a missing ca.crt is a one-line error naming it', () => {
      const sa = serviceAccount({ ca: false });
      assertFails(
        {
          env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
          serviceAccountDir: sa,
        },
        'in-cluster',
        join(sa, 'ca.crt'),
      );
    });
  });

  describe('invalid files', () => {
    it('invalid YAML is a one-line error naming the file', () => {
      const path = writeConfig('apiVersion: v1\nclusters: [\n  - name: {\n    oops\n');
      assertFails(source({ flag: path }), path);
    });

    it('no current-context', () => {
      const path = writeConfig(kubeconfigYaml({ server: 'https://a.example', currentContext: null }));
      assertFails(source({ flag: path }), path, /no current-context/);
    });

    it('a current-context that is not defined', () => {
      const path = writeConfig(kubeconfigYaml({ server: 'https://a.example', currentContext: 'ghost' }));
      assertFails(source({ flag: path }), /current-context "ghost" is not defined/);
    });

    it('a context naming a cluster that does not exist', () => {
      const path = writeConfig(kubeconfigYaml({ server: 'https://a.example', contextCluster: 'ghost' }));
      assertFails(source({ flag: path }), /context "x" names no defined cluster/);
    });

    it('a cluster without a server', () => {
      const path = writeConfig(kubeconfigYaml({}));
      assertFails(source({ flag: path }), path, /server/);
    });

    it('a malformed server URL', () => {
      const path = writeConfig(kubeconfigYaml({ server: 'not a url' }));
      assertFails(source({ flag: path }), /malformed server URL "not a url"/);
    });

    it('a server URL with another scheme', () => {
      const path = writeConfig(kubeconfigYaml({ server: 'ftp://a.example' }));
      assertFails(source({ flag: path }), /ftp:\/\/a\.example/);
    });

    it('a certificate-authority file that does not exist', () => {
      const ca = join(freshDir(), 'ca.crt');
      const path = writeConfig(
        kubeconfigYaml({ server: 'https://a.example', extra: `    certificate-authority: ${ca}` }),
      );
      assertFails(source({ flag: path }), /certificate-authority/, ca);
    });

    it('a proxy-url, which is not supported', () => {
      const path = writeConfig(
        kubeconfigYaml({ server: 'https://a.example', extra: '    proxy-url: http://proxy:3128' }),
      );
      assertFails(source({ flag: path }), /proxy-url/);
    });
  });
});

describe('loadKubeconfig, as kubectl reads kubeconfigs', () => {
  it('$KUBECONFIG: the first file to define a name wins, and the first to set current-context', () => {
    const first = writeConfig(
      kubeconfigYaml({
        server: 'https://first.example',
        cluster: 'shared',
        context: 'one',
        currentContext: null,
      }),
    );
    const second = writeConfig(
      kubeconfigYaml({
        server: 'https://second.example',
        cluster: 'shared',
        context: 'one',
        currentContext: 'one',
      }),
    );
    const loaded = loadKubeconfig(source({ env: { KUBECONFIG: [first, second].join(delimiter) } }));
    assert.equal(loaded.context.name, 'one');
    assert.equal(loaded.server, 'https://first.example');
    assert.equal(loaded.config.clusters.size, 1);
  });

  it('takes relative file paths relative to the kubeconfig, not the working directory', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'pki'));
    writeFileSync(join(dir, 'pki', 'ca.crt'), 'CA');
    writeFileSync(join(dir, 'pki', 'token'), 'file-token');
    const path = join(dir, 'config');
    writeFileSync(
      path,
      kubeconfigYaml({ server: 'https://a.example', extra: '    certificate-authority: pki/ca.crt' }).replace(
        '    token: t',
        '    tokenFile: ./pki/token',
      ),
    );
    const loaded = loadKubeconfig(source({ flag: path }));
    assert.equal(loaded.cluster.caFile, join(dir, 'pki', 'ca.crt'));
    const credentials = await loaded.credentials.get();
    assert.equal(String(credentials.ca), 'CA');
    assert.equal(credentials.headers.Authorization, 'Bearer file-token');
  });

  it('insecure-skip-tls-verify reaches the credentials', async () => {
    const path = writeConfig(
      kubeconfigYaml({ server: 'https://a.example', extra: '    insecure-skip-tls-verify: true' }),
    );
    const loaded = loadKubeconfig(source({ flag: path }));
    assert.equal(loaded.cluster.insecureSkipTlsVerify, true);
    assert.equal((await loaded.credentials.get()).rejectUnauthorized, false);
  });

  it('invalid YAML names the file and the line', () => {
    const path = writeConfig('apiVersion: v1\nclusters: [\n  - name: {\n    oops\n');
    assertFails(source({ flag: path }), `kubeconfig ${path}: invalid YAML:`, /at line \d+, column \d+$/);
  });

  it('a context naming an undefined user', () => {
    const path = writeConfig(
      kubeconfigYaml({ server: 'https://a.example' }).replace('user: u-x', 'user: ghost'),
    );
    assertFails(source({ flag: path }), /context "x" names user "ghost", which is not defined/);
  });

  it('a token file that does not exist', () => {
    const missing = join(freshDir(), 'token');
    const path = writeConfig(
      kubeconfigYaml({ server: 'https://a.example' }).replace('token: t', `tokenFile: ${missing}`),
    );
    assertFails(source({ flag: path }), path, missing, /not found/);
  });

  it('a client certificate without its key', () => {
    const cert = writeConfig('CERT', 'u.crt');
    const path = writeConfig(
      kubeconfigYaml({ server: 'https://a.example' }).replace('token: t', `client-certificate: ${cert}`),
    );
    assertFails(source({ flag: path }), /both a client certificate and a client key/);
  });

  it('an exec plugin with an unsupported apiVersion, or one that must be interactive', () => {
    const exec = (lines: string[]) =>
      writeConfig(
        kubeconfigYaml({ server: 'https://a.example' }).replace(
          '    token: t',
          ['    exec:', '      command: kubelogin', ...lines.map((l) => `      ${l}`)].join('\n'),
        ),
      );
    assertFails(
      source({ flag: exec(['apiVersion: client.authentication.k8s.io/v1alpha1']) }),
      /exec apiVersion "client.authentication.k8s.io\/v1alpha1" is not supported/,
    );
    assertFails(
      source({ flag: exec(['apiVersion: client.authentication.k8s.io/v1', 'interactiveMode: Always']) }),
      /interactive terminal/,
    );
  });
});

/** A fake service account directory: token, ca.crt and namespace. */
function serviceAccount(options: { ca?: boolean } = {}): string {
  const dir = freshDir();
  writeFileSync(join(dir, 'token'), 'sa-token-123');
  if (options.ca !== false) {
    writeFileSync(join(dir, 'ca.crt'), '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n');
  }
  writeFileSync(join(dir, 'namespace'), 'portico-system\n');
  return dir;
}
