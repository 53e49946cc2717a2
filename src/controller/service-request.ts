import { AddressError, formatIP, type IPAddr, type IPFamily, parseIP } from '../api/address.js';
import { ANNOTATION_PREFIXES } from '../api/ip-address-pool.js';
import type { Service } from '../k8s/types.js';

/** Which Services this controller handles. */
export interface ClassPolicy {
  /** Our loadBalancerClass, e.g. `portico.dev/lb`. */
  loadBalancerClass: string;
  /** Also handle LoadBalancer Services that name no class (we are the cluster's default implementation). */
  defaultClass: boolean;
}

export interface Sharing {
  key: string;
  /** `TCP/80`, `UDP/53`: no two sharers may use the same one. */
  ports: ReadonlySet<string>;
  /** Empty for externalTrafficPolicy Cluster; the canonical selector for Local (sharers must agree). */
  backendKey: string;
}

/** What a Service asks of the allocator, read from its spec and annotations. */
export interface AddressRequest {
  namespace: string;
  labels: Readonly<Record<string, string>>;
  /** The families the Service wants, primary first (from spec.ipFamilies / clusterIPs). */
  families: IPFamily[];
  policy: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
  pool: string | undefined;
  /** Exact addresses asked for (annotation or spec.loadBalancerIP), at most one per family. */
  addresses: IPAddr[] | undefined;
  sharing: Sharing | undefined;
  /** Annotations read under MetalLB's deprecated `metallb.universe.tf/` prefix. */
  deprecatedAnnotations: string[];
}

export type ServiceIntent =
  /** Not a LoadBalancer of ours: hold nothing for it. */
  | { kind: 'ignore'; why: 'NotLoadBalancer' | 'OtherClass' }
  | { kind: 'invalid'; reason: 'InvalidAnnotation' | 'FamilyUnavailable'; message: string }
  | { kind: 'allocate'; request: AddressRequest };

const ANNOTATION = {
  pool: 'address-pool',
  addresses: ['load-balancer-ips', 'loadBalancerIPs'],
  sharing: 'allow-shared-ip',
} as const;

/** Reads an annotation under our prefix, then MetalLB's current and legacy ones; ours wins. */
function annotation(
  svc: Service,
  names: string | readonly string[],
  deprecated: string[],
): { value: string; key: string } | undefined {
  const annotations = svc.metadata.annotations ?? {};
  for (const prefix of ANNOTATION_PREFIXES) {
    for (const name of typeof names === 'string' ? [names] : names) {
      const key = prefix + name;
      const value = annotations[key];
      if (value === undefined) continue;
      if (prefix === 'metallb.universe.tf/') deprecated.push(key);
      return { value, key };
    }
  }
  return undefined;
}

export function isLoadBalancer(svc: Service): boolean {
  return svc.spec?.type === 'LoadBalancer';
}

