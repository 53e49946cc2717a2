/**
 * Three L2 speakers in this process against a real API server, with real heartbeat workers (UDP on
 * 127.0.0.11-13) and the fake Ethernet segment in place of raw sockets: exactly one node answers ARP
 * for a Service's address and writes its ServiceL2Status, and when that speaker stops another node
 * answers within a second and the status follows. The lab suites do the same with real frames.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import {
  type L2Advertisement,
  L2AdvertisementResource,
  type ServiceL2Status,
  ServiceL2StatusResource,
} from '../../src/api/l2-advertisement.js';
import { Resources } from '../../src/k8s/resources.js';
import type { EndpointSlice, Node, Service } from '../../src/k8s/types.js';
import { FakeHost, FakeSegment } from '../../src/native/fake.js';
import { ARP_REPLY, ARP_REQUEST, decodeArp, encodeArpFrame } from '../../src/speaker/l2/arp.js';
import { decodeEthernet } from '../../src/speaker/l2/ethernet.js';
import { parseIpBytes } from '../../src/speaker/l2/ip-bytes.js';
import { l2Metrics } from '../../src/speaker/l2/l2-metrics.js';
import { L2Speaker } from '../../src/speaker/l2/l2-speaker.js';
import { BROADCAST_MAC, ZERO_MAC } from '../../src/speaker/l2/mac.js';
import { realClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { createPool, createService, installManifests, SYSTEM_NAMESPACE } from '../controller/harness.js';
import { useControlPlane } from '../support/fixture.js';
import { waitFor } from '../support/wait.js';

const VIP = '203.0.113.10';
const NODES = ['node-1', 'node-2', 'node-3'];
const bytes = (ip: string) => {
  const p = parseIpBytes(ip);
  if (!p.ok) throw new Error(p.error);
  return p.value.bytes;
};
const mac = (text: string) => Buffer.from(text.split(':').map((h) => Number.parseInt(h, 16)));

describe('speaker: L2 election between three speakers (fake Ethernet, real API server and heartbeats)', {
  timeout: 120_000,
}, () => {
  const cp = useControlPlane({ controllerManager: false });
  const segment = new FakeSegment('lan');
  const client = new FakeHost('client');
  const clientIf = client.addInterface(segment, {
    name: 'eth0',
    mac: '02:00:00:00:00:64',
    addresses: ['192.0.2.100'],
  });
  const speakers = new Map<string, L2Speaker>();
  const macs = new Map<string, string>();
  const port = 21000 + (process.pid % 20000);

  before(async () => {
    await installManifests(cp.plane);
    await waitFor('the L2 kinds to be served', async () => {
      try {
        await cp.admin.resource<L2Advertisement>(L2AdvertisementResource).list({});
        await cp.admin.resource<ServiceL2Status>(ServiceL2StatusResource).list({});
        return true;
      } catch {
        return undefined;
      }
    });
    const nodes = cp.admin.resource<Node>(Resources.nodes);
    for (const [i, name] of NODES.entries()) {
      const created = await nodes.create({ metadata: { name } });
      await nodes.update(
        { ...created, status: { addresses: [{ type: 'InternalIP', address: `127.0.0.${11 + i}` }] } },
        { subresource: 'status' },
      );
    }
    await createPool(cp.admin, 'lan', { addresses: ['203.0.113.0/24'] });
    await cp.admin
      .resource<L2Advertisement>(L2AdvertisementResource)
      .create({ metadata: { name: 'lan', namespace: SYSTEM_NAMESPACE }, spec: {} });
    const svc = await createService(cp.admin, 'default', 'web');
    await cp.admin
      .resource<Service>(Resources.services)
      .patch(
        'web',
        'default',
        { status: { loadBalancer: { ingress: [{ ip: VIP, ipMode: 'VIP' }] } } },
        { subresource: 'status' },
      );
    await cp.admin.resource<EndpointSlice>(Resources.endpointSlices).create({
      metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['198.18.1.5'], nodeName: 'node-2', conditions: { ready: true } }],
      ports: [{ port: 80, protocol: 'TCP' }],
    });
    assert.ok(svc.metadata.uid);

    for (const [i, name] of NODES.entries()) {
      const host = new FakeHost(name);
      const eth0 = host.addInterface(segment, { name: 'eth0', mac: `02:00:00:00:00:0${i + 1}` });
      macs.set(eth0.mac, name);
      const speaker = new L2Speaker({
        client: cp.admin,
        namespace: SYSTEM_NAMESPACE,
        nodeName: name,
        io: host,
        clock: realClock,
        logger: silentLogger,
        metrics: l2Metrics(new Registry()),
        classes: { loadBalancerClass: 'portico.dev/lb', defaultClass: true },
        mode: 'revertive',
        ignoreExcludeLabel: false,
        membership: { port, bindAddress: `127.0.0.${11 + i}`, secrets: ['portico-e2e-membership-secret'] },
        readInterfaces: async () => [
          {
            name: 'eth0',
            ifindex: eth0.ifindex,
            mac: eth0.mac,
            flags: 0x1003,
            type: 1,
            hasMaster: false,
            hasIpv6LinkLocal: false,
          },
        ],
      });
      speakers.set(name, speaker);
    }
    await Promise.all([...speakers.values()].map((s) => s.start()));
  });

  after(async () => {
    await Promise.all([...speakers.values()].map((s) => s.stop()));
  });

  /** Asks who has the VIP, as a client on the segment would; returns the nodes that replied. */
  const whoAnswers = async (): Promise<string[]> => {
    const mark = segment.frames.length;
    segment.injectFrame(
      encodeArpFrame(BROADCAST_MAC, mac(clientIf.mac), {
        operation: ARP_REQUEST,
        senderMac: mac(clientIf.mac),
        senderIp: bytes('192.0.2.100'),
        targetMac: ZERO_MAC,
        targetIp: bytes(VIP),
      }),
    );
    await segment.flush();
    const out: string[] = [];
    for (const f of segment.frames.slice(mark)) {
      const eth = decodeEthernet(f.frame);
      if (!eth.ok) continue;
      const arp = decodeArp(eth.value.payload);
      if (arp.ok && arp.value.operation === ARP_REPLY && eth.value.destination.equals(mac(clientIf.mac))) {
        out.push(macs.get(arp.value.senderMac.toString('hex').replace(/(..)(?!$)/g, '$1:')) ?? '?');
      }
    }
    return out;
  };
  const statusNodes = async () =>
    (
      await cp.admin.resource<ServiceL2Status>(ServiceL2StatusResource).list({ namespace: 'default' })
    ).items.map((o) => o.status?.node);

  it(
    'one node answers ARP for the address and says so in a ServiceL2Status; when it stops, another takes over within a second',
    cp.run(async () => {
      const owner = await waitFor('one node to answer', async () => {
        const who = await whoAnswers();
        return who.length === 1 ? who[0] : undefined;
      });
      for (let i = 0; i < 5; i++)
        assert.deepEqual(await whoAnswers(), [owner], 'always one responder, the same');
      await waitFor('the ServiceL2Status of the owner', async () =>
        JSON.stringify(await statusNodes()) === JSON.stringify([owner]) ? true : undefined,
      );

      const stoppedAt = performance.now();
      await speakers.get(owner!)!.stop();
      speakers.delete(owner!);
      const successor = await waitFor(
        'another node to answer',
        async () => {
          const who = await whoAnswers();
          return who.length === 1 && who[0] !== owner ? who[0] : undefined;
        },
        { intervalMs: 10 },
      );
      const tookMs = performance.now() - stoppedAt;
      process.stderr.write(
        `# ${successor} answered ${Math.round(tookMs)} ms after ${owner}'s speaker was stopped\n`,
      );
      assert.ok(tookMs < 1000, `took over in ${Math.round(tookMs)} ms`);
      assert.deepEqual(await whoAnswers(), [successor]);
      await waitFor('the ServiceL2Status to follow', async () =>
        JSON.stringify(await statusNodes()) === JSON.stringify([successor]) ? true : undefined,
      );
    }),
  );
});
