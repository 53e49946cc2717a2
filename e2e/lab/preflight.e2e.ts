/** Preflight on this machine (where the lab runs) and with things taken away. */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertPreflight, preflightProblems } from './preflight.js';
import { listNamespaces } from './teardown.js';

describe('preflight', () => {
  test('passes on this machine for every router', async () => {
    for (const router of ['frr', 'bird', 'gobgp'] as const)
      assert.deepEqual(await preflightProblems({ router }), []);
    assert.deepEqual(
      (await listNamespaces()).filter((ns) => ns.startsWith('portico-preflight-')),
      [],
      'the kernel probe cleaned up',
    );
  });

  test('names the missing package and the command that installs it', async () => {
    const problems = await preflightProblems({ router: 'bird', path: '' });
    assert.ok(
      problems.includes('missing ip, bridge (Debian package iproute2): run `apt-get install iproute2`'),
    );
    assert.ok(problems.some((p) => p.includes('apt-get install bird2')));
    await assert.rejects(assertPreflight({ router: 'gobgp', path: '/nonexistent' }), (err: Error) => {
      assert.ok(!err.message.includes('\n'), 'one line');
      assert.match(err.message, /apt-get install gobgpd/);
      return true;
    });
  });

  test('tells a user who is not root to use sudo', async () => {
    const problems = await preflightProblems({ isRoot: () => false });
    assert.deepEqual(problems, ['the lab needs root (network namespaces): run it with sudo']);
  });
});
