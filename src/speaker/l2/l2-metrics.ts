import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type L2Metrics = ReturnType<typeof l2Metrics>;

/**
 * The speaker's L2 series. Requests are counted by what the responder decided (`reply`, or the
 * reason it stayed silent), so "why does nobody answer for my VIP" can be read off /metrics.
 */
export function l2Metrics(registry: Registry) {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'portico_speaker_l2_requests_total',
      help: 'ARP requests and neighbor solicitations received, by protocol, interface and outcome (reply or why not).',
      labelNames: ['protocol', 'interface', 'outcome'] as const,
      registers,
    }),
    replies: new Counter({
      name: 'portico_speaker_l2_replies_total',
      help: 'ARP replies and solicited neighbor advertisements sent, by protocol and interface.',
      labelNames: ['protocol', 'interface'] as const,
      registers,
    }),
    gratuitous: new Counter({
      name: 'portico_speaker_l2_gratuitous_total',
      help: 'Gratuitous ARP (request and reply forms) and unsolicited neighbor advertisements sent, by kind and interface.',
      labelNames: ['kind', 'interface'] as const,
      registers,
    }),
    sendErrors: new Counter({
      name: 'portico_speaker_l2_send_errors_total',
      help: 'Frames the kernel refused to send, by protocol and interface.',
      labelNames: ['protocol', 'interface'] as const,
      registers,
    }),
    ownedAddresses: new Gauge({
      name: 'portico_speaker_l2_owned_addresses',
      help: 'Addresses this node announces over L2, by family.',
      labelNames: ['family'] as const,
      registers,
    }),
    interfaces: new Gauge({
      name: 'portico_speaker_l2_interfaces',
      help: 'Interfaces this node can announce on, by protocol.',
      labelNames: ['protocol'] as const,
      registers,
    }),
    members: new Gauge({
      name: 'portico_speaker_members',
      help: 'Speakers in the heartbeat membership as this node sees them, by state (this node included).',
      labelNames: ['state'] as const,
      registers,
    }),
    failover: new Histogram({
      name: 'portico_speaker_l2_failover_seconds',
      help: 'From the moment the previous owner of an address was last heard to this node announcing it.',
      buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10],
      registers,
    }),
  };
}
