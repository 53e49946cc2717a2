import { collectDefaultMetrics, Registry } from 'prom-client';
import type { KubeClient } from '../k8s/client.js';
import { oneLine } from '../k8s/errors.js';
import { EventRecorder } from '../k8s/event-recorder.js';
import { Resources } from '../k8s/resources.js';
import type { Node } from '../k8s/types.js';
import { MissingCapabilityError } from '../native/errors.js';
import { nativeNetworkIo } from '../native/native-io.js';
import type { NetworkIo } from '../native/types.js';
import type { PlacementMode } from '../speaker/election/placement.js';
import { readInterfaces } from '../speaker/l2/interface-scan.js';
import { l2Metrics } from '../speaker/l2/l2-metrics.js';
import { L2Speaker } from '../speaker/l2/l2-speaker.js';
import { membershipOptions } from '../speaker/membership/options.js';
import {
  DEFAULT_MEMBERSHIP_SECRET,
  MembershipSecretError,
  readMembershipKeys,
} from '../speaker/membership/secret.js';
import { realClock } from '../util/clock.js';
import { parseDuration } from '../util/duration.js';
import { createLogger } from '../util/logger.js';
import { CLASS_FLAGS, classPolicy, installNamespace } from './class-flags.js';
import type { ComponentFlags, ExtraFlag } from './component-flags.js';
import { CliError, EXIT_CONFIG } from './connect.js';
import { healthServer, serveHealth } from './health.js';

export const DEFAULT_MEMBERSHIP_PORT = 7947;

export const SPEAKER_FLAGS: Record<string, ExtraFlag> = {
  namespace: {
    arg: '<ns>',
    help: "namespace of IPAddressPools, L2Advertisements and the membership Secret (default: the pod's namespace, else portico-system)",
  },
  'node-name': { arg: '<name>', help: 'the Node this speaker runs on (default: $NODE_NAME)' },
  ...CLASS_FLAGS,
  'membership-port': {
    arg: '<port>',
    default: String(DEFAULT_MEMBERSHIP_PORT),
    help: 'UDP port of the speaker-to-speaker heartbeats, the same on every node',
  },
  'membership-bind-address': {
    arg: '<ip>',
    default: '',
    help: "address to receive heartbeats on (default: this Node's InternalIP, where the peers send them)",
  },
  'membership-secret': {
    arg: '<name>',
    default: DEFAULT_MEMBERSHIP_SECRET,
    help: 'Secret with the heartbeat key (created by the controller)',
  },
  'membership-interval': { arg: '<d>', default: '100ms', help: 'send a heartbeat to every peer this often' },
  'membership-timeout': {
    arg: '<d>',
    default: '300ms',
    help: 'a peer silent this long is down and its addresses move',
  },
  placement: {
    arg: '<mode>',
    default: 'revertive',
    help: 'revertive: an address returns to its preferred node when that node is back; non-revertive: it stays where it is',
  },
  'ignore-exclude-label': {
    arg: '<bool>',
    default: 'false',
    help: 'announce from nodes labelled node.kubernetes.io/exclude-from-external-load-balancers too',
  },
  'interface-scan-interval': {
    arg: '<d>',
    default: '2s',
    help: 'how often to look for interfaces that came, went or changed',
  },
};

interface SpeakerSettings {
  namespace: string;
  nodeName: string;
  membershipPort: number;
  membershipBindAddress: string;
  membershipSecret: string;
  intervalMs: number;
  timeoutMs: number;
  placement: PlacementMode;
  ignoreExcludeLabel: boolean;
  interfaceScanMs: number;
}

export function speakerSettings(flags: ComponentFlags, env = process.env): SpeakerSettings {
  const x = flags.extra;
  const duration = (name: string) => {
    try {
      return parseDuration(x[name] ?? '');
    } catch (err) {
      throw new CliError(`--${name}: ${(err as Error).message}`, EXIT_CONFIG);
    }
  };
  const nodeName = x['node-name'] || env.NODE_NAME || '';
  if (!nodeName) {
    throw new CliError(
      'which node is this? Pass --node-name or set NODE_NAME (the DaemonSet sets it from spec.nodeName)',
      EXIT_CONFIG,
    );
  }
  const port = Number(x['membership-port']);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new CliError(
      `--membership-port must be a port from 1 to 65535, not "${x['membership-port']}"`,
      EXIT_CONFIG,
    );
  }
  const placement = x.placement;
  if (placement !== 'revertive' && placement !== 'non-revertive') {
    throw new CliError(`--placement must be revertive or non-revertive, not "${placement}"`, EXIT_CONFIG);
  }
  const ignore = x['ignore-exclude-label'];
  if (ignore !== 'true' && ignore !== 'false') {
    throw new CliError(`--ignore-exclude-label must be true or false, not "${ignore}"`, EXIT_CONFIG);
  }
  const intervalMs = duration('membership-interval');
  const timeoutMs = duration('membership-timeout');
  try {
    membershipOptions(heartbeatTimings(intervalMs, timeoutMs));
  } catch (err) {
    throw new CliError(`--membership-interval/--membership-timeout: ${(err as Error).message}`, EXIT_CONFIG);
  }
  return {
    namespace: installNamespace(x.namespace, env),
    nodeName,
    membershipPort: port,
    membershipBindAddress: x['membership-bind-address'] ?? '',
    membershipSecret: x['membership-secret'] || DEFAULT_MEMBERSHIP_SECRET,
    intervalMs,
    timeoutMs,
    placement: placement === 'revertive' ? 'revertive' : 'nonRevertive',
    ignoreExcludeLabel: ignore === 'true',
    interfaceScanMs: duration('interface-scan-interval'),
  };
}

