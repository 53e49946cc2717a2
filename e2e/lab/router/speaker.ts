/**
 * BIRD as a test speaker in a node namespace: announces VIPs to the lab router the way Portico's
 * speaker will, and puts them on the node's `lo` so the node answers traffic sent to them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { exec, ip } from '../exec.js';
import type { LabPlan, NodePlan } from '../plan.js';
import type { RecordedProcess } from '../state.js';
import { removeBirdRunDir, startBird } from './bird-daemon.js';
import { type Daemon, loadRecords, removeRecords, saveRecords, stopRecorded } from './daemon.js';
import { parseVips, renderSpeakerConfig, type SpeakerConfigOptions } from './speaker-config.js';

export interface StartSpeakerOptions extends SpeakerConfigOptions {
  record?: (process: RecordedProcess) => void;
  /** Also add the VIPs to the node's `lo`. Default true. */
  loopback?: boolean;
  timeoutMs?: number;
}

export interface RunningSpeaker {
  node: string;
  netns: string;
  prefixes: string[];
  process: RecordedProcess;
}

function nodeOf(plan: LabPlan, node: NodePlan | string): NodePlan {
  if (typeof node !== 'string') return node;
  const found = plan.nodes.find((n) => n.name === node);
  if (!found)
    throw new Error(`the lab has no node "${node}" (it has ${plan.nodes.map((n) => n.name).join(', ')})`);
  return found;
}

const recordsPath = (stateDir: string, node: NodePlan) =>
  join(stateDir, `speaker-${node.name}-processes.json`);

/** Adds (or, with `remove`, deletes) the VIPs as host addresses on the node's `lo`. */
export async function setLoopbackVips(
  netns: string,
  prefixes: readonly string[],
  remove = false,
): Promise<void> {
  const vips = parseVips(prefixes);
  for (const prefix of [...vips.v4, ...vips.v6]) {
    if (remove) await exec('ip', ['-n', netns, 'addr', 'del', prefix, 'dev', 'lo']);
    else await ip(netns, 'addr', 'replace', prefix, 'dev', 'lo');
  }
}

export async function startSpeaker(
  plan: LabPlan,
  nodeRef: NodePlan | string,
  prefixes: readonly string[],
  options: StartSpeakerOptions,
): Promise<RunningSpeaker> {
  const node = nodeOf(plan, nodeRef);
  if (!existsSync(`/run/netns/${node.netns}`)) {
    throw new Error(`network namespace ${node.netns} does not exist: build the lab topology first`);
  }
  const config = renderSpeakerConfig(plan, node, prefixes, options);
  const name = `speaker-${node.name}`;
  let started: Daemon | undefined;
  const daemon = await startBird({
    name,
    netns: node.netns,
    config,
    configPath: join(options.stateDir, `${name}.conf`),
    logPath: join(options.stateDir, `${name}.stderr.log`),
    onSpawn: (d) => {
      started = d;
      saveRecords(recordsPath(options.stateDir, node), [d.process]);
      options.record?.(d.process);
    },
    timeoutMs: options.timeoutMs,
  }).catch(async (err: unknown) => {
    if (started) await stopSpeaker(plan, node, { stateDir: options.stateDir }).catch(() => {});
    throw err;
  });
  if (options.loopback ?? true) await setLoopbackVips(node.netns, prefixes);
  return { node: node.name, netns: node.netns, prefixes: [...prefixes], process: daemon.process };
}

/** Stops the node's test speaker and removes its socket; with `prefixes`, also takes them off `lo`. */
export async function stopSpeaker(
  plan: LabPlan,
  nodeRef: NodePlan | string,
  options: { stateDir: string; prefixes?: readonly string[]; graceMs?: number },
): Promise<void> {
  const node = nodeOf(plan, nodeRef);
  const records = recordsPath(options.stateDir, node);
  await stopRecorded(loadRecords(records), options.graceMs);
  removeBirdRunDir(node.netns);
  removeRecords(records);
  if (options.prefixes && existsSync(`/run/netns/${node.netns}`)) {
    await setLoopbackVips(node.netns, options.prefixes, true);
  }
}
