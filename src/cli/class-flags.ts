/** Flags and settings the controller and the speaker share: which Services are ours, and where our objects live. */
import { existsSync, readFileSync } from 'node:fs';
import { DEFAULT_LOAD_BALANCER_CLASS } from '../api/ip-address-pool.js';
import type { ClassPolicy } from '../controller/service-request.js';
import type { ExtraFlag } from './component-flags.js';
import { CliError, EXIT_CONFIG } from './connect.js';

export const CLASS_FLAGS: Record<string, ExtraFlag> = {
  'load-balancer-class': {
    arg: '<class>',
    default: DEFAULT_LOAD_BALANCER_CLASS,
    help: 'handle LoadBalancer Services whose spec.loadBalancerClass is this',
  },
  'default-class': {
    arg: '<bool>',
    default: 'true',
    help: 'also handle LoadBalancer Services that name no class (Portico is the cluster default)',
  },
};

const CLASS_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function classPolicy(x: Record<string, string | undefined>): ClassPolicy {
  const defaultClass = x['default-class'];
  if (defaultClass !== 'true' && defaultClass !== 'false') {
    throw new CliError(`--default-class must be true or false, not "${defaultClass}"`, EXIT_CONFIG);
  }
  const cls = x['load-balancer-class'] ?? DEFAULT_LOAD_BALANCER_CLASS;
  if (!CLASS_NAME.test(cls)) {
    throw new CliError(
      `--load-balancer-class "${cls}" is not a valid class name (e.g. portico.dev/lb)`,
      EXIT_CONFIG,
    );
  }
  return { loadBalancerClass: cls, defaultClass: defaultClass === 'true' };
}

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** --namespace, else the pod's namespace ($POD_NAMESPACE or the service account's), else portico-system. */
export function installNamespace(flag: string | undefined, env = process.env): string {
  const fromFile = existsSync(SA_NAMESPACE_FILE) ? readFileSync(SA_NAMESPACE_FILE, 'utf8').trim() : undefined;
  return flag || env.POD_NAMESPACE || fromFile || 'portico-system';
}
