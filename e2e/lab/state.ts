/**
 * The lab's state file: an intent log. Every namespace, host link, directory and pod address is
 * recorded BEFORE it is created (processes right after spawn, when their pid exists), with an
 * atomic write each time, so a `kill -9` at any moment leaves a file that names everything that may
 * exist. Teardown reads it; entries for things that were never created are harmless.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime } from './proc.js';

export const STATE_DIR_ENV = 'PORTICO_LAB_STATE_DIR';
export const DEFAULT_STATE_DIR = '/run/portico/lab';

export interface RecordedProcess {
  name: string;
  pid: number;
  /** From /proc/<pid>/stat: a pid reused by another process has another start time. */
  startTime: string;
  /** A substring of the expected command line, checked again before the process is signalled. */
  command: string;
  netns?: string;
}

export interface PodRecord {
  name: string;
  node: string;
  netns: string;
  /** The pod's host number inside the node's pod CIDR (2…254). */
  index: number;
  v4: string;
  v6?: string;
}

export interface LabStateData {
  version: 1;
  namespaces: string[];
  hostLinks: string[];
  processes: RecordedProcess[];
  dirs: string[];
  pods: PodRecord[];
}

export class StateFileError extends Error {
  override readonly name = 'StateFileError';
}

function emptyState(): LabStateData {
  return { version: 1, namespaces: [], hostLinks: [], processes: [], dirs: [], pods: [] };
}

function addUnique(list: string[], items: readonly string[]): void {
  for (const item of items) if (!list.includes(item)) list.push(item);
}

export class LabState {
  readonly dir: string;
  readonly path: string;

  constructor(dir: string = process.env[STATE_DIR_ENV] || DEFAULT_STATE_DIR) {
    this.dir = dir;
    this.path = join(dir, 'state.json');
  }

  /** The recorded state; empty when there is no state file. */
  read(): LabStateData {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
      throw err;
    }
    try {
      const data = JSON.parse(text) as Partial<LabStateData>;
      if (data.version !== 1) throw new Error(`unknown version ${String(data.version)}`);
      return { ...emptyState(), ...data };
    } catch (err) {
      throw new StateFileError(`the lab state file ${this.path} is unreadable (${(err as Error).message})`);
    }
  }

  exists(): boolean {
    try {
      readFileSync(this.path);
      return true;
    } catch {
      return false;
    }
  }

  /** Read, change, write atomically (temporary file + rename). Synchronous, so callers cannot interleave. */
  update(change: (state: LabStateData) => void): LabStateData {
    const state = this.read();
    change(state);
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(tmp, this.path);
    return state;
  }

  recordNamespaces(...names: string[]): void {
    this.update((s) => addUnique(s.namespaces, names));
  }

  forgetNamespaces(...names: string[]): void {
    this.update((s) => {
      s.namespaces = s.namespaces.filter((n) => !names.includes(n));
    });
  }

  recordHostLink(name: string): void {
    this.update((s) => addUnique(s.hostLinks, [name]));
  }

  recordDir(path: string): void {
    this.update((s) => addUnique(s.dirs, [path]));
  }

  /** Records a process just started (call it right after spawn). Returns false if it already exited. */
  recordProcess(proc: { name: string; pid: number; command: string; netns?: string }): boolean {
    const startTime = processStartTime(proc.pid);
    if (startTime === undefined) return false;
    this.update((s) => {
      s.processes = s.processes.filter((p) => p.pid !== proc.pid);
      s.processes.push({ ...proc, startTime });
    });
    return true;
  }

  forgetProcess(pid: number): void {
    this.update((s) => {
      s.processes = s.processes.filter((p) => p.pid !== pid);
    });
  }

  /** Deletes the state file (not the directory, which may be shared). */
  remove(): void {
    rmSync(this.path, { force: true });
  }
}
