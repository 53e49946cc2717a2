import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KubeconfigError } from './errors.js';
import { mergeKubeconfigs, parseKubeconfig, readKubeconfigFile } from './kubeconfig-file.js';

const root = mkdtempSync(join(tmpdir(), 'portico-kcf-'));
after(() => rmSync(root, { recursive: true, force: true }));

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Asserts a one-line KubeconfigError naming the file and matching every pattern. */
function assertParseFails(text: string, ...patterns: RegExp[]): void {
  assert.throws(
    () => parseKubeconfig(text, '/etc/kc/config'),
    (err: unknown) => {
      assert.ok(err instanceof KubeconfigError, String(err));
      assert.doesNotMatch(err.message, /\n/);
      assert.ok(err.message.startsWith('kubeconfig /etc/kc/config: '), err.message);
      for (const p of patterns) assert.match(err.message, p);
      return true;
    },
  );
}

describe('parseKubeconfig', () => {
  it('reads every supported field of clusters, users and contexts', () => {
    const config = parseKubeconfig(
      `
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example:6443
    certificate-authority-data: ${b64('CA PEM')}
    tls-server-name: api.prod.example
    insecure-skip-tls-verify: false
    extensions:
    - name: client.authentication.k8s.io/exec
      extension: { audience: prod }
users:
- name: alice
  user:
    client-certificate-data: ${b64('CERT PEM')}
    client-key-data: ${b64('KEY PEM')}
    token: abc
    username: alice
    password: secret
    as: bob
    as-groups: [admins]
- name: plugin
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: aws
      args: [eks, get-token]
      env: [{ name: AWS_PROFILE, value: prod }]
      provideClusterInfo: true
      interactiveMode: Never
      installHint: install the aws CLI
- name: legacy
  user:
    auth-provider: { name: oidc, config: { id-token: x, client-id: y } }
contexts:
- name: prod
  context: { cluster: prod, user: alice, namespace: apps }
current-context: prod
`,
      '/etc/kc/config',
    );
    assert.equal(config.currentContext, 'prod');
    const cluster = config.clusters.get('prod');
    assert.equal(cluster?.server, 'https://prod.example:6443');
    assert.equal(cluster?.caData?.toString(), 'CA PEM');
    assert.equal(cluster?.tlsServerName, 'api.prod.example');
    assert.equal(cluster?.insecureSkipTlsVerify, false);
    assert.deepEqual(cluster?.execExtension, { audience: 'prod' });
    const alice = config.users.get('alice');
    assert.equal(alice?.certData?.toString(), 'CERT PEM');
    assert.equal(alice?.keyData?.toString(), 'KEY PEM');
    assert.equal(alice?.token, 'abc');
    assert.equal(alice?.username, 'alice');
    assert.equal(alice?.password, 'secret');
    assert.equal(alice?.impersonate, 'bob');
    assert.deepEqual(alice?.impersonateGroups, ['admins']);
    assert.deepEqual(config.users.get('plugin')?.exec, {
      command: 'aws',
      args: ['eks', 'get-token'],
      env: [{ name: 'AWS_PROFILE', value: 'prod' }],
      apiVersion: 'client.authentication.k8s.io/v1',
      installHint: 'install the aws CLI',
      provideClusterInfo: true,
      interactiveMode: 'Never',
    });
    assert.deepEqual(config.users.get('legacy')?.authProvider, {
      name: 'oidc',
      config: { 'id-token': 'x', 'client-id': 'y' },
    });
    assert.deepEqual(config.contexts.get('prod'), {
      name: 'prod',
      cluster: 'prod',
      user: 'alice',
      namespace: 'apps',
    });
  });

  it('takes relative paths relative to the file’s directory, and a bare exec command from $PATH', () => {
    const config = parseKubeconfig(
      `
clusters:
- name: c
  cluster: { server: https://a.example, certificate-authority: pki/ca.crt }
users:
- name: u
  user:
    client-certificate: ../certs/u.crt
    client-key: /abs/u.key
    tokenFile: token
    exec: { apiVersion: client.authentication.k8s.io/v1, command: ./bin/plugin }
- name: v
  user:
    exec: { apiVersion: client.authentication.k8s.io/v1, command: kubelogin }
`,
      '/home/me/.kube/config',
    );
    assert.equal(config.clusters.get('c')?.caFile, '/home/me/.kube/pki/ca.crt');
    const u = config.users.get('u');
    assert.equal(u?.certFile, '/home/me/certs/u.crt');
    assert.equal(u?.keyFile, '/abs/u.key');
    assert.equal(u?.tokenFile, '/home/me/.kube/token');
    assert.equal(u?.exec?.command, '/home/me/.kube/bin/plugin');
    assert.equal(config.users.get('v')?.exec?.command, 'kubelogin');
  });

  it('accepts an empty file, JSON, and null lists', () => {
    assert.equal(parseKubeconfig('', '/x').clusters.size, 0);
    assert.equal(parseKubeconfig('clusters:\nusers: null\n', '/x').users.size, 0);
    const json = parseKubeconfig(
      JSON.stringify({ clusters: [{ name: 'c', cluster: { server: 'https://j' } }], 'current-context': 'x' }),
      '/x',
    );
    assert.equal(json.clusters.get('c')?.server, 'https://j');
    assert.equal(json.currentContext, 'x');
  });

  it('invalid YAML is one line with its position', () => {
    assertParseFails(
      'apiVersion: v1\nclusters: [\n  - name: {\n    oops\n',
      /invalid YAML: .* at line \d+, column \d+$/,
    );
  });

  it('rejects a document that is not a kubeconfig', () => {
    assertParseFails('- a\n- b\n', /the top level must be a mapping/);
    assertParseFails('clusters: {c: {}}\n', /clusters must be a list/);
  });

  it('rejects a field of the wrong type, naming the entry', () => {
    assertParseFails(
      'clusters:\n- name: c\n  cluster: { server: 6443 }\n',
      /cluster "c": server must be a string/,
    );
    assertParseFails(
      'clusters:\n- name: c\n  cluster: { insecure-skip-tls-verify: "yes" }\n',
      /insecure-skip-tls-verify must be true or false/,
    );
  });

  it('rejects data fields that are not base64', () => {
    assertParseFails(
      'users:\n- name: u\n  user:\n    client-key-data: "-----BEGIN KEY-----"\n',
      /user "u": client-key-data is not base64/,
    );
  });

  it('rejects entries without a name, and two entries with the same name', () => {
    assertParseFails('contexts:\n- context: { cluster: c }\n', /contexts\[0\] has no name/);
    assertParseFails('users:\n- name: u\n- name: u\n', /two users are named "u"/);
  });
});

