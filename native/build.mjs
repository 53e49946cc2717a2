#!/usr/bin/env node
// Builds the native addon (native/build/Release/portico_native.node); the package's install script.
// node-gyp compiles against the running Node's own headers (--nodedir), so nothing is downloaded.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function fail(message) {
  console.error(`portico: cannot build the native addon: ${message}`);
  process.exit(1);
}

function onPath(command) {
  if (command.includes('/')) return existsSync(command);
  return (process.env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir !== '' && existsSync(join(dir, command)));
}

// npm exports its bundled node-gyp to lifecycle scripts; outside npm, look beside npm, then on PATH.
function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  if (process.env.npm_execpath) {
    candidates.push(
      join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    );
  }
  const prefix = dirname(dirname(process.execPath));
  candidates.push(
    join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  );
  const found = candidates.find((file) => file && existsSync(file));
  if (found) return [process.execPath, found];
  return onPath('node-gyp') ? ['node-gyp'] : undefined;
}

// --if-stale: nothing to do when the addon is newer than every source (setup.sh on each test run).
function upToDate() {
  const built = join(here, 'build', 'Release', 'portico_native.node');
  if (!existsSync(built)) return false;
  const sources = [
    join(here, 'binding.gyp'),
    ...readdirSync(join(here, 'src')).map((f) => join(here, 'src', f)),
  ];
  const builtAt = statSync(built).mtimeMs;
  return sources.every((file) => statSync(file).mtimeMs <= builtAt);
}
if (process.argv.includes('--if-stale') && upToDate()) process.exit(0);

if (process.platform !== 'linux') {
  console.error(`portico: the native addon is Linux-only; not building it on ${process.platform}`);
  process.exit(0);
}
// node-gyp compiles with $CXX when set, and looks for Python as $PYTHON first.
const compiler = process.env.CXX?.trim().split(/\s+/)[0] || 'g++';
const python = process.env.PYTHON || 'python3';
const missing = [compiler, 'make', python].filter((tool) => !onPath(tool));
if (missing.length > 0) {
  fail(`${missing.join(', ')} not found (on Debian: apt-get install g++ make python3), then run npm rebuild`);
}
const nodeDir = dirname(dirname(process.execPath));
if (!existsSync(join(nodeDir, 'include', 'node', 'node_api.h'))) {
  fail(`Node.js headers not found in ${join(nodeDir, 'include', 'node')} (install Node.js with its headers)`);
}
const nodeGyp = findNodeGyp();
if (!nodeGyp) fail('node-gyp not found (it comes with npm; or npm install -g node-gyp)');

const [command, ...prefixArgs] = nodeGyp;
const result = spawnSync(command, [...prefixArgs, 'rebuild', `--nodedir=${nodeDir}`, '--jobs=max'], {
  cwd: here,
  stdio: 'inherit',
});
if (result.error) fail(`node-gyp did not run: ${result.error.message}`);
if (result.status !== 0) fail(`node-gyp failed (exit code ${result.status}); the compiler output is above`);