/** Reads what a Service asks for. Pure: the same Service always gives the same intent. */
export function serviceIntent(svc: Service, classes: ClassPolicy): ServiceIntent {
  const spec = svc.spec ?? {};
  if (spec.type !== 'LoadBalancer') return { kind: 'ignore', why: 'NotLoadBalancer' };
  const cls = spec.loadBalancerClass;
  if (cls ? cls !== classes.loadBalancerClass : !classes.defaultClass)
    return { kind: 'ignore', why: 'OtherClass' };

  const deprecated: string[] = [];
  const invalid = (message: string): ServiceIntent => ({
    kind: 'invalid',
    reason: 'InvalidAnnotation',
    message,
  });

  const families = serviceFamilies(svc);
  const policy = spec.ipFamilyPolicy ?? 'SingleStack';
  if (policy === 'RequireDualStack' && families.length < 2) {
    return {
      kind: 'invalid',
      reason: 'FamilyUnavailable',
      message: 'ipFamilyPolicy is RequireDualStack but the Service has no ClusterIP of each family yet',
    };
  }

  const poolAnnotation = annotation(svc, ANNOTATION.pool, deprecated);
  const pool = poolAnnotation?.value.trim() || undefined;
  if (poolAnnotation && !pool)
    return invalid(`annotation ${poolAnnotation.key} is empty: name a pool or remove it`);

  let addresses: IPAddr[] | undefined;
  const ipsAnnotation = annotation(svc, ANNOTATION.addresses, deprecated);
  if (ipsAnnotation) {
    if (spec.loadBalancerIP) {
      return invalid(`annotation ${ipsAnnotation.key} and spec.loadBalancerIP are both set; keep only one`);
    }
    const parsed = parseAddressList(ipsAnnotation.value, ipsAnnotation.key);
    if (typeof parsed === 'string') return invalid(parsed);
    addresses = parsed;
  } else if (spec.loadBalancerIP) {
    const parsed = parseAddressList(spec.loadBalancerIP, 'spec.loadBalancerIP');
    if (typeof parsed === 'string') return invalid(parsed);
    if (parsed.length > 1)
      return invalid('spec.loadBalancerIP holds one address; use the annotation for two');
    addresses = parsed;
  }
  if (addresses) {
    for (const a of addresses) {
      if (!families.includes(a.family)) {
        return {
          kind: 'invalid',
          reason: 'FamilyUnavailable',
          message: `requested address ${formatIP(a)} is ${a.family} but the Service's IP families are ${families.join(', ')}`,
        };
      }
    }
    if (policy === 'RequireDualStack' && addresses.length < 2) {
      return invalid('ipFamilyPolicy is RequireDualStack: request one IPv4 and one IPv6 address, or none');
    }
  }

  const sharingAnnotation = annotation(svc, ANNOTATION.sharing, deprecated);
  const key = sharingAnnotation?.value.trim();
  const sharing: Sharing | undefined = key
    ? {
        key,
        ports: new Set((spec.ports ?? []).map((p) => `${p.protocol ?? 'TCP'}/${p.port}`)),
        backendKey: spec.externalTrafficPolicy === 'Local' ? canonicalSelector(spec.selector) : '',
      }
    : undefined;

  return {
    kind: 'allocate',
    request: {
      namespace: svc.metadata.namespace ?? '',
      labels: svc.metadata.labels ?? {},
      families,
      policy,
      pool,
      addresses,
      sharing,
      deprecatedAnnotations: deprecated,
    },
  };
}

/** Primary family first: spec.ipFamilies, else the ClusterIPs' families, else IPv4. */
export function serviceFamilies(svc: Service): IPFamily[] {
  const spec = svc.spec ?? {};
  const declared = spec.ipFamilies?.filter((f) => f === 'IPv4' || f === 'IPv6');
  if (declared && declared.length > 0) return [...new Set(declared)];
  const fromIPs: IPFamily[] = [];
  for (const ip of spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])) {
    const family: IPFamily = ip.includes(':') ? 'IPv6' : 'IPv4';
    if (ip !== 'None' && !fromIPs.includes(family)) fromIPs.push(family);
  }
  return fromIPs.length > 0 ? fromIPs : ['IPv4'];
}

function parseAddressList(text: string, source: string): IPAddr[] | string {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) return `${source} is empty`;
  if (parts.length > 2) return `${source} lists ${parts.length} addresses; at most one IPv4 and one IPv6`;
  const out: IPAddr[] = [];
  for (const part of parts) {
    try {
      out.push(parseIP(part));
    } catch (err) {
      if (!(err instanceof AddressError)) throw err;
      return `${source}: ${err.message}`;
    }
  }
  if (out.length === 2 && out[0]!.family === out[1]!.family) {
    return `${source} lists two ${out[0]!.family} addresses; at most one IPv4 and one IPv6`;
  }
  return out;
}

function canonicalSelector(selector: Record<string, string> | undefined): string {
  return Object.entries(selector ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
