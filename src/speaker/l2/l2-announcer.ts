/**
 * The L2 shell: on each usable interface an ARP packet socket and an ICMPv6 socket, answering for
 * the addresses this node owns through the pure responders, joining the solicited-node groups of
 * owned IPv6 addresses (so an MLD-snooping switch forwards their solicitations here), and sending
 * the takeover announcements on one timer. Losing an address makes it silent at once: the lookup
 * the responders use changes before the next frame is read.
 */
import { AddressError } from '../../api/address.js';
import { halfWordFilter } from '../../native/bpf.js';
import type { Icmp6Socket, NetworkIo, PacketSocket } from '../../native/types.js';
import type { Clock, Timer } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { AnnouncementSchedule, type AnnouncementScheduleOptions } from './announcement.js';
import { buildAnnouncementPacket } from './announcement-packets.js';
import { respondToArp } from './arp-responder.js';
import { ETHERTYPE_ARP } from './ethernet.js';
import type { UsableInterface } from './interface-scan.js';
import { ipv6ToText, parseIpBytes } from './ip-bytes.js';
import type { L2Metrics } from './l2-metrics.js';
import { parseMac } from './mac.js';
import { ICMPV6_NEIGHBOR_SOLICITATION } from './ndp.js';
import { solicitedNodeAddress } from './ndp-addresses.js';
import { respondToNeighborSolicitation } from './ndp-responder.js';
import { type L2Interface, PACKET_TYPES, type VipAnnouncement } from './responder-context.js';

/** Where an owned address is announced: every usable interface, or the advertisements' list. */
export interface OwnedAddress {
  interfaces: 'all' | readonly string[];
}

export interface L2AnnouncerOptions {
  io: NetworkIo;
  clock: Clock;
  logger: Logger;
  metrics: L2Metrics;
  schedule?: AnnouncementScheduleOptions;
}

interface Port {
  iface: L2Interface;
  usable: UsableInterface;
  arp: PacketSocket | undefined;
  ndp: Icmp6Socket | undefined;
  /** Solicited-node groups joined on this interface, as text. */
  groups: Set<string>;
}

/** ARP opcode at offset 20 of the frame (14 Ethernet + 6): requests only reach us. */
const ARP_REQUESTS_ONLY = halfWordFilter(20, [1]);

export class L2Announcer {
  private readonly ports = new Map<string, Port>();
  private owned = new Map<string, OwnedAddress>();
  private readonly schedule: AnnouncementSchedule;
  private timer: Timer | undefined;
  private closed = false;

  constructor(private readonly o: L2AnnouncerOptions) {
    this.schedule = new AnnouncementSchedule(o.schedule);
  }

  /** Whether this node answers for `vip` on the interface: what the responders ask. */
  readonly lookup = (vip: string, interfaceName: string): VipAnnouncement => {
    const owned = this.owned.get(vip);
    if (!owned) return 'not-owned';
    if (owned.interfaces !== 'all' && !owned.interfaces.includes(interfaceName))
      return 'interface-not-allowed';
    return this.ports.has(interfaceName) ? 'announce' : 'interface-not-allowed';
  };

  /** Opens sockets on new interfaces and closes those of vanished ones (or changed MAC or index). */
  setInterfaces(usable: readonly UsableInterface[]): void {
    const next = new Map(usable.map((u) => [u.name, u]));
    for (const [name, port] of this.ports) {
      const u = next.get(name);
      if (
        !u ||
        u.ifindex !== port.usable.ifindex ||
        u.mac !== port.usable.mac ||
        u.arp !== port.usable.arp ||
        u.ndp !== port.usable.ndp
      ) {
        this.closePort(port);
        this.ports.delete(name);
      }
    }
    const opened: string[] = [];
    for (const u of next.values()) {
      if (this.ports.has(u.name)) continue;
      const port = this.openPort(u);
      if (port) {
        this.ports.set(u.name, port);
        opened.push(u.name);
      }
    }
    this.o.metrics.interfaces.set({ protocol: 'arp' }, [...this.ports.values()].filter((p) => p.arp).length);
    this.o.metrics.interfaces.set({ protocol: 'ndp' }, [...this.ports.values()].filter((p) => p.ndp).length);
    this.syncGroups();
    // A new interface (or a new MAC) must hear about addresses already owned.
    if (opened.length > 0)
      for (const vip of this.owned.keys()) this.schedule.reannounce(vip, this.o.clock.now());
    this.arm();
  }

  /** The addresses this node announces from now on; new ones are announced at once. */
  setOwned(next: ReadonlyMap<string, OwnedAddress>): void {
    const now = this.o.clock.now();
    const before = this.owned;
    this.owned = new Map(next);
    for (const vip of before.keys()) if (!next.has(vip)) this.schedule.disown(vip);
    for (const [vip, scope] of next) {
      const old = before.get(vip);
      if (!old) this.schedule.own(vip, now);
      else if (JSON.stringify(old.interfaces) !== JSON.stringify(scope.interfaces))
        this.schedule.reannounce(vip, now);
    }
    let v4 = 0;
    let v6 = 0;
    for (const vip of next.keys())
      if (vip.includes(':')) v6++;
      else v4++;
    this.o.metrics.ownedAddresses.set({ family: 'IPv4' }, v4);
    this.o.metrics.ownedAddresses.set({ family: 'IPv6' }, v6);
    this.syncGroups();
    this.sendDue();
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    for (const port of this.ports.values()) this.closePort(port);
    this.ports.clear();
  }

