import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { k8sBinaryDir } from '../../cluster/binaries.js';
import {
  imageCommands,
  PORTICO_IMAGE,
  parseImageRef,
  resolveImage,
  unsupportedImageMessage,
} from './registry.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('parseImageRef', () => {
  const cases: [string, ReturnType<typeof parseImageRef>][] = [
    ['nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }],
    ['portico-lab/echo', { registry: 'docker.io', repository: 'portico-lab/echo' }],
    ['docker.io/portico-lab/echo:v1', { registry: 'docker.io', repository: 'portico-lab/echo', tag: 'v1' }],
    ['index.docker.io/library/busybox', { registry: 'docker.io', repository: 'library/busybox' }],
    [
      'ghcr.io/portico-dev/portico:0.1.0',
      { registry: 'ghcr.io', repository: 'portico-dev/portico', tag: '0.1.0' },
    ],
    ['localhost:5000/a/b', { registry: 'localhost:5000', repository: 'a/b' }],
    ['localhost/a:x', { registry: 'localhost', repository: 'a', tag: 'x' }],
    [`r.io:443/a/b:t@${DIGEST}`, { registry: 'r.io:443', repository: 'a/b', tag: 't', digest: DIGEST }],
    [
      `ghcr.io/portico-dev/portico@${DIGEST}`,
      { registry: 'ghcr.io', repository: 'portico-dev/portico', digest: DIGEST },
    ],
  ];
  for (const [ref, want] of cases) it(`parses ${ref}`, () => assert.deepEqual(parseImageRef(ref), want));

  for (const bad of [
    '',
    'UPPER/case',
    'a//b',
    'a:',
    'a:-x',
    'a@sha256:short',
    'has space',
    'a/',
    'r.io:x:y/a',
  ]) {
    it(`rejects '${bad}'`, () => assert.equal(parseImageRef(bad), undefined));
  }
});

describe('resolveImage', () => {
  const commands = {
    echo: ['node', 'echo-main.js'],
    portico: ['node', 'bin/portico.js'],
    kubectl: ['kubectl'],
  };

  it('runs portico-lab/echo with any tag, digest or explicit Docker Hub registry', () => {
    for (const image of ['portico-lab/echo', 'portico-lab/echo:latest', 'docker.io/portico-lab/echo:1.0']) {
      assert.deepEqual(resolveImage(image, commands), { name: 'echo', command: commands.echo });
    }
    assert.equal(resolveImage(`portico-lab/echo@${DIGEST}`, commands)?.name, 'echo');
  });

  it("runs Portico's own image with any tag", () => {
    for (const image of [PORTICO_IMAGE, `${PORTICO_IMAGE}:0.1.0`, `${PORTICO_IMAGE}@${DIGEST}`]) {
      assert.deepEqual(resolveImage(image, commands), { name: 'portico', command: commands.portico });
    }
  });

  it('refuses other images, look-alikes and malformed references', () => {
    for (const image of [
      'nginx',
      'quay.io/portico-lab/echo',
      'portico-dev/portico',
      'ghcr.io/x/portico',
      'Bad',
    ]) {
      assert.equal(resolveImage(image, commands), undefined, image);
    }
  });

  it('explains what it runs', () => {
    assert.equal(
      unsupportedImageMessage('nginx:1.27'),
      'the lab cannot run image nginx:1.27: it runs portico-lab/echo, portico-lab/kubectl and ghcr.io/portico-dev/portico only',
    );
  });
});

describe('imageCommands', () => {
  it('runs echo-main.ts through tsx from the source tree', () => {
    const { echo, portico } = imageCommands(undefined, '/usr/bin/node');
    assert.equal(echo[0], '/usr/bin/node');
    assert.equal(echo[1], '--import');
    assert.match(echo[2] ?? '', /tsx/);
    assert.match(echo[3] ?? '', /\/e2e\/lab\/images\/echo-main\.ts$/);
    assert.ok(!portico[1]?.includes('/e2e/'), portico[1]);
    assert.match(portico[1] ?? '', /\/bin\/portico\.js$/);
  });

  it('runs the compiled echo-main.js when one sits next to the module (dist/)', () => {
    const root = mkdtempSync(join(tmpdir(), 'portico-images-'));
    try {
      const dir = join(root, 'dist/e2e/lab/images');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'echo-main.js'), '');
      const url = pathToFileURL(join(dir, 'registry.js')).href;
      assert.deepEqual(imageCommands(url, 'node'), {
        echo: ['node', join(dir, 'echo-main.js')],
        portico: ['node', join(root, 'bin/portico.js')],
        kubectl: [join(k8sBinaryDir(), 'kubectl')],
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
