/**
 * The kubelet's readiness prober as pure functions: when the next probe is due, how a result moves
 * the container's readiness (success/failure thresholds, counted as the kubelet's prober worker
 * counts them), and what to probe. Times are wall-clock milliseconds.
 */
import type { Container, Probe } from './pod-types.js';

export interface ProbeState {
  /** The readiness the kubelet reports; false until the probe first passes its success threshold. */
  ready: boolean;
  /** The previous result and how many times in a row it came. */
  lastResult?: boolean;
  run: number;
  lastProbeAt?: number;
}

export type ProbeTarget =
  | { kind: 'http'; url: string; headers: Record<string, string> }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'exec'; command: string[] }
  | { error: string };

/** The Kubernetes defaults of a probe's timing fields. */
export function probeSettings(probe: Probe) {
  return {
    initialDelayMs: (probe.initialDelaySeconds ?? 0) * 1000,
    periodMs: (probe.periodSeconds || 10) * 1000,
    timeoutMs: (probe.timeoutSeconds || 1) * 1000,
    successThreshold: probe.successThreshold || 1,
    failureThreshold: probe.failureThreshold || 3,
  };
}

/** The state of a newly started container (also after each restart: readiness starts over). */
export function initialProbeState(): ProbeState {
  return { ready: false, run: 0 };
}

/** When the next probe may run: initialDelaySeconds after start, then every periodSeconds. */
export function nextProbeAt(state: ProbeState, probe: Probe, containerStartedAt: number): number {
  const { initialDelayMs, periodMs } = probeSettings(probe);
  const first = containerStartedAt + initialDelayMs;
  return state.lastProbeAt === undefined ? first : Math.max(first, state.lastProbeAt + periodMs);
}

export function probeDue(state: ProbeState, probe: Probe, now: number, containerStartedAt: number): boolean {
  return now >= nextProbeAt(state, probe, containerStartedAt);
}

/**
 * A probe's result. As in the kubelet, readiness changes only once the same result has come
 * successThreshold (for success) or failureThreshold (for failure) times in a row.
 */
export function recordProbeResult(state: ProbeState, probe: Probe, ok: boolean, now: number): ProbeState {
  const { successThreshold, failureThreshold } = probeSettings(probe);
  const run = state.lastResult === ok ? state.run + 1 : 1;
  const threshold = ok ? successThreshold : failureThreshold;
  return { ready: run >= threshold ? ok : state.ready, lastResult: ok, run, lastProbeAt: now };
}

/** Whether the container counts as ready: running, and its probe passed (if it has one). */
export function containerReady(state: ProbeState, probe: Probe | undefined, running: boolean): boolean {
  return running && (probe === undefined || state.ready);
}

/** A probe port: a number, or a container port's name (or, as a last resort, a number in a string). */
export function resolvePort(port: number | string, container: Container): number | { error: string } {
  let value = typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;
  if (value === undefined) {
    if (!/^[+-]?\d+$/.test(String(port)))
      return { error: `port ${port} not found in container ${container.name}` };
    value = Number(port);
  }
  if (Number.isInteger(value) && value > 0 && value < 65536) return value;
  return { error: `invalid port number: ${value}` };
}

const bracket = (host: string) => (host.includes(':') ? `[${host}]` : host);

/** What a probe checks: HTTP GET (host defaults to the Pod IP, path to /), TCP connect or exec. */
export function probeTarget(probe: Probe, podIP: string, container: Container): ProbeTarget {
  if (probe.httpGet) {
    const get = probe.httpGet;
    const port = resolvePort(get.port, container);
    if (typeof port === 'object') return port;
    const scheme = (get.scheme ?? 'HTTP').toLowerCase();
    const path = get.path ? (get.path.startsWith('/') ? get.path : `/${get.path}`) : '/';
    const headers: Record<string, string> = { 'User-Agent': 'kube-probe/lab', Accept: '*/*' };
    for (const h of get.httpHeaders ?? []) {
      for (const k of Object.keys(headers)) if (k.toLowerCase() === h.name.toLowerCase()) delete headers[k];
    }
    for (const h of get.httpHeaders ?? []) headers[h.name] = h.value;
    return { kind: 'http', url: `${scheme}://${bracket(get.host || podIP)}:${port}${path}`, headers };
  }
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, container);
    if (typeof port === 'object') return port;
    return { kind: 'tcp', host: probe.tcpSocket.host || podIP, port };
  }
  if (probe.exec) return { kind: 'exec', command: probe.exec.command ?? [] };
  if (probe.grpc) return { error: 'the lab does not run gRPC probes' };
  return { error: 'probe has no handler (httpGet, tcpSocket or exec)' };
}

/** The kubelet's verdict on an HTTP probe's response status: 2xx and 3xx pass. */
export function httpProbePassed(status: number): boolean {
  return status >= 200 && status < 400;
}
