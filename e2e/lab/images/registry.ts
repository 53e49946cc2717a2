/**
 * The lab's image table: the lab kubelet has no container runtime, so it runs the few images it
 * knows as processes of this checkout. `portico-lab/echo` runs the echo server; Portico's own
 * image runs bin/portico.js. Anything else is refused with `unsupportedImageMessage`.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { k8sBinaryDir } from '../../cluster/binaries.js';

/** Portico's image, as `manifests/` names it (any tag or digest maps to this checkout). */
export const PORTICO_IMAGE = 'ghcr.io/portico-dev/portico';
/** The lab's echo server image (Docker Hub style name; it is never pulled). */
export const ECHO_IMAGE = 'portico-lab/echo';
/** kubectl, for Pods that talk to the API with their ServiceAccount token (the harness-built one). */
export const KUBECTL_IMAGE = 'portico-lab/kubectl';

export interface ImageRef {
  /** 'docker.io' when the reference names no registry. */
  registry: string;
  /** Path in the registry; Docker Hub single names get 'library/' as Docker does. */
  repository: string;
  tag?: string;
  digest?: string;
}

export interface LabImage {
  name: 'echo' | 'portico' | 'kubectl';
  /** argv to run: command[0] is the executable. */
  command: string[];
}

export interface ImageCommands {
  echo: string[];
  portico: string[];
  kubectl: string[];
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const REGISTRY = /^(?:localhost|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-zA-Z=_-]{32,}$/;
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** Parses `[registry/]repo[:tag][@digest]`; undefined if the reference is malformed. */
export function parseImageRef(ref: string): ImageRef | undefined {
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return undefined;
  }
  const parts = rest.split('/');
  const first = parts[0] ?? '';
  const hasRegistry = parts.length > 1 && (/[.:[]/.test(first) || first === 'localhost');
  const registry = hasRegistry ? first : 'docker.io';
  if (hasRegistry) parts.shift();
  if (hasRegistry && !REGISTRY.test(registry)) return undefined;
  if (parts.length === 0 || !parts.every((p) => COMPONENT.test(p))) return undefined;
  if (DOCKER_HUB.has(registry) && parts.length === 1) parts.unshift('library');
  const out: ImageRef = {
    registry: DOCKER_HUB.has(registry) ? 'docker.io' : registry,
    repository: parts.join('/'),
  };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

function tsxLoader(): string {
  try {
    const url = new URL(import.meta.resolve('tsx'));
    url.search = ''; // tsx's own tsImport() tags resolutions with a namespace query
    return url.href;
  } catch {
    return 'tsx';
  }
}

/**
 * How this checkout runs the images, from where this module lives: next to a compiled
 * echo-main.js (dist/e2e/lab/images) node runs it directly, otherwise echo-main.ts goes via tsx.
 */
export function imageCommands(moduleUrl: string = import.meta.url, node = process.execPath): ImageCommands {
  const here = dirname(fileURLToPath(moduleUrl));
  const compiled = join(here, 'echo-main.js');
  const kubectl = [join(k8sBinaryDir(), 'kubectl')];
  if (existsSync(compiled)) {
    return { echo: [node, compiled], portico: [node, resolve(here, '../../../../bin/portico.js')], kubectl };
  }
  return {
    echo: [node, '--import', tsxLoader(), join(here, 'echo-main.ts')],
    portico: [node, resolve(here, '../../../bin/portico.js')],
    kubectl,
  };
}

/** The process the lab runs for `image`, or undefined if the lab cannot run it. */
export function resolveImage(image: string, commands: ImageCommands = imageCommands()): LabImage | undefined {
  const ref = parseImageRef(image);
  if (!ref) return undefined;
  const name = `${ref.registry}/${ref.repository}`;
  if (name === `docker.io/${ECHO_IMAGE}`) return { name: 'echo', command: [...commands.echo] };
  if (name === PORTICO_IMAGE) return { name: 'portico', command: [...commands.portico] };
  if (name === `docker.io/${KUBECTL_IMAGE}`) return { name: 'kubectl', command: [...commands.kubectl] };
  return undefined;
}

/** The Pod condition message for an image the lab does not know. */
export function unsupportedImageMessage(image: string): string {
  return `the lab cannot run image ${image}: it runs ${ECHO_IMAGE}, ${KUBECTL_IMAGE} and ${PORTICO_IMAGE} only`;
}
