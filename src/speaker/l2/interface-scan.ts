/**
 * Which interfaces of this node can announce addresses over L2, read from /sys/class/net and
 * /proc/net/if_inet6 (no netlink needed). Like MetalLB's announcer, an interface is skipped when it
 * is down, has the NOARP flag, is enslaved to a bond or bridge (announce on the master instead), is
 * not Ethernet, or matches the exclude patterns; ARP needs the BROADCAST flag and NDP an IPv6
 * link-local address. The speaker rescans every few seconds and on its own changes.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

const IFF_UP = 0x1;
const IFF_BROADCAST = 0x2;
const IFF_NOARP = 0x80;
const ARPHRD_ETHER = 1;

/** MetalLB's default exclude list (ConfigMap metallb-excludel2): container, tunnel and CNI devices. */
export const DEFAULT_EXCLUDED_INTERFACES: readonly RegExp[] = [
  /^docker/,
  /^cbr/,
  /^dummy/,
  /^virbr/,
  /^lxcbr/,
  /^veth/,
  /^lo$/,
  /^cali/,
  /^tunl/,
  /^flannel/,
  /^kube-ipvs/,
  /^cni/,
  /^nodelocaldns/,
  /^lxc/,
];

/** What the kernel says about one interface. */
export interface InterfaceFacts {
  name: string;
  ifindex: number;
  mac: string;
  flags: number;
  /** ARPHRD_* from /sys/class/net/<if>/type. */
  type: number;
  /** Enslaved to a bond, bridge or VRF. */
  hasMaster: boolean;
  hasIpv6LinkLocal: boolean;
  /** The link has carrier (/sys/class/net/<if>/carrier); undefined when the kernel does not say. */
  carrier?: boolean;
}

export type SkipReason = 'down' | 'no-carrier' | 'noarp' | 'enslaved' | 'not-ethernet' | 'excluded';

export interface UsableInterface {
  name: string;
  ifindex: number;
  mac: string;
  arp: boolean;
  ndp: boolean;
}

export interface Scan {
  usable: UsableInterface[];
  skipped: { name: string; reason: SkipReason }[];
}

/** Sorts interfaces into usable (with the protocols each can carry) and skipped, with the reason. */
export function classifyInterfaces(
  facts: readonly InterfaceFacts[],
  excluded: readonly RegExp[] = DEFAULT_EXCLUDED_INTERFACES,
): Scan {
  const usable: UsableInterface[] = [];
  const skipped: Scan['skipped'] = [];
  for (const f of [...facts].sort((a, b) => a.name.localeCompare(b.name))) {
    const reason: SkipReason | undefined =
      (f.flags & IFF_UP) === 0
        ? 'down'
        : f.carrier === false
          ? 'no-carrier'
          : (f.flags & IFF_NOARP) !== 0
            ? 'noarp'
            : f.hasMaster
              ? 'enslaved'
              : f.type !== ARPHRD_ETHER
                ? 'not-ethernet'
                : excluded.some((re) => re.test(f.name))
                  ? 'excluded'
                  : undefined;
    if (reason) {
      skipped.push({ name: f.name, reason });
      continue;
    }
    const arp = (f.flags & IFF_BROADCAST) !== 0;
    const ndp = f.hasIpv6LinkLocal;
    if (arp || ndp) usable.push({ name: f.name, ifindex: f.ifindex, mac: f.mac, arp, ndp });
  }
  return { usable, skipped };
}

/** Interface names that have an fe80::/10 address, from /proc/net/if_inet6's text. */
export function linkLocalInterfaces(ifInet6: string): Set<string> {
  const out = new Set<string>();
  for (const line of ifInet6.split('\n')) {
    const [hex, , , scope, , name] = line.trim().split(/\s+/);
    // Scope 0x20 is link; checking the prefix too guards against odd scope reporting.
    if (hex && name && scope === '20' && /^fe[89ab]/i.test(hex)) out.add(name);
  }
  return out;
}

/** Reads every interface's facts from sysfs; interfaces that vanish mid-read are left out. */
export async function readInterfaces(
  sysNet = '/sys/class/net',
  ifInet6 = '/proc/net/if_inet6',
): Promise<InterfaceFacts[]> {
  const linkLocal = linkLocalInterfaces(await readFile(ifInet6, 'utf8').catch(() => ''));
  const names = await readdir(sysNet);
  const read = async (name: string): Promise<InterfaceFacts | undefined> => {
    const dir = join(sysNet, name);
    const text = (file: string) => readFile(join(dir, file), 'utf8').then((s) => s.trim());
    try {
      const [ifindex, mac, flags, type] = await Promise.all([
        text('ifindex'),
        text('address'),
        text('flags'),
        text('type'),
      ]);
      const hasMaster = await stat(join(dir, 'master')).then(
        () => true,
        () => false,
      );
      const carrier = await readCarrier(name, sysNet);
      return {
        name,
        ifindex: Number(ifindex),
        mac,
        flags: Number.parseInt(flags, 16),
        type: Number(type),
        hasMaster,
        hasIpv6LinkLocal: linkLocal.has(name),
        ...(carrier !== undefined && { carrier }),
      };
    } catch {
      return undefined;
    }
  };
  const all = await Promise.all(names.map(read));
  return all.filter((f): f is InterfaceFacts => f !== undefined);
}

/**
 * Whether the interface has carrier: false when its cable is out or its switch port is down (the
 * kernel refuses the read while the interface is administratively down: false too); undefined
 * when the file does not exist.
 */
export async function readCarrier(name: string, sysNet = '/sys/class/net'): Promise<boolean | undefined> {
  try {
    return (await readFile(join(sysNet, name, 'carrier'), 'utf8')).trim() === '1';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : false;
  }
}
