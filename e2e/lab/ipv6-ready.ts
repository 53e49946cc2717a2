/**
 * Waiting until IPv6 works on an interface. Addresses without DAD are usable at once, but the
 * kernel creates an interface's link-local address only when it considers the link operational,
 * and that news travels through linkwatch: a shared work item that needs the RTNL lock, so it lags
 * by up to a second or more while other namespaces are being built or torn down (bridges, whose
 * carrier changes are not "urgent", lag the most). Until then a router silently skips the neighbor
 * solicitation for a packet it forwards (it has no link-local source for it) and the packet waits
 * for the 1 s retransmit: measured here as an intermittent lost first ping after a build.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ipJson } from './exec.js';

export interface Ipv6Interfaces {
  /** Undefined for the host's own namespace. */
  netns?: string;
  ifnames: readonly string[];
}

interface AddrInfo {
  family: string;
  local: string;
  scope: string;
  tentative?: boolean;
  dadfailed?: boolean;
}

/** What is still missing on these interfaces: '' when each has a usable link-local address and nothing tentative. */
async function notReady({ netns, ifnames }: Ipv6Interfaces): Promise<string[]> {
  const where = netns ?? 'host';
  const links = await ipJson<{ ifname: string; addr_info?: AddrInfo[] }[]>(netns, '-6', 'addr', 'show');
  return ifnames.flatMap((ifname) => {
    const addrs = links.find((l) => l.ifname === ifname)?.addr_info ?? [];
    const failed = addrs.find((a) => a.dadfailed);
    if (failed) throw new Error(`${where} ${ifname}: duplicate address detection failed for ${failed.local}`);
    const problems = addrs.filter((a) => a.tentative).map((a) => `${where} ${ifname} ${a.local} tentative`);
    if (!addrs.some((a) => a.scope === 'link' && !a.tentative))
      problems.push(`${where} ${ifname} has no link-local address`);
    return problems;
  });
}

/** Resolves once IPv6 is usable on every interface given; fails after `timeoutMs` saying what is not. */
export async function waitForIpv6(targets: readonly Ipv6Interfaces[], timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const left = (await Promise.all(targets.map(notReady))).flat();
    if (left.length === 0) return;
    if (performance.now() > deadline)
      throw new Error(`IPv6 is not ready after ${timeoutMs} ms: ${left.join(', ')}`);
    await sleep(20);
  }
}
