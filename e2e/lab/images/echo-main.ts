/**
 * Entry point of the `portico-lab/echo` image, as the lab kubelet runs it inside a pod's network
 * namespace. Reads PORT (default 8080; 0 picks a free port), POD_NAME (default: the hostname), NODE_NAME,
 * POD_NAMESPACE or NAMESPACE, POD_IP and SERVICE_NAME; logs one JSON line when it listens and one
 * when it stops. Exits 0 after SIGTERM/SIGINT (in-flight requests finished), 1 if it cannot listen.
 * The same port answers UDP too: each datagram gets the pod's identity back as JSON, so a Service with
 * TCP and UDP ports can be checked on both.
 */
import { createSocket } from 'node:dgram';
import { hostname } from 'node:os';
import { createEchoServer, type EchoIdentity } from './echo-server.js';

function log(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
}

function fail(message: string): never {
  process.stderr.write(`portico-lab/echo: ${message}\n`);
  process.exit(1);
}

const env = process.env;
const portText = env.PORT || '8080';
const port = Number(portText);
if (!/^\d+$/.test(portText) || port > 65535) fail(`PORT must be 0-65535, got '${portText}'`);

const identity: EchoIdentity = {
  pod: env.POD_NAME || hostname(),
  node: env.NODE_NAME ?? '',
  namespace: env.POD_NAMESPACE || env.NAMESPACE || '',
  service: env.SERVICE_NAME ?? '',
  podIp: env.POD_IP ?? '',
};

const server = createEchoServer({ port, identity });
let served = 0;
server.on('request', () => served++);

let stopping = false;
async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  udp.close();
  await server.shutdown();
  log({ msg: 'echo server stopped', signal, served });
  process.exit(0);
}
process.on('SIGTERM', (s) => void stop(s));
process.on('SIGINT', (s) => void stop(s));

const udp = createSocket({ type: 'udp6', ipv6Only: false });
udp.on('message', (_msg, from) => {
  udp.send(
    JSON.stringify({ proto: 'udp', remoteAddress: from.address, ...identity }),
    from.port,
    from.address,
  );
});
udp.on('error', (err) => log({ msg: 'udp error', err: err.message }));

try {
  const address = await server.start();
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(address.port, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  log({ msg: 'echo server listening', address: address.address, port: address.port, ...identity });
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  fail(`cannot listen on port ${port}: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' '));
}
