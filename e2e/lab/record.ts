/** lab.json beside the state file: the spec of the lab that is up, so every command knows its plan. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabSpec } from './plan.js';
import type { LabState } from './state.js';

export interface LabRecord {
  spec: LabSpec;
  createdAt: string;
  phase: 'building' | 'up';
}

export const recordPath = (state: LabState) => join(state.dir, 'lab.json');

export function readRecord(state: LabState): LabRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(state), 'utf8')) as LabRecord;
  } catch {
    return undefined;
  }
}

export function writeRecord(state: LabState, record: LabRecord): void {
  mkdirSync(state.dir, { recursive: true });
  writeFileSync(recordPath(state), `${JSON.stringify(record, null, 2)}\n`);
}

/** Where the cluster half of the lab keeps its files, under the state directory. */
export function clusterPaths(state: LabState) {
  return {
    clusterDir: join(state.dir, 'cluster'),
    logDir: join(state.dir, 'logs'),
    kubeconfig: join(state.dir, 'kubeconfig'),
    ready: join(state.dir, 'ready'),
    supervisorLog: join(state.dir, 'logs', 'supervisor.log'),
    podDir: join(state.dir, 'pods'),
  };
}
