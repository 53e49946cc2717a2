/**
 * Runs one probe the way the kubelet does, from the node: HTTP with curl and TCP with socat inside
 * the node's namespace (the host may not route to pod addresses), exec inside the Pod's namespace.
 */
import { tryInNetns } from '../exec.js';
import { canConnect } from '../probes.js';
import { httpProbePassed, type ProbeTarget } from './probe.js';

export interface ProbeRun {
  ok: boolean;
  /** Why it failed, for logs. */
  detail?: string;
}

export async function runProbe(
  target: ProbeTarget,
  where: { nodeNetns: string; podNetns: string },
  timeoutMs: number,
): Promise<ProbeRun> {
  if ('error' in target) return { ok: false, detail: target.error };
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  if (target.kind === 'tcp') {
    const ok = await canConnect(where.nodeNetns, target.host, target.port, seconds);
    return ok ? { ok } : { ok, detail: `dial tcp ${target.host}:${target.port} failed` };
  }
  if (target.kind === 'exec') {
    const [cmd, ...args] = target.command;
    if (!cmd) return { ok: false, detail: 'exec probe without a command' };
    const r = await tryInNetns(where.podNetns, cmd, args, { timeoutMs }).catch((err: Error) => ({
      code: -1,
      stderr: err.message,
    }));
    return r.code === 0 ? { ok: true } : { ok: false, detail: `exit ${r.code}: ${r.stderr.trim()}` };
  }
  const headers = Object.entries(target.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const args = ['-s', '-k', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', String(seconds)];
  const r = await tryInNetns(where.nodeNetns, 'curl', [...args, ...headers, target.url], {
    timeoutMs: timeoutMs + 2000,
  });
  const status = Number(r.stdout.trim());
  if (r.code === 0 && httpProbePassed(status)) return { ok: true };
  return { ok: false, detail: r.code === 0 ? `HTTP ${status}` : `curl exit ${r.code} for ${target.url}` };
}
