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
  address: string;
  port: number;
  serviceClusterIpRange: string;
  pki: Pki;
  /** Without KCM nobody creates `default` ServiceAccounts, so the ServiceAccount admission is off. */
  withControllerManager: boolean;
  logLevel: number;
}

export function apiserverArgs({
  etcdUrl,
  address,
  port,
  serviceClusterIpRange,
  pki,
  withControllerManager,
  logLevel,
}: ApiserverLayout): string[] {
  const host = address.includes(':') ? `[${address}]` : address;
  const loopback = address === '127.0.0.1' || address === '::1';
  const args = [
    `--etcd-servers=${etcdUrl}`,
    `--bind-address=${address}`,
    `--secure-port=${port}`,
    `--advertise-address=${address}`,
    // A loopback endpoint for the `kubernetes` Service is useless and logged as an error.
    `--endpoint-reconciler-type=${loopback ? 'none' : 'lease'}`,
    `--cert-dir=${pki.certDir}`,
    `--token-auth-file=${pki.tokensPath}`,
    '--authorization-mode=Node,RBAC',
    `--service-cluster-ip-range=${serviceClusterIpRange}`,
    `--service-account-issuer=https://${host}:${port}`,
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
  controllers: readonly string[];
  pki: Pki;
  logLevel: number;
}

export function controllerManagerArgs({
  kubeconfigPath,
  controllers,
  pki,
  logLevel,
}: ControllerManagerLayout): string[] {
  return [
    `--kubeconfig=${kubeconfigPath}`,
    `--controllers=${controllers.join(',')}`,
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

export function schedulerArgs({
  kubeconfigPath,
  logLevel,
}: {
  kubeconfigPath: string;
  logLevel: number;
}): string[] {
  return [
    `--kubeconfig=${kubeconfigPath}`,
    `--authentication-kubeconfig=${kubeconfigPath}`,
    `--authorization-kubeconfig=${kubeconfigPath}`,
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
    '--secure-port=0',
    `--v=${logLevel}`,
  ];
}
