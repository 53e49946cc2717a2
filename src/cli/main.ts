import type { KubeClient } from '../k8s/client.js';
import { oneLine } from '../k8s/errors.js';
import {
  type ComponentDefaults,
  type ComponentFlags,
  componentFlagsHelp,
  parseComponentFlags,
} from './component-flags.js';
import { CliError, connect } from './connect.js';
import { CONTROLLER_FLAGS, runController } from './controller-command.js';
import { labCommand } from './lab.js';
import { runSpeaker, SPEAKER_FLAGS } from './speaker-command.js';
import { VERSION, versionCommand } from './version.js';

const USAGE = `portico ${VERSION}: bare-metal LoadBalancer and ingress for Kubernetes

Usage: portico <command> [flags]

Commands:
  controller   Assign external IPs from IPAddressPools to LoadBalancer Services and explain every
               pending one (Deployment, leader-elected)
  speaker      Announce the assigned IPs from the nodes over L2: ARP/NDP (DaemonSet, host network)
  proxy        The bundled Ingress proxy: TLS/SNI, host/path routing, load balancing over EndpointSlices
  lab          Build a whole bare-metal cluster on this machine from network namespaces (up|down|status)
  version      Print the version

Common flags:
  --kubeconfig <path>   kubeconfig to use (default: $KUBECONFIG, in-cluster service account, ~/.kube/config)
  -h, --help            Show help for a command

Exit codes: 0 success, 1 failure, 2 bad flags or configuration (kubeconfig, unreachable or untrusted API server).
`;

interface ComponentSpec extends ComponentDefaults {
  summary: string;
  /** Runs the component; without one, the command says honestly that it is not built yet. */
  run?: (flags: ComponentFlags, client: KubeClient) => Promise<number>;
  notBuilt?: string;
}

const COMPONENTS: Record<string, ComponentSpec> = {
  controller: {
    summary: 'Assigns external IPs from IPAddressPools to LoadBalancer Services.',
    run: runController,
    metricsPort: 7472,
    leaderElect: true,
    leaseName: 'portico-controller',
    flags: CONTROLLER_FLAGS,
  },
  speaker: {
    summary: 'Announces LoadBalancer IPs from this node over L2 (ARP/NDP).',
    run: (flags, client) => runSpeaker(flags, client),
    metricsPort: 7473,
    leaderElect: false,
    leaseName: '',
    flags: SPEAKER_FLAGS,
  },
  proxy: {
    summary: 'Serves networking.k8s.io/v1 Ingress traffic.',
    notBuilt: 'the Ingress proxy is not built yet',
    metricsPort: 7474,
    leaderElect: false,
    leaseName: '',
  },
};

/** Errors a user can cause and fix, by name (the lab's modules load only when used): their exit codes. */
const USER_ERRORS: Record<string, number> = {
  PreflightError: 2,
  LabSpecError: 2,
  LabError: 1,
  LabExistsError: 1,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (!command || command === '-h' || command === '--help' || command === 'help') {
      process.stdout.write(USAGE);
      return command ? 0 : 2;
    }
    if (command === 'version' || command === '--version') return versionCommand(rest);
    if (command === 'lab') return await labCommand(rest);
    const spec = COMPONENTS[command];
    if (!spec) throw new CliError(`unknown command "${command}" (see portico --help)`, 2);
    return await component(command, spec, rest);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`portico ${command}: ${err.message}\n`);
      return err.exitCode;
    }
    const userError = USER_ERRORS[(err as Error | undefined)?.name ?? ''];
    if (userError !== undefined) {
      process.stderr.write(`portico ${command}: ${oneLine(err)}\n`);
      return userError;
    }
    throw err;
  }
}

async function component(name: string, spec: ComponentSpec, args: string[]): Promise<number> {
  const flags = parseComponentFlags(args, spec);
  if (flags.help) {
    process.stdout.write(`portico ${name}: ${spec.summary}\n\n${componentFlagsHelp(spec)}`);
    return 0;
  }
  const client = await connect(flags.kubeconfig, name);
  if (spec.run) return await spec.run(flags, client);
  client.close();
  process.stderr.write(`portico ${name}: connected to ${client.server}, but ${spec.notBuilt}\n`);
  return 1;
}
