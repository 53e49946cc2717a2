/** The lab's side of the router: start it with everything recorded in the lab's state, and report on it. */
import { join } from 'node:path';
import type { LabPlan } from './plan.js';
import { isRecordedRunning, loadRecords } from './router/daemon.js';
import { routerRuntimeDirs, startRouter } from './router/router.js';
import { routerPeers } from './router/state-readers.js';
import type { LabState } from './state.js';

const routerStateDir = (state: LabState) => join(state.dir, 'router');

export async function startLabRouter(plan: LabPlan, state: LabState): Promise<void> {
  for (const dir of [routerStateDir(state), ...routerRuntimeDirs(plan)]) state.recordDir(dir);
  await startRouter(plan, {
    stateDir: routerStateDir(state),
    record: (p) => state.recordProcess({ name: p.name, pid: p.pid, command: p.command, netns: p.netns }),
  });
}

export async function routerHealth(
  plan: LabPlan,
  state: LabState,
): Promise<{ healthy: boolean; lines: string[] }> {
  const processes = loadRecords(join(routerStateDir(state), 'router-processes.json'));
  const lines: string[] = [];
  let healthy = processes.length > 0;
  for (const p of processes) {
    const alive = isRecordedRunning(p);
    healthy &&= alive;
    lines.push(`${alive ? 'ok     ' : 'DEAD   '} ${plan.router.kind} ${p.name} (pid ${p.pid})`);
  }
  if (!healthy) return { healthy, lines };
  try {
    const peers = await routerPeers(plan);
    const up = peers.filter((p) => p.state === 'Established');
    lines.push(
      `ok      BGP: ${up.length} of ${peers.length} peers established${peers.length ? ` (${peers.map((p) => `${p.address} ${p.state}`).join(', ')})` : ', none yet: no speaker runs on the nodes'}`,
    );
  } catch (err) {
    healthy = false;
    lines.push(`FAILED  reading the router's BGP state: ${(err as Error).message.split('\n')[0]}`);
  }
  return { healthy, lines };
}