  private openPort(u: UsableInterface): Port | undefined {
    const mac = parseMac(u.mac);
    if (!mac.ok) {
      this.o.logger.warn(
        { interface: u.name, mac: u.mac },
        'interface has no usable MAC; not announcing on it',
      );
      return undefined;
    }
    const iface: L2Interface = { name: u.name, index: u.ifindex, mac: mac.value };
    const port: Port = { iface, usable: u, arp: undefined, ndp: undefined, groups: new Set() };
    const onError = (protocol: string) => (err: Error) =>
      this.o.logger.warn({ interface: u.name, protocol, err: err.message }, 'receive error');
    try {
      if (u.arp) {
        port.arp = this.o.io.openPacket(
          { interface: u.name, ethertype: ETHERTYPE_ARP, filter: ARP_REQUESTS_ONLY },
          { onFrame: (frame, info) => this.onArp(port, frame, info.pkttype), onError: onError('arp') },
        );
      }
      if (u.ndp) {
        port.ndp = this.o.io.openIcmp6(
          { interface: u.name, types: [ICMPV6_NEIGHBOR_SOLICITATION] },
          {
            onMessage: (message, info) =>
              this.onSolicitation(port, message, {
                source: addressBytes(info.source),
                destination: addressBytes(info.destination),
                hopLimit: info.hopLimit,
                interfaceIndex: info.ifindex,
              }),
            onError: onError('ndp'),
          },
        );
      }
    } catch (err) {
      this.closePort(port);
      throw err;
    }
    this.o.logger.info({ interface: u.name, arp: !!port.arp, ndp: !!port.ndp }, 'announcing on interface');
    return port;
  }

  private closePort(port: Port): void {
    port.arp?.close();
    port.ndp?.close();
    port.arp = undefined;
    port.ndp = undefined;
  }

  private onArp(port: Port, frame: Buffer, pkttype: number): void {
    if (this.closed) return;
    const decision = respondToArp(frame, port.iface, this.lookup, PACKET_TYPES[pkttype]);
    const outcome = decision.action === 'reply' ? 'reply' : decision.reason;
    this.o.metrics.requests.inc({ protocol: 'arp', interface: port.iface.name, outcome });
    if (decision.action !== 'reply') return;
    if (this.sendFrame(port, 'arp', decision.frame))
      this.o.metrics.replies.inc({ protocol: 'arp', interface: port.iface.name });
  }

  private onSolicitation(
    port: Port,
    message: Buffer,
    metadata: Parameters<typeof respondToNeighborSolicitation>[1],
  ): void {
    if (this.closed) return;
    const decision = respondToNeighborSolicitation(message, metadata, port.iface, this.lookup);
    const outcome = decision.action === 'reply' ? 'reply' : decision.reason;
    this.o.metrics.requests.inc({ protocol: 'ndp', interface: port.iface.name, outcome });
    if (decision.action !== 'reply' || !port.ndp) return;
    const { message: na, source, destination } = decision.advertisement;
    try {
      port.ndp.send(na, ipv6ToText(destination), { source: ipv6ToText(source) });
      this.o.metrics.replies.inc({ protocol: 'ndp', interface: port.iface.name });
    } catch (err) {
      this.sendFailed(port, 'ndp', err);
    }
  }

  /** Joins the solicited-node group of every owned IPv6 address on the interfaces it is announced on. */
  private syncGroups(): void {
    for (const port of this.ports.values()) {
      if (!port.ndp) continue;
      const want = new Set<string>();
      for (const [vip, scope] of this.owned) {
        if (!vip.includes(':')) continue;
        if (scope.interfaces !== 'all' && !scope.interfaces.includes(port.iface.name)) continue;
        want.add(ipv6ToText(solicitedNodeAddress(addressBytes(vip))));
      }
      for (const group of port.groups) {
        if (want.has(group)) continue;
        port.ndp.leaveGroup(group);
        port.groups.delete(group);
      }
      for (const group of want) {
        if (port.groups.has(group)) continue;
        port.ndp.joinGroup(group);
        port.groups.add(group);
      }
    }
  }

  private sendDue(): void {
    if (this.closed) return;
    const { send } = this.schedule.due(this.o.clock.now());
    for (const item of send) {
      for (const port of this.ports.values()) {
        if (this.lookup(item.vip, port.iface.name) !== 'announce') continue;
        const packet = buildAnnouncementPacket(item, port.iface.mac);
        let sent = false;
        if (packet.socket === 'packet') {
          if (port.arp) sent = this.sendFrame(port, 'arp', packet.frame);
        } else if (port.ndp) {
          try {
            const { message, source, destination } = packet.advertisement;
            port.ndp.send(message, ipv6ToText(destination), { source: ipv6ToText(source) });
            sent = true;
          } catch (err) {
            this.sendFailed(port, 'ndp', err);
          }
        }
        if (sent) this.o.metrics.gratuitous.inc({ kind: item.kind, interface: port.iface.name });
      }
    }
    this.arm();
  }

  private arm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    const at = this.schedule.nextWakeAt();
    if (at === undefined || this.closed) return;
    this.timer = this.o.clock.setTimer(Math.max(0, at - this.o.clock.now()), () => this.sendDue());
  }

  private sendFrame(port: Port, protocol: string, frame: Buffer): boolean {
    try {
      port.arp?.send(frame);
      return true;
    } catch (err) {
      this.sendFailed(port, protocol, err);
      return false;
    }
  }

  private sendFailed(port: Port, protocol: string, err: unknown): void {
    this.o.metrics.sendErrors.inc({ protocol, interface: port.iface.name });
    this.o.logger.warn({ interface: port.iface.name, protocol, err: (err as Error).message }, 'send failed');
  }
}

function addressBytes(text: string): Buffer {
  const parsed = parseIpBytes(text);
  if (!parsed.ok) throw new AddressError(parsed.error);
  return parsed.value.bytes;
}
