import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeKubeconfig } from '../cluster/kubeconfig.js';
import { freePort } from '../cluster/ports.js';
import { useControlPlane } from '../support/fixture.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin', 'portico.js');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let scratch = '';
/** An empty home, so that no ~/.kube/config of whoever runs the tests is ever read. */
let emptyHome = '';

/** Runs `node bin/portico.js` as a user would, outside any cluster and without $KUBECONFIG unless given. */
function portico(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, HOME: emptyHome, ...env };
  if (!('KUBECONFIG' in env)) delete childEnv.KUBECONFIG;
  delete childEnv.KUBERNETES_SERVICE_HOST;
  delete childEnv.KUBERNETES_SERVICE_PORT;
  delete childEnv.NODE_TEST_CONTEXT;
  delete childEnv.NODE_NAME;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: scratch,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Asserts the exit code and exactly one line on stderr (nothing on stdout) that contains every `expected`. */
function oneLineFailure(run: Run, code: number, ...expected: (string | RegExp)[]): string {
  const shown = JSON.stringify(run);
  assert.equal(run.code, code, `exit code: ${shown}`);
  assert.equal(run.stdout, '', `nothing on stdout: ${shown}`);
  assert.match(run.stderr, /^[^\n]+\n$/, `exactly one line on stderr: ${shown}`);
  const line = run.stderr.trimEnd();
  for (const e of expected) {
    if (typeof e === 'string') assert.ok(line.includes(e), `${JSON.stringify(line)} names ${e}`);
    else assert.match(line, e);
  }
  return line;
}

/** Listens on host:port if it can; undefined when the port is taken or the address does not exist. */
function tryListen(host: string, port: number, onConnect: () => void): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer((socket) => {
      onConnect();
      socket.destroy();
    });
    server.once('error', () => resolve(undefined));
    server.listen({ host, port, exclusive: true }, () => resolve(server));
  });
}