/** Suspicion (asking other members to relay) starts halfway between one interval and the timeout. */
function heartbeatTimings(intervalMs: number, timeoutMs: number) {
  return { intervalMs, timeoutMs, suspectAfterMs: Math.round((intervalMs + timeoutMs) / 2) };
}

/**
 * Before anything else: the raw sockets L2 needs. Opening a packet socket on `lo` proves the addon
 * loads and that CAP_NET_RAW is there, so a speaker without it stops with one line, not later.
 */
export function checkRawSockets(io: NetworkIo): void {
  try {
    io.openPacket({ interface: 'lo', ethertype: 0x0806 }, { onFrame: () => {}, onError: () => {} }).close();
  } catch (err) {
    if (err instanceof MissingCapabilityError) {
      throw new CliError(
        'CAP_NET_RAW is missing: L2 mode answers ARP and NDP through raw sockets (add NET_RAW to securityContext.capabilities.add, as manifests/speaker.yaml does)',
        EXIT_CONFIG,
      );
    }
    throw new CliError(oneLine(err), EXIT_CONFIG);
  }
}

async function nodeInternalIp(client: KubeClient, nodeName: string): Promise<string> {
  let node: Node;
  try {
    node = await client.resource<Node>(Resources.nodes).get(nodeName);
  } catch (err) {
    throw new CliError(`cannot read Node ${nodeName}: ${oneLine(err)}`, EXIT_CONFIG);
  }
  const address = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (!address) {
    throw new CliError(
      `Node ${nodeName} has no InternalIP; pass --membership-bind-address with this node's address`,
      EXIT_CONFIG,
    );
  }
  return address;
}

/**
 * `portico speaker`: the L2 speaker of one node. Exits 0 on SIGTERM after handing its addresses over
 * (the successor answers before this node goes silent), 1 if the membership fails (the kubelet
 * restarts it), 2 for a configuration problem.
 */
export async function runSpeaker(flags: ComponentFlags, client: KubeClient, io?: NetworkIo): Promise<number> {
  const settings = speakerSettings(flags);
  const classes = classPolicy(flags.extra);
  const network = io ?? nativeNetworkIo();
  checkRawSockets(network);
  const logger = createLogger('speaker', undefined, { batched: true });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'portico_speaker_process_' });
  const shutdown = new AbortController();
  const onSignal = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    shutdown.abort();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));

  const bindAddress = settings.membershipBindAddress || (await nodeInternalIp(client, settings.nodeName));
  let secrets: Uint8Array[];
  try {
    secrets = await readMembershipKeys({
      client,
      namespace: settings.namespace,
      name: settings.membershipSecret,
      clock: realClock,
      logger,
      signal: shutdown.signal,
    });
  } catch (err) {
    if (shutdown.signal.aborted) return 0;
    if (err instanceof MembershipSecretError) throw new CliError(err.message, EXIT_CONFIG);
    throw err;
  }

  const events = new EventRecorder({
    client,
    reportingController: 'portico.dev/speaker',
    reportingInstance: settings.nodeName,
    logger,
    registry,
  });
  let fatal: Error | undefined;
  const speaker = new L2Speaker({
    client,
    namespace: settings.namespace,
    nodeName: settings.nodeName,
    io: network,
    clock: realClock,
    logger,
    metrics: l2Metrics(registry),
    classes,
    mode: settings.placement,
    ignoreExcludeLabel: settings.ignoreExcludeLabel,
    membership: {
      port: settings.membershipPort,
      bindAddress,
      secrets,
      options: heartbeatTimings(settings.intervalMs, settings.timeoutMs),
    },
    readInterfaces: () => readInterfaces(),
    interfaceScanMs: settings.interfaceScanMs,
    events,
    onFatal: (err) => {
      fatal = err;
      shutdown.abort();
    },
  });
  const health = healthServer(flags, registry);
  health.addLivenessCheck('membership', () => fatal === undefined);
  health.addReadinessCheck('speaker', () => speaker.ready());
  await serveHealth(health, flags);
  logger.info({ ...settings, bindAddress, ...classes }, 'speaker starting');
  try {
    await speaker.start();
  } catch (err) {
    if (!shutdown.signal.aborted) {
      await health.close();
      throw new CliError(`cannot start: ${oneLine(err)}`, fatal ? 1 : EXIT_CONFIG);
    }
  }
  if (!shutdown.signal.aborted) {
    await new Promise((resolve) => shutdown.signal.addEventListener('abort', resolve, { once: true }));
  }
  await speaker.stop();
  await events.close();
  await health.close();
  client.close();
  if (fatal) {
    logger.error(
      { err: fatal.message },
      'the membership failed; exiting so the kubelet restarts the speaker',
    );
    return 1;
  }
  return 0;
}