describe('readKubeconfigFile', () => {
  it('a directory is a one-line error naming it', () => {
    const dir = join(root, 'dir');
    mkdirSync(dir);
    assert.throws(
      () => readKubeconfigFile(dir),
      (err: unknown) => err instanceof KubeconfigError && err.message.startsWith(`kubeconfig ${dir}: EISDIR`),
    );
  });

  it('reads a file, resolving paths against its directory', () => {
    const path = join(root, 'config');
    writeFileSync(
      path,
      'clusters:\n- name: c\n  cluster: { server: https://a, certificate-authority: ca.crt }\n',
    );
    assert.equal(readKubeconfigFile(path).clusters.get('c')?.caFile, join(root, 'ca.crt'));
  });
});

describe('mergeKubeconfigs', () => {
  const file = (server: string, current?: string) =>
    parseKubeconfig(
      [
        'clusters:',
        '- name: shared',
        `  cluster: { server: ${server} }`,
        `- name: only-${server.slice(8)}`,
        `  cluster: { server: ${server} }`,
        'users:',
        '- name: shared',
        `  user: { token: ${server.slice(8)} }`,
        'contexts:',
        '- name: shared',
        '  context: { cluster: shared, user: shared }',
        ...(current ? [`current-context: ${current}`] : []),
      ].join('\n'),
      '/x',
    );

  it('the first file to define a name wins', () => {
    const merged = mergeKubeconfigs([file('https://one'), file('https://two')]);
    assert.equal(merged.clusters.get('shared')?.server, 'https://one');
    assert.equal(merged.users.get('shared')?.token, 'one');
    assert.deepEqual([...merged.clusters.keys()], ['shared', 'only-one', 'only-two']);
    assert.equal(merged.contexts.size, 1);
  });

  it('the first file that sets current-context wins', () => {
    assert.equal(
      mergeKubeconfigs([file('https://one'), file('https://two', 'b'), file('https://three', 'c')])
        .currentContext,
      'b',
    );
    assert.equal(mergeKubeconfigs([file('https://one', 'a'), file('https://two', 'b')]).currentContext, 'a');
    assert.equal(mergeKubeconfigs([file('https://one')]).currentContext, undefined);
  });
});
