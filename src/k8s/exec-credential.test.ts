import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KubeconfigError } from './errors.js';
import { ExecCredentialPlugin } from './exec-credential.js';
import { loadKubeconfig } from './kubeconfig.js';
import type { ClusterConfig, ExecConfig } from './kubeconfig-file.js';

const root = mkdtempSync(join(tmpdir(), 'portico-exec-'));
after(() => rmSync(root, { recursive: true, force: true }));

/**
 * A stand-in credential plugin. It counts its runs in <dir>/calls, records what it was given in
 * <dir>/seen.json, and answers according to its first argument.
 */
const PLUGIN = join(root, 'plugin.mjs');
writeFileSync(
  PLUGIN,
  `
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
const [mode, dir] = process.argv.slice(2);
appendFileSync(dir + '/calls', 'x');
const calls = readFileSync(dir + '/calls', 'utf8').length;
const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
writeFileSync(dir + '/seen.json', JSON.stringify({ info, args: process.argv.slice(2), var: process.env.PLUGIN_VAR }));
const answer = (status, apiVersion = info.apiVersion) =>
  process.stdout.write(JSON.stringify({ apiVersion, kind: 'ExecCredential', status }));
const expiresIn = process.env.EXPIRES_IN_MS;
switch (mode) {
  case 'token':
    answer({
      token: 'token-' + calls,
      expirationTimestamp: expiresIn ? new Date(Date.now() + Number(expiresIn)).toISOString() : undefined,
    });
    break;
  case 'cert':
    answer({ clientCertificateData: 'CERT PEM', clientKeyData: 'KEY PEM' });
    break;
  case 'other-version':
    answer({ token: 't' }, 'client.authentication.k8s.io/v1alpha1');
    break;
  case 'empty':
    answer({});
    break;
  case 'garbage':
    process.stdout.write('Please log in at https://login.example\\n');
    break;
  case 'fail':
    process.stderr.write('\\nerror: you must be logged in to get a token\\nsee --help\\n');
    process.exit(3);
  case 'hang':
    setTimeout(() => {}, 60_000);
}
`,
);

let counter = 0;
function freshDir(): string {
  const dir = join(root, `d${++counter}`);
  mkdirSync(dir);
  return dir;
}

const CLUSTER: ClusterConfig = { name: 'c', server: 'https://a.example:6443', insecureSkipTlsVerify: false };

/** A plugin running PLUGIN in `mode`, with its own state directory. */
function plugin(
  mode: string,
  options: {
    env?: Record<string, string>;
    exec?: Partial<ExecConfig>;
    cluster?: ClusterConfig;
    timeoutMs?: number;
  } = {},
) {
  const dir = freshDir();
  const exec: ExecConfig = {
    command: process.execPath,
    args: [PLUGIN, mode, dir],
    env: Object.entries(options.env ?? {}).map(([name, value]) => ({ name, value })),
    apiVersion: 'client.authentication.k8s.io/v1',
    provideClusterInfo: false,
    ...options.exec,
  };
  return {
    plugin: new ExecCredentialPlugin(exec, options.cluster ?? CLUSTER, options.timeoutMs),
    calls: () => {
      try {
        return readFileSync(join(dir, 'calls'), 'utf8').length;
      } catch {
        return 0;
      }
    },
    seen: () => JSON.parse(readFileSync(join(dir, 'seen.json'), 'utf8')),
  };
}

async function assertFails(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof KubeconfigError, String(err));
    assert.doesNotMatch(err.message, /\n/);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

