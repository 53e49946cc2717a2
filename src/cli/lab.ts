import { parseArgs } from 'node:util';
import { CliError, EXIT_CONFIG } from './connect.js';

export const LAB_USAGE = `Usage: portico lab <command>

A whole bare-metal cluster on this machine, built from network namespaces (needs root):
a switch, N nodes with pods, a BGP router and a client behind it.

Commands:
  up [--nodes N] [--router frr|bird|gobgp] [--ipv4-only] [--mld-snooping]
                          build the lab (default: 3 nodes, FRR, dual-stack)
  down                    remove everything the lab created, even after a crash
  status                  what runs and whether it is healthy
  kubeconfig              print the path of the lab's kubeconfig
  exec <name> -- <cmd>    run a command in node-1 … node-N, router, client, lan-client or switch
  link <node> down|up     cut or restore a node's link to the switch
`;

type Lab = typeof import('../../e2e/lab/lab.js');
type Supervisor = typeof import('../../e2e/lab/supervisor.js');

/** The lab lives with the e2e suites; it is loaded only when `portico lab` runs. */
const loadLab = (): Promise<Lab> => import('../../e2e/lab/lab.js');
const loadSupervisor = (): Promise<Supervisor> => import('../../e2e/lab/supervisor.js');

export async function labCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  switch (sub) {
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(LAB_USAGE);
      return sub ? 0 : EXIT_CONFIG;
    case 'up': {
      const { values } = parse(rest, {
        nodes: { type: 'string' },
        router: { type: 'string' },
        'ipv4-only': { type: 'boolean' },
        ipv6: { type: 'boolean' },
        'mld-snooping': { type: 'boolean' },
      });
      const nodes = values.nodes === undefined ? undefined : Number(values.nodes);
      if (nodes !== undefined && !Number.isInteger(nodes))
        throw new CliError('--nodes takes a whole number', EXIT_CONFIG);
      const lab = await loadLab();
      const summary = await lab.labUp({
        nodes,
        router: values.router as 'frr' | 'bird' | 'gobgp' | undefined,
        ipv6: values['ipv4-only'] !== true,
        mldSnooping: values['mld-snooping'] === true,
        log,
      });
      process.stdout.write(summary);
      return 0;
    }
    case 'serve': {
      // Hidden: the detached process `lab up` starts to run the cluster; it lives on its timers.
      parse(rest, {});
      await (await loadSupervisor()).serveLab();
      return 0;
    }
    case 'down': {
      parse(rest, {});
      log(`lab down: ${await (await loadLab()).labDown({ log: () => {} })}`);
      return 0;
    }
    case 'status': {
      parse(rest, {});
      const report = await (await loadLab()).labStatus();
      process.stdout.write(report.text);
      return report.healthy ? 0 : 1;
    }
    case 'kubeconfig': {
      parse(rest, {});
      const path = (await loadLab()).labKubeconfig();
      if (!path) throw new CliError('the lab has no cluster running (run `portico lab up`)', 1);
      process.stdout.write(`${path}\n`);
      return 0;
    }
    case 'exec': {
      const [name, dashes, ...command] = rest;
      if (!name || dashes !== '--' || command.length === 0) {
        throw new CliError('usage: portico lab exec <name> -- <command> [args...]', EXIT_CONFIG);
      }
      return (await loadLab()).labExec(name, command);
    }
    case 'link': {
      const [node, state, ...extra] = rest;
      if (!node || (state !== 'down' && state !== 'up') || extra.length) {
        throw new CliError('usage: portico lab link <node> down|up', EXIT_CONFIG);
      }
      await (await loadLab()).labLink(node, state);
      return 0;
    }
    default:
      throw new CliError(`unknown lab command "${sub}" (see portico lab --help)`, EXIT_CONFIG);
  }
}

function parse<T extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(
  args: string[],
  options: T,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new CliError((err as Error).message, EXIT_CONFIG);
  }
}
