/** Where a V8 .cpuprofile spent its time: by our source file (or package) that asked for it, and by function. */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  ms: number;
  /** Of the busy (non-idle) time. */
  percent: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  /**
   * Each sample charged to the innermost frame of ours (`src/...`) or of a dependency (its package
   * name) on its stack, so JSON parsing, TLS and socket writes count for the code that caused them;
   * samples with none are charged to the innermost Node module (`node:...`) or V8 activity (`(gc)`).
   */
  byCaller: Share[];
  /** Self time by function. */
  byFunction: Share[];
}

/** `src/...` for ours, the package name for a dependency, undefined for Node's and V8's own frames. */
function owner(url: string): string | undefined {
  const path = url.replace(/^file:\/\//, '');
  const dep = /\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (dep) return dep[1]!;
  const ours = /\/(?:dist\/)?(src\/.*?)(?:\.js)?$/.exec(path);
  return ours?.[1];
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const callerOf = new Map<number, string>();
  const caller = (id: number): string => {
    const known = callerOf.get(id);
    if (known) return known;
    let label: string | undefined;
    let nodeFrame: string | undefined;
    for (let at: number | undefined = id; at !== undefined && !label; at = parent.get(at)) {
      const url = byId.get(at)?.callFrame.url ?? '';
      label = owner(url);
      if (url) nodeFrame ??= url;
    }
    // Nothing of ours on the stack: an event-loop callback of Node's (socket reads, TLS, timers), or V8's own.
    label ??= nodeFrame ?? `(${byId.get(id)!.callFrame.functionName.replace(/[()]/g, '')})`;
    callerOf.set(id, label);
    return label;
  };
  const callers = new Map<string, number>();
  const functions = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === '(idle)') {
      idle += us;
      return;
    }
    busy += us;
    const who = caller(id);
    callers.set(who, (callers.get(who) ?? 0) + us);
    const where = frame.url
      ? ` ${owner(frame.url) ?? frame.url.replace(/^file:\/\//, '')}:${frame.lineNumber + 1}`
      : '';
    const fn = `${frame.functionName || '(anonymous)'}${where}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  });
  const shares = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({
        name,
        ms: Math.round(us / 1000),
        percent: Math.round((us / (busy || 1)) * 1000) / 10,
      }));
  return {
    busyMs: Math.round(busy / 1000),
    idleMs: Math.round(idle / 1000),
    byCaller: shares(callers),
    byFunction: shares(functions),
  };
}
