/** Command lines of the control-plane components (pure functions: paths and ports in, argv out). */
import { join } from 'node:path';
import type { Pki } from './pki.js';

/** The Service ClusterIP range of every test cluster. */
export const SERVICE_CLUSTER_IP_RANGE = '198.19.0.0/16';

/** KCM controllers that make a bare apiserver behave like a cluster, minus Pods and workloads. */
export const KCM_CONTROLLERS = [
  'namespace-controller',
  'garbage-collector-controller',
  'endpointslice-controller',
  'endpoints-controller',
  'endpointslice-mirroring-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'clusterrole-aggregation-controller',
  'root-ca-certificate-publisher-controller',
] as const;

export interface EtcdLayout {
  dir: string;
  clientPort: number;
  peerPort: number;
}

export function etcdArgs({ dir, clientPort, peerPort }: EtcdLayout): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    '--name=portico-test',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=portico-test=${peer}`,
    '--unsafe-no-fsync',
    // A single member has no peers to lose; short ticks cut its first election from ~450 to ~150 ms.
    '--heartbeat-interval=20',
    '--election-timeout=200',
    '--log-level=warn',
  ];
}

export interface ApiserverLayout {
  etcdUrl: string;
  port: number;
  pki: Pki;
  /** Without KCM nobody creates `default` ServiceAccounts, so the ServiceAccount admission is off. */
  withControllerManager: boolean;
  logLevel: number;
}

export function apiserverArgs({
  etcdUrl,
  port,
  pki,
  withControllerManager,
  logLevel,
}: ApiserverLayout): string[] {
  const args = [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    '--advertise-address=127.0.0.1',
    '--endpoint-reconciler-type=none',
    `--cert-dir=${pki.certDir}`,
    `--token-auth-file=${pki.tokensPath}`,
    '--authorization-mode=Node,RBAC',
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    `--service-account-issuer=https://127.0.0.1:${port}`,
    `--service-account-key-file=${pki.serviceAccountKeyPath}`,
    `--service-account-signing-key-file=${pki.serviceAccountKeyPath}`,
    '--allow-privileged=true',
    '--profiling=false',
    `--v=${logLevel}`,
  ];
  if (!withControllerManager) args.push('--disable-admission-plugins=ServiceAccount');
  return args;
}

export interface ControllerManagerLayout {
  kubeconfigPath: string;
  pki: Pki;
  logLevel: number;
}

export function controllerManagerArgs({ kubeconfigPath, pki, logLevel }: ControllerManagerLayout): string[] {
  return [
    `--kubeconfig=${kubeconfigPath}`,
    `--controllers=${KCM_CONTROLLERS.join(',')}`,
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
    // 0 = serve no HTTPS at all (no health/metrics endpoint, no port to pick, no self-signed cert).
    '--secure-port=0',
    '--use-service-account-credentials=false',
    `--service-account-private-key-file=${pki.serviceAccountKeyPath}`,
    `--root-ca-file=${pki.caPath}`,
    `--v=${logLevel}`,
  ];
}
