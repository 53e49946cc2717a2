import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KubeconfigCredentials } from './credentials.js';
import { KubeconfigError } from './errors.js';
import type { ClusterConfig, UserConfig } from './kubeconfig-file.js';

const root = mkdtempSync(join(tmpdir(), 'portico-cred-'));
after(() => rmSync(root, { recursive: true, force: true }));

const CLUSTER: ClusterConfig = { name: 'c', server: 'https://a.example:6443', insecureSkipTlsVerify: false };

function file(name: string, text: string): string {
  const path = join(root, name);
  writeFileSync(path, text);
  return path;
}

const get = (user: Omit<UserConfig, 'name'>, cluster: Partial<ClusterConfig> = {}) =>
  new KubeconfigCredentials({ ...CLUSTER, ...cluster }, { name: 'u', ...user }).get();

describe('KubeconfigCredentials', () => {
  it('reads the CA, client certificate and key files again on every call', async () => {
    const ca = file('ca.crt', 'CA 1');
    const cert = file('u.crt', 'CERT 1');
    const key = file('u.key', 'KEY 1');
    const credentials = new KubeconfigCredentials(
      { ...CLUSTER, caFile: ca },
      { name: 'u', certFile: cert, keyFile: key },
    );
    const first = await credentials.get();
    assert.deepEqual([first.ca, first.cert, first.key].map(String), ['CA 1', 'CERT 1', 'KEY 1']);
    writeFileSync(ca, 'CA 2');
    writeFileSync(cert, 'CERT 2');
    writeFileSync(key, 'KEY 2');
    const second = await credentials.get();
    assert.deepEqual([second.ca, second.cert, second.key].map(String), ['CA 2', 'CERT 2', 'KEY 2']);
    assert.deepEqual(second.headers, {});
  });

  it('uses the decoded -data fields', async () => {
    const got = await get(
      { certData: Buffer.from('CERT'), keyData: Buffer.from('KEY') },
      { caData: Buffer.from('CA') },
    );
    assert.deepEqual([got.ca, got.cert, got.key].map(String), ['CA', 'CERT', 'KEY']);
  });

  it('re-reads a token file on every call, without its trailing newline', async () => {
    const tokenFile = file('token', 'first\n');
    const credentials = new KubeconfigCredentials(CLUSTER, { name: 'u', tokenFile });
    assert.equal((await credentials.get()).headers.Authorization, 'Bearer first');
    writeFileSync(tokenFile, 'rotated');
    assert.equal((await credentials.get()).headers.Authorization, 'Bearer rotated');
  });

  it('a token in the kubeconfig wins over a token file', async () => {
    const got = await get({ token: 'inline', tokenFile: file('token2', 'from-file') });
    assert.equal(got.headers.Authorization, 'Bearer inline');
  });

  it('an unreadable file is a one-line error naming it', async () => {
    const missing = join(root, 'gone');
    await assert.rejects(
      get({ tokenFile: missing }),
      (err: unknown) =>
        err instanceof KubeconfigError && err.message === `cannot read the token file ${missing}: ENOENT`,
    );
  });

  it('basic auth becomes a Basic Authorization header', async () => {
    const got = await get({ username: 'admin', password: 's3cret' });
    assert.equal(got.headers.Authorization, `Basic ${Buffer.from('admin:s3cret').toString('base64')}`);
  });

  it('insecure-skip-tls-verify turns verification off; it is left alone otherwise', async () => {
    assert.equal((await get({}, { insecureSkipTlsVerify: true })).rejectUnauthorized, false);
    assert.equal('rejectUnauthorized' in (await get({})), false);
  });

  it('tls-server-name becomes the TLS server name', async () => {
    assert.equal((await get({}, { tlsServerName: 'kubernetes.default' })).servername, 'kubernetes.default');
  });

  it('impersonation becomes Impersonate-* headers', async () => {
    const got = await get({
      token: 't',
      impersonate: 'bob',
      impersonateUid: '42',
      impersonateGroups: ['a', 'b'],
    });
    assert.deepEqual(got.headers, {
      Authorization: 'Bearer t',
      'Impersonate-User': 'bob',
      'Impersonate-Uid': '42',
      'Impersonate-Group': ['a', 'b'],
    });
  });

  it('an exec plugin’s client certificate replaces the kubeconfig’s, and its expiry is passed on', async () => {
    const plugin = file(
      'cert-plugin.mjs',
      `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential',
        status: { clientCertificateData: 'EXEC CERT', clientKeyData: 'EXEC KEY', expirationTimestamp: '2999-01-01T00:00:00Z' } }));`,
    );
    const got = await get({
      certData: Buffer.from('STATIC'),
      keyData: Buffer.from('STATIC'),
      exec: {
        command: process.execPath,
        args: [plugin],
        env: [],
        apiVersion: 'client.authentication.k8s.io/v1',
        provideClusterInfo: false,
      },
    });
    assert.equal(got.cert, 'EXEC CERT');
    assert.equal(got.key, 'EXEC KEY');
    assert.equal(got.expiresAt, Date.parse('2999-01-01T00:00:00Z'));
    assert.equal(got.headers.Authorization, undefined);
  });

  it('delegates a deprecated auth-provider to @kubernetes/client-node', async () => {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const idToken = `${part({ alg: 'none' })}.${part({ exp: 4_000_000_000 })}.sig`;
    const got = await get({
      authProvider: { name: 'oidc', config: { 'id-token': idToken, 'client-id': 'portico' } },
    });
    assert.equal(got.headers.Authorization, `Bearer ${idToken}`);
  });
});
