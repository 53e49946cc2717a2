/**
 * The heartbeat loop in a worker thread: its own UDP socket and timers, so a pause of the main
 * thread (a garbage collection, a burst of API events, a slow log write) delays neither heartbeats
 * nor failure detection. The main thread only configures it (peers, claims, leave) and receives the
 * membership view whenever it changes.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { realClock } from '../../util/clock.js';
import { MembershipDriver } from './driver.js';
import { createKeyring } from './keyring.js';
import { Membership } from './members.js';
import type { MembershipOptions } from './options.js';
import type { MemberChange, MembershipView, Peer } from './types.js';

export interface HeartbeatWorkerData {
  self: string;
  incarnation: number;
  secrets: (string | Uint8Array)[];
  options: Partial<MembershipOptions>;
  /** Where to listen: an address of this node, or '::' for all. */
  bindAddress: string;
  port: number;
}

export type ToWorker =
  | { type: 'peers'; peers: Peer[] }
  | { type: 'claims'; ips: string[] }
  | { type: 'leave' }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'listening'; port: number }
  | { type: 'view'; view: MembershipView; changes: MemberChange[] }
  | { type: 'dropped'; reason: string }
  | { type: 'error'; message: string };

function run(port: NonNullable<typeof parentPort>, data: HeartbeatWorkerData): void {
  const post = (m: FromWorker) => port.postMessage(m);
  const clock = realClock;
  const keyring = createKeyring(data.secrets);
  const membership = new Membership(
    { self: data.self, incarnation: data.incarnation, keyring, options: data.options },
    clock.now(),
  );
  const socket: Socket = createSocket({ type: 'udp6', ipv6Only: false });
  let driver: MembershipDriver | undefined;
  // What the main thread asked for before the socket was bound, applied once it is.
  const early: ToWorker[] = [];
  socket.on('error', (err) => post({ type: 'error', message: `membership socket: ${err.message}` }));
  socket.on('message', (bytes) => driver?.received(bytes));
  const toSocketAddress = (address: string) => (isIPv6(address) ? address : `::ffff:${address}`);
  socket.bind(
    { address: data.bindAddress === '0.0.0.0' ? '::' : toSocketAddress(data.bindAddress), port: data.port },
    () => {
      driver = new MembershipDriver({
        membership,
        keyring,
        clock,
        send: (d) => socket.send(d.bytes, data.port, toSocketAddress(d.address)),
        onChanges: (changes) =>
          post({ type: 'view', view: membership.view(clock.now()), changes: [...changes] }),
        onDropped: (reason) => post({ type: 'dropped', reason }),
      });
      for (const m of early.splice(0)) apply(m);
      post({ type: 'listening', port: socket.address().port });
      post({ type: 'view', view: membership.view(clock.now()), changes: [] });
    },
  );
  const apply = (m: ToWorker): void => {
    if (!driver && m.type !== 'stop') {
      early.push(m);
      return;
    }
    switch (m.type) {
      case 'peers':
        driver?.setPeers(m.peers);
        break;
      case 'claims':
        driver?.setClaims(m.ips);
        break;
      case 'leave':
        driver?.leave();
        break;
      case 'stop':
        driver?.stop();
        socket.close();
        port.close();
        break;
    }
  };
  port.on('message', apply);
}

if (parentPort) run(parentPort, workerData as HeartbeatWorkerData);
