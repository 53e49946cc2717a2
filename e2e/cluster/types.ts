/** The public shape of a test control plane (see control-plane.ts). */
import type { AdminRequest } from './admin-request.js';

export interface ControlPlaneOptions {
  /** Start kube-controller-manager (namespace, GC, endpoints, service accounts...). Default true. */
  controllerManager?: boolean;
  /** State dir; created if needed and kept after stop(). Default: a fresh /tmp/portico-control-plane-*. */
  dir?: string;
  /** klog verbosity of the Kubernetes components. Default 1. */
  logLevel?: number;
  /**
   * Where kube-apiserver listens and what it advertises as the `kubernetes` Service's endpoint.
   * Default: 127.0.0.1 on a free port, and the Service range 198.19.0.0/16.
   */
  apiserver?: { address?: string; port?: number; serviceClusterIpRange?: string };
  /** kube-controller-manager controllers; default KCM_CONTROLLERS (components.ts). */
  controllers?: readonly string[];
  /** Also start kube-scheduler. Default false. */
  scheduler?: boolean;
  /** Called right after each process is spawned, e.g. to record its pid for a crash-safe cleanup. */
  onSpawn?: (name: string, pid: number) => void;
}

export interface StartupTimings {
  etcdMs: number;
  /** From spawning kube-apiserver to /readyz = 200. */
  apiserverMs: number;
  /** From spawning kube-controller-manager to the `default` ServiceAccount existing (0 without KCM). */
  controllerManagerMs: number;
  totalMs: number;
}

export interface ControlPlane {
  dir: string;
  /** `https://<address>:<port>`, 127.0.0.1 unless `apiserver.address` was given. */
  server: string;
  kubeconfigPath: string;
  adminToken: string;
  caPath: string;
  etcdUrl: string;
  /** Log file of each process, by name: etcd, kube-apiserver, kube-controller-manager. */
  logs: Record<string, string>;
  timings: StartupTimings;
  /** Raw JSON requests as the cluster admin. */
  adminRequest: AdminRequest;
  stop(): Promise<void>;
  killApiserver(signal?: NodeJS.Signals): Promise<void>;
  /** Restarts kube-apiserver on the same port and etcd, and waits for /readyz. */
  startApiserver(): Promise<void>;
  compactEtcd(): Promise<number>;
  serviceAccountKubeconfig(namespace: string, name: string): Promise<string>;
  tail(name: string, lines?: number): string;
  /** The last lines of every log, for failure reports. */
  tails(lines?: number): string;
  /** Pids of the processes that are running now, by name. */
  pids(): Record<string, number>;
}