describe('ExecCredentialPlugin', () => {
  it('runs the command with its args and env, and KUBERNETES_EXEC_INFO as kubectl sets it', async () => {
    const p = plugin('token', { env: { PLUGIN_VAR: 'from-kubeconfig' } });
    assert.deepEqual(await p.plugin.get(), {
      token: 'token-1',
      clientCertificateData: undefined,
      clientKeyData: undefined,
    });
    const seen = p.seen();
    assert.equal(seen.var, 'from-kubeconfig');
    assert.equal(seen.args[0], 'token');
    assert.deepEqual(seen.info, {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      spec: { interactive: false },
    });
  });

  it('with provideClusterInfo, passes the cluster in KUBERNETES_EXEC_INFO', async () => {
    const p = plugin('token', {
      exec: { provideClusterInfo: true, apiVersion: 'client.authentication.k8s.io/v1beta1' },
      cluster: {
        ...CLUSTER,
        caData: Buffer.from('CA PEM'),
        tlsServerName: 'api',
        execExtension: { audience: 'x' },
      },
    });
    await p.plugin.get();
    assert.deepEqual(p.seen().info, {
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      kind: 'ExecCredential',
      spec: {
        interactive: false,
        cluster: {
          server: 'https://a.example:6443',
          'tls-server-name': 'api',
          'certificate-authority-data': Buffer.from('CA PEM').toString('base64'),
          config: { audience: 'x' },
        },
      },
    });
  });

  it('caches a credential until its expirationTimestamp', async () => {
    const p = plugin('token', { env: { EXPIRES_IN_MS: '1500' } });
    const first = await p.plugin.get();
    assert.equal(first.token, 'token-1');
    assert.ok(first.expiresAt && first.expiresAt > Date.now());
    assert.equal((await p.plugin.get()).token, 'token-1');
    assert.equal(p.calls(), 1);
    await new Promise((resolve) => setTimeout(resolve, (first.expiresAt ?? 0) - Date.now() + 20));
    assert.equal((await p.plugin.get()).token, 'token-2');
    assert.equal(p.calls(), 2);
  });

  it('runs again for a credential that has already expired', async () => {
    const p = plugin('token', { env: { EXPIRES_IN_MS: '-1000' } });
    await p.plugin.get();
    await p.plugin.get();
    assert.equal(p.calls(), 2);
  });

  it('keeps a credential without expiry until invalidated, and runs once for concurrent callers', async () => {
    const p = plugin('token');
    const answers = await Promise.all([p.plugin.get(), p.plugin.get(), p.plugin.get()]);
    assert.deepEqual(
      answers.map((a) => a.token),
      ['token-1', 'token-1', 'token-1'],
    );
    assert.equal((await p.plugin.get()).token, 'token-1');
    p.plugin.invalidate();
    assert.equal((await p.plugin.get()).token, 'token-2');
  });

  it('returns a client certificate and key', async () => {
    const got = await plugin('cert').plugin.get();
    assert.equal(got.clientCertificateData, 'CERT PEM');
    assert.equal(got.clientKeyData, 'KEY PEM');
    assert.equal(got.token, undefined);
  });

  it('a failing plugin is one line with the first line of its stderr', async () => {
    const p = plugin('fail');
    await assertFails(
      p.plugin.get(),
      /^exec credential plugin ".*" failed \(exit code 3\): error: you must be logged in to get a token$/,
    );
    // A failure is not cached.
    await assert.rejects(p.plugin.get());
    assert.equal(p.calls(), 2);
  });

  it('a missing command says so, with the install hint', async () => {
    const p = plugin('token', {
      exec: { command: join(root, 'no-such-plugin'), installHint: 'Install it with:\n  brew install it' },
    });
    await assertFails(p.plugin.get(), /no-such-plugin" was not found: Install it with:$/);
  });

  it('rejects output that is not an ExecCredential of the configured version, or is empty', async () => {
    await assertFails(plugin('garbage').plugin.get(), /printed no ExecCredential JSON: Please log in/);
    await assertFails(
      plugin('other-version').plugin.get(),
      /v1alpha1, expected ExecCredential client\.authentication\.k8s\.io\/v1$/,
    );
    await assertFails(plugin('empty').plugin.get(), /neither a token nor a client certificate/);
  });

  it('kills a plugin that does not finish', async () => {
    await assertFails(plugin('hang', { timeoutMs: 300 }).plugin.get(), /did not finish within 0\.3 s/);
  });
});

describe('exec users in a kubeconfig', () => {
  it('a relative command is run from the kubeconfig’s directory; the token reaches the credentials', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'bin'));
    const script = join(dir, 'bin', 'plugin.sh');
    writeFileSync(script, `#!/bin/sh\nexec "${process.execPath}" "${PLUGIN}" "$@"\n`);
    chmodSync(script, 0o755);
    const state = freshDir();
    const path = join(dir, 'config');
    writeFileSync(
      path,
      [
        'clusters:',
        '- name: c',
        '  cluster: { server: "https://a.example" }',
        'users:',
        '- name: u',
        '  user:',
        '    exec:',
        '      apiVersion: client.authentication.k8s.io/v1beta1',
        '      command: ./bin/plugin.sh',
        `      args: [token, ${JSON.stringify(state)}]`,
        '      env: [{ name: EXPIRES_IN_MS, value: "600000" }]',
        'contexts:',
        '- name: x',
        '  context: { cluster: c, user: u }',
        'current-context: x',
      ].join('\n'),
    );
    const loaded = loadKubeconfig({ flag: path, env: {} });
    assert.equal(loaded.user.exec?.command, script);
    const credentials = await loaded.credentials.get();
    assert.equal(credentials.headers.Authorization, 'Bearer token-1');
    assert.ok(credentials.expiresAt && credentials.expiresAt > Date.now() + 500_000);
  });
});
