/**
 * `portico lab` as a user runs it: the real binary, real namespaces and a real router daemon.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/wait.js';
import { labHostRoutes, porticoWith, prepareLabSuite } from './lab-suite.js';
import { isLabTopologyNamespace, listNamespaces, teardown } from './teardown.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const stateDir = mkdtempSync(join(tmpdir(), 'portico-lab-cli-'));
const env = { ...process.env, PORTICO_LAB_STATE_DIR: stateDir };

const portico = porticoWith(stateDir);

const labNamespaces = async () => (await listNamespaces()).filter(isLabTopologyNamespace);
/** Router daemons started for the lab (their command lines name the lab's router namespace or state dir). */
const labProcesses = () =>
  spawnSync('pgrep', ['-af', `portico-router|${stateDir}`], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((line) => line && !line.includes('pgrep'));

describe('portico lab', () => {
  before(async () => {
    await prepareLabSuite();
  });
  after(async () => {
    portico('lab', 'down');
    await teardown({ matchNamespace: isLabTopologyNamespace });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('brings the lab up, reports it, runs commands in it, cuts links, refuses a second up, and leaves nothing after down', async (t) => {
    const up = portico('lab', 'up');
    assert.equal(up.code, 0, up.stderr);
    t.diagnostic(`lab up took ${up.ms.toFixed(0)} ms`);
    assert.ok(up.ms < 120_000);
    assert.match(up.stdout, /node-3 +192\.0\.2\.13/);
    assert.match(up.stdout, /portico lab exec client -- ping/);

    const status = portico('lab', 'status');
    assert.equal(status.code, 0, status.stdout);
    assert.doesNotMatch(status.stdout, /MISSING|DEAD|FAILED/);

    assert.equal(portico('lab', 'exec', 'client', '--', 'ping', '-c', '1', '-W', '1', '192.0.2.13').code, 0);
    assert.equal(
      portico('lab', 'exec', 'client', '--', 'ping', '-6', '-c', '1', '-W', '1', '2001:db8:0:1::13').code,
      0,
    );
    const unknown = portico('lab', 'exec', 'node-7', '--', 'true');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^portico lab: no lab namespace "node-7" \(choose one of .*node-3\)\n$/);

    assert.equal(portico('lab', 'link', 'node-2', 'down').code, 0);
    assert.notEqual(
      portico('lab', 'exec', 'node-1', '--', 'ping', '-c', '1', '-W', '1', '192.0.2.12').code,
      0,
    );
    assert.equal(portico('lab', 'link', 'node-2', 'up').code, 0);
    await sleep(200);
    assert.equal(portico('lab', 'exec', 'node-1', '--', 'ping', '-c', '1', '-W', '2', '192.0.2.12').code, 0);

    const again = portico('lab', 'up');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^portico lab: a lab is already up since .*: run `portico lab down` first/);
    const topology = (await labNamespaces()).filter((ns) => !ns.startsWith('portico-pod-'));
    assert.equal(topology.length, 7, 'the refused second up left the first lab alone');

    const down = portico('lab', 'down');
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await labNamespaces(), []);
    assert.deepEqual(labProcesses(), []);
    assert.deepEqual(labHostRoutes(), []);
    assert.equal(portico('lab', 'status').code, 1);
  });

  it('cleans up with `lab down` after `lab up` is killed with SIGKILL halfway', async () => {
    // Kill it once the namespaces exist, and once the router daemons run.
    const moments = {
      'namespaces created': async () => (await labNamespaces()).includes('portico-node-1'),
      'router started': async () => labProcesses().length > 0,
    };
    for (const [moment, reached] of Object.entries(moments)) {
      const child = spawn(process.execPath, ['bin/portico.js', 'lab', 'up'], {
        cwd: root,
        env,
        stdio: 'ignore',
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await waitFor(moment, reached, { timeoutMs: 20_000, intervalMs: 5 });
      child.kill('SIGKILL');
      await exited;
      const down = portico('lab', 'down');
      assert.equal(down.code, 0, down.stderr);
      assert.deepEqual(await labNamespaces(), [], `namespaces left after a kill when ${moment}`);
      assert.deepEqual(labProcesses(), [], `processes left after a kill when ${moment}`);
      assert.deepEqual(labHostRoutes(), [], `host routes left after a kill when ${moment}`);
      const links = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;
      assert.doesNotMatch(links, /portico-|p-node-/);
    }
  });

  it('removes what it built when `lab up` is interrupted with Ctrl-C', async () => {
    const child = spawn(process.execPath, ['bin/portico.js', 'lab', 'up'], {
      cwd: root,
      env,
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor('the lab namespaces', async () => (await labNamespaces()).includes('portico-node-1'), {
      timeoutMs: 20_000,
      intervalMs: 5,
    });
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    assert.deepEqual(await labNamespaces(), [], 'namespaces left after Ctrl-C');
    assert.deepEqual(labProcesses(), [], 'processes left after Ctrl-C');
    assert.deepEqual(labHostRoutes(), [], 'host routes left after Ctrl-C');
  });

  it('says in one line that it needs root', () => {
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, 'bin/portico.js', 'lab', 'up'],
      {
        cwd: root,
        env,
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^portico lab: the lab cannot start: the lab needs root .*sudo\n$/);
  });
});
