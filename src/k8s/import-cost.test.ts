import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

/**
 * A resolve hook, registered in a child node process, that swaps any module of
 * @kubernetes/client-node for one that only sets a flag. Resolution is what every static and
 * dynamic import goes through, so the flag is set exactly when the package would have been
 * evaluated; a static named import fails to link instead, which fails the child just as well.
 */
const HOOK = `
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (!resolved.url.includes('/node_modules/@kubernetes/client-node/')) return resolved;
  return { url: 'data:text/javascript,globalThis.clientNodeLoaded = true', shortCircuit: true };
}`;
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOK)}`)});`;

/** Imports `specifiers` in a fresh node (with tsx, as the tests run) and says whether client-node was loaded. */
function loadsClientNode(specifiers: string[]): boolean {
  const script = `
for (const s of ${JSON.stringify(specifiers)}) await import(s);
console.log(globalThis.clientNodeLoaded ? 'loaded' : 'not loaded');`;
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      `data:text/javascript,${encodeURIComponent(REGISTER)}`,
      '--input-type=module',
      '-e',
      script,
    ],
    { cwd: new URL('../..', import.meta.url), encoding: 'utf8' },
  );
  assert.equal(child.status, 0, child.stderr);
  return child.stdout.trim() === 'loaded';
}

const here = (file: string) => new URL(file, import.meta.url).href;

describe('start-up cost', () => {
  it('importing the client, the kubeconfig loader and the CLI connect does not load @kubernetes/client-node', () => {
    assert.equal(
      loadsClientNode([here('./client.ts'), here('./kubeconfig.ts'), here('../cli/connect.ts')]),
      false,
    );
  });

  it('(the check does see @kubernetes/client-node when it is imported)', () => {
    assert.equal(loadsClientNode([here('./credentials.ts'), '@kubernetes/client-node']), true);
  });
});
