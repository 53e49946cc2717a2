/**
 * Removes everything the lab may have created: recorded processes, every process inside a lab
 * namespace, the namespaces (those in the state file and those `ip netns list` shows, so it works
 * without a state file), host links, directories, the state file and, last, the host's routes into
 * the lab (found by their protocol tag; the safety net among them stays until nothing of the lab
 * runs). Idempotent, and it never touches a namespace or link whose name lacks the lab's prefix, or
 * a route outside the lab's address ranges, whatever the state file says.
 */
import { rmSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { exec, ipJson, run } from './exec.js';
import { removeHostRoutes } from './host-routes.js';
import { LAB_PREFIX } from './plan.js';
import { isRunning, netnsPids, processCommand, signal, waitForExit } from './proc.js';
import { type LabState, type LabStateData, StateFileError } from './state.js';

export interface TeardownOptions {
  state?: LabState;
  /** Narrows which `portico-` namespaces are removed. Default: all of them. */
  matchNamespace?: (name: string) => boolean;
  /** How long recorded processes get between SIGTERM and SIGKILL. Default 2 s. */
  graceMs?: number;
  log?: (msg: string) => void;
}

export interface TeardownReport {
  processes: number[];
  namespaces: string[];
  hostLinks: string[];
  /** Host routes removed, as `ip route` shows them (`unreachable 198.19.0.0/16`, `192.0.2.11`). */
  hostRoutes: string[];
  dirs: string[];
  ms: number;
}

const NS_PREFIX = `${LAB_PREFIX}-`;
const isLabNamespace = (name: string) => name.startsWith(NS_PREFIX);
const isLabLinkName = (name: string) => name.startsWith(NS_PREFIX) || name.startsWith('p-');
/** Directories are removed only when absolute and under a `portico…` directory. */
const isLabDir = (path: string) =>
  isAbsolute(path) && path.split('/').some((part) => part.startsWith(LAB_PREFIX));

/** The namespace names of a lab topology (switch, router, nodes, clients, pods). */
export function isLabTopologyNamespace(name: string): boolean {
  return /^portico-(switch|router|client|lan-client|node-\d+|pod-[0-9a-z]+)$/.test(name);
}

export async function listNamespaces(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((line) => line.trim().split(' ')[0] ?? '')
    .filter((name) => name !== '');
}

function readState(state: LabState | undefined, log: (msg: string) => void): LabStateData | undefined {
  try {
    return state?.read();
  } catch (err) {
    if (!(err instanceof StateFileError)) throw err;
    log(`${err.message}; sweeping by name only`);
    return undefined;
  }
}

async function stopRecordedProcesses(data: LabStateData | undefined, graceMs: number): Promise<number[]> {
  const ours = (data?.processes ?? []).filter((p) => {
    if (!isRunning(p.pid, p.startTime)) return false;
    const cmd = processCommand(p.pid);
    return cmd === '' || (cmd?.includes(p.command) ?? false);
  });
  for (const p of ours) signal(p.pid, 'SIGTERM');
  const stubborn = await waitForExit(ours, graceMs);
  for (const pid of stubborn) signal(pid, 'SIGKILL');
  await waitForExit(
    ours.filter((p) => stubborn.includes(p.pid)),
    graceMs,
  );
  return ours.map((p) => p.pid);
}

async function killNamespaceProcesses(namespaces: readonly string[]): Promise<number[]> {
  const pids = (await Promise.all(namespaces.map(netnsPids))).flat().filter((pid) => pid !== process.pid);
  for (const pid of pids) signal(pid, 'SIGKILL');
  await waitForExit(
    pids.map((pid) => ({ pid })),
    2_000,
  );
  return pids;
}

async function deleteHostLinks(recorded: readonly string[]): Promise<string[]> {
  const links = await ipJson<{ ifname: string; linkinfo?: { info_kind?: string } }[]>(
    undefined,
    '-d',
    'link',
    'show',
  );
  const doomed = links
    .filter((l) => isLabLinkName(l.ifname))
    .filter((l) => recorded.includes(l.ifname) || ['veth', 'bridge'].includes(l.linkinfo?.info_kind ?? ''))
    .map((l) => l.ifname);
  const removed: string[] = [];
  for (const name of doomed) {
    // Deleting one end of a veth pair deletes its peer, which may be the next name on the list.
    const result = await exec('ip', ['link', 'del', 'dev', name]);
    if (result.code === 0) removed.push(name);
  }
  return removed;
}

export async function teardown(opts: TeardownOptions = {}): Promise<TeardownReport> {
  const started = performance.now();
  const log = opts.log ?? (() => {});
  const match = (name: string) => isLabNamespace(name) && (opts.matchNamespace?.(name) ?? true);
  const data = readState(opts.state, log);

  const processes = await stopRecordedProcesses(data, opts.graceMs ?? 2_000);
  const existing = new Set(await listNamespaces());
  const namespaces = [...new Set([...(data?.namespaces ?? []), ...existing])].filter(
    (ns) => match(ns) && existing.has(ns),
  );
  processes.push(...(await killNamespaceProcesses(namespaces)));
  if (namespaces.length > 0) {
    // -force: go on after a line fails (a namespace deleted meanwhile by someone else).
    await exec('ip', ['-force', '-batch', '-'], {
      input: `${namespaces.map((n) => `netns del ${n}`).join('\n')}\n`,
    });
  }
  const left = new Set(await listNamespaces());
  const stuck = namespaces.filter((ns) => left.has(ns));
  if (stuck.length > 0) throw new Error(`could not delete the network namespaces ${stuck.join(', ')}`);

  const hostLinks = await deleteHostLinks(data?.hostLinks ?? []);
  const dirs = (data?.dirs ?? []).filter(isLabDir);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  opts.state?.remove();
  const hostRoutes = await removeHostRoutes();

  const report = { processes, namespaces, hostLinks, hostRoutes, dirs, ms: performance.now() - started };
  log(describeTeardown(report));
  return report;
}

export function describeTeardown(r: TeardownReport): string {
  const parts = [
    r.namespaces.length > 0 && `${r.namespaces.length} namespaces (${r.namespaces.join(', ')})`,
    r.processes.length > 0 && `${r.processes.length} processes`,
    r.hostLinks.length > 0 && `host links ${r.hostLinks.join(', ')}`,
    r.hostRoutes.length > 0 && `${r.hostRoutes.length} host routes into the lab`,
    r.dirs.length > 0 && `directories ${r.dirs.join(', ')}`,
  ].filter(Boolean);
  return `${parts.length > 0 ? `removed ${parts.join(', ')}` : 'nothing to remove'} in ${r.ms.toFixed(0)} ms`;
}