describe('the portico binary against a real kube-apiserver', () => {
  const cp = useControlPlane({ controllerManager: false });
  const kubeconfigs = { admin: '', missing: '', unreachable: '', untrusted: '', wrongToken: '' };

  before(async () => {
    // The binary runs dist/: compile the current sources first.
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
    scratch = mkdtempSync(join(tmpdir(), 'portico-cli-e2e-'));
    emptyHome = join(scratch, 'home');
    mkdirSync(emptyHome);
    const { server, caPath, adminToken } = cp.plane;
    const write = async (name: string, spec: { server?: string; caPath?: string; token?: string }) => {
      const path = join(scratch, `${name}.kubeconfig`);
      await writeKubeconfig(path, { server, caPath, token: adminToken, user: 'admin', ...spec });
      return path;
    };
    kubeconfigs.admin = cp.plane.kubeconfigPath;
    kubeconfigs.missing = join(scratch, 'nowhere', 'kubeconfig');
    kubeconfigs.unreachable = await write('unreachable', { server: `https://127.0.0.1:${await freePort()}` });
    const newCa = '-x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=other-ca -days 1';
    execFileSync('openssl', ['req', ...newCa.split(' '), '-keyout', 'k.pem', '-out', 'ca.pem'], {
      cwd: scratch,
      stdio: 'pipe',
    });
    kubeconfigs.untrusted = await write('untrusted', { caPath: join(scratch, 'ca.pem') });
    kubeconfigs.wrongToken = await write('wrong-token', { token: 'not-a-token-this-server-knows' });
  });
  after(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const invocations = [
    {
      how: 'controller --kubeconfig',
      command: 'controller',
      run: (p: string) => portico(['controller', '--kubeconfig', p]),
    },
    {
      how: 'speaker with $KUBECONFIG',
      command: 'speaker',
      run: (p: string) => portico(['speaker'], { KUBECONFIG: p }),
    },
  ];

  for (const { how, command, run } of invocations) {
    describe(`portico ${how}`, () => {
      const prefix = `portico ${command}: `;
      const messages = new Map<string, string>();

      it(
        'exits 2 naming the path when the kubeconfig file does not exist',
        cp.run(async () => {
          const line = oneLineFailure(await run(kubeconfigs.missing), 2, prefix, kubeconfigs.missing);
          assert.match(line, /file not found/);
          messages.set('missing', line);
        }),
      );

      it(
        'exits 2 with "connection refused" when nothing listens at the server address',
        cp.run(async () => {
          const line = oneLineFailure(await run(kubeconfigs.unreachable), 2, prefix, 'connection refused');
          messages.set('unreachable', line);
        }),
      );

      it(
        "exits 2 saying the certificate is not trusted when the server's CA is another one",
        cp.run(async () => {
          const line = oneLineFailure(await run(kubeconfigs.untrusted), 2, prefix, cp.plane.server);
          assert.match(line, /certificate.*(not trust|untrusted)/);
          messages.set('untrusted', line);
        }),
      );

      it(
        'exits 2 saying the credentials were rejected (401) for a wrong token',
        cp.run(async () => {
          const line = oneLineFailure(await run(kubeconfigs.wrongToken), 2, prefix, cp.plane.server);
          assert.match(line, /rejected the credentials.*401/);
        }),
      );

      it('says something different for a missing file, an unreachable and an untrusted server', () => {
        const lines = ['missing', 'unreachable', 'untrusted'].map((k) => messages.get(k));
        assert.ok(lines.every(Boolean), `all three cases ran: ${JSON.stringify(lines)}`);
        assert.equal(new Set(lines).size, 3, JSON.stringify(lines));
      });

      // Both run for real elsewhere (e2e/controller/, e2e/lab/speaker-l2.e2e.ts); outside a Pod the
      // speaker cannot know its node.
      if (command === 'speaker') {
        it(
          'connects with the admin kubeconfig, then asks which node it speaks for (exit 2)',
          cp.run(async () => {
            const line = oneLineFailure(await run(kubeconfigs.admin), 2, prefix, '--node-name');
            assert.match(line, /which node is this\? Pass --node-name or set NODE_NAME/);
          }),
        );
      }
    });
  }

  it('exits 2 telling to pass --kubeconfig when there is none at all, without trying localhost:8080', (t) =>
    cp.run(async () => {
      let connections = 0;
      const listeners = await Promise.all(
        ['127.0.0.1', '::1'].map((host) => tryListen(host, 8080, () => connections++)),
      );
      try {
        const line = oneLineFailure(await portico(['controller']), 2, 'portico controller: ', '--kubeconfig');
        assert.match(line, /no kubeconfig found/);
        assert.doesNotMatch(line, /8080|localhost/);
        assert.equal(connections, 0, 'nothing connected to localhost:8080');
      } finally {
        await Promise.all(
          listeners.map((s) => new Promise((resolve) => (s ? s.close(resolve) : resolve(0)))),
        );
      }
      if (!listeners[0]) t.diagnostic('127.0.0.1:8080 is taken: could not watch it for connections');
    })());

  it('lists every command in --help (exit 0)', async () => {
    const { code, stdout, stderr } = await portico(['--help']);
    assert.equal(code, 0, stderr);
    for (const command of ['controller', 'speaker', 'proxy', 'lab', 'version']) {
      assert.match(stdout, new RegExp(`^ +${command} `, 'm'), `--help lists ${command}`);
    }
  });

  it('prints the package version (exit 0)', async () => {
    const { code, stdout, stderr } = await portico(['version']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`^portico ${pkg.version.replaceAll('.', '\\.')} `));
    const json = await portico(['version', '--json']);
    assert.equal((JSON.parse(json.stdout) as { portico: string }).portico, pkg.version);
  });

  it('exits 2 on an unknown command or an unknown flag', async () => {
    oneLineFailure(await portico(['frobnicate']), 2, 'portico frobnicate: ', 'unknown command "frobnicate"');
    oneLineFailure(await portico(['controller', '--frobnicate']), 2, 'portico controller: ', '--frobnicate');
    oneLineFailure(await portico(['speaker', '--kubeconfig']), 2, 'portico speaker: ', '--kubeconfig');
  });
});
