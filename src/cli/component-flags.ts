import { parseArgs } from 'node:util';
import { type LeaderElectionTimings, leaderElectionTimings } from '../k8s/leader-election-core.js';
import { parseDuration } from '../util/duration.js';
import { CliError, EXIT_CONFIG } from './connect.js';

/** Flags every long-running component takes; the controller also takes the leader-election ones. */
export interface ComponentFlags {
  kubeconfig?: string;
  metricsBindAddress: { host: string; port: number };
  leaderElect: boolean;
  leaderElection: LeaderElectionTimings & { namespace?: string; name: string };
  /** The component's own flags (see ComponentDefaults.flags), by name. */
  extra: Record<string, string | undefined>;
  help: boolean;
}

/** A flag only one component takes; its value is kept as text for the component to check. */
export interface ExtraFlag {
  /** Placeholder in the help text, e.g. `<n>`. */
  arg: string;
  default?: string;
  help: string;
}

export interface ComponentDefaults {
  metricsPort: number;
  leaderElect: boolean;
  leaseName: string;
  flags?: Record<string, ExtraFlag>;
}

export const componentFlagsHelp = (d: ComponentDefaults): string => `Flags:
  --kubeconfig <path>                     kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --metrics-bind-address <host:port>      serve /metrics, /healthz and /readyz here (default :${d.metricsPort})
${Object.entries(d.flags ?? {})
  .map(([name, f]) => {
    const head = `  --${name} ${f.arg}`;
    return `${head.padEnd(42)}${f.help}${f.default !== undefined ? ` (default ${f.default})` : ''}\n`;
  })
  .join('')}${
  d.leaderElect
    ? `  --leader-elect=<bool>                   elect one active replica with a Lease (default true)
  --leader-elect-lease-duration <d>       how long a lease lasts without renewal (default 15s)
  --leader-elect-renew-deadline <d>       how long the leader keeps trying to renew before it stops acting (default 10s)
  --leader-elect-retry-period <d>         how often to try to acquire or renew (default 2s)
  --leader-elect-namespace <ns>           namespace of the Lease (default: the pod's namespace)
  --leader-elect-lease-name <name>        name of the Lease (default ${d.leaseName})
`
    : ''
}  -h, --help                              show this help
Durations look like 500ms, 15s or 1m.
`;

/** Parses and validates a component's flags; every mistake is a one-line CliError with exit code 2. */
export function parseComponentFlags(args: string[], defaults: ComponentDefaults): ComponentFlags {
  const leaderOptions = {
    'leader-elect': { type: 'string' },
    'leader-elect-lease-duration': { type: 'string', default: '15s' },
    'leader-elect-renew-deadline': { type: 'string', default: '10s' },
    'leader-elect-retry-period': { type: 'string', default: '2s' },
    'leader-elect-namespace': { type: 'string' },
    'leader-elect-lease-name': { type: 'string', default: defaults.leaseName },
  } as const;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        kubeconfig: { type: 'string' },
        'metrics-bind-address': { type: 'string', default: `:${defaults.metricsPort}` },
        help: { type: 'boolean', short: 'h', default: false },
        ...(defaults.leaderElect ? leaderOptions : {}),
        ...Object.fromEntries(
          Object.entries(defaults.flags ?? {}).map(([name, f]) => [
            name,
            { type: 'string' as const, ...(f.default !== undefined ? { default: f.default } : {}) },
          ]),
        ),
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new CliError((err as Error).message, EXIT_CONFIG);
  }
  const str = (name: string) => values[name] as string | undefined;
  return {
    kubeconfig: str('kubeconfig'),
    metricsBindAddress: parseBindAddress(str('metrics-bind-address')!),
    leaderElect: defaults.leaderElect && parseBool('--leader-elect', str('leader-elect') ?? 'true'),
    leaderElection: {
      ...timings(values),
      namespace: str('leader-elect-namespace'),
      name: str('leader-elect-lease-name') ?? defaults.leaseName,
    },
    extra: Object.fromEntries(Object.keys(defaults.flags ?? {}).map((name) => [name, str(name)])),
    help: values.help === true,
  };
}

function timings(values: Record<string, string | boolean | undefined>): LeaderElectionTimings {
  const duration = (flag: string) => {
    const text = values[flag];
    if (typeof text !== 'string') return undefined;
    try {
      return parseDuration(text);
    } catch (err) {
      throw new CliError(`--${flag}: ${(err as Error).message}`, EXIT_CONFIG);
    }
  };
  try {
    return leaderElectionTimings({
      leaseDurationMs: duration('leader-elect-lease-duration'),
      renewDeadlineMs: duration('leader-elect-renew-deadline'),
      retryPeriodMs: duration('leader-elect-retry-period'),
    });
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError((err as Error).message, EXIT_CONFIG);
  }
}

function parseBool(flag: string, text: string): boolean {
  if (text === 'true' || text === '') return true;
  if (text === 'false') return false;
  throw new CliError(`${flag} must be true or false, not "${text}"`, EXIT_CONFIG);
}

/** `:9100`, `0.0.0.0:9100`, `127.0.0.1:9100` or `[::1]:9100`; port 0 disables the server. */
export function parseBindAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new CliError(
      `--metrics-bind-address "${text}" must look like :9100 or 127.0.0.1:9100`,
      EXIT_CONFIG,
    );
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
