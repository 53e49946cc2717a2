/**
 * Where the routing daemons keep their sockets: derived from the namespace alone, so the state
 * readers need nothing but the plan, and short, because a unix socket path has at most 107 bytes.
 */
import { readFileSync } from 'node:fs';

export const FRR_BIN_DIR = '/usr/lib/frr';

/** FRR's pathspace for `-N <netns>`: vty sockets, zserv.api, pid files (and our frr.conf). */
export function frrRunDir(netns: string): string {
  return `/var/run/frr/${netns}`;
}

export function zebraSocket(netns: string): string {
  return `${frrRunDir(netns)}/zserv.api`;
}

/** A directory per namespace for BIRD's control socket (router or test speaker). */
export function birdRunDir(netns: string): string {
  return `/run/portico/${netns}`;
}

export function birdSocket(netns: string): string {
  return `${birdRunDir(netns)}/bird.ctl`;
}

/** The uid and gid FRR drops to, from /etc/passwd; undefined when FRR is not installed. */
export function frrUser(passwd = '/etc/passwd'): { uid: number; gid: number } | undefined {
  let text: string;
  try {
    text = readFileSync(passwd, 'utf8');
  } catch {
    return undefined;
  }
  const fields = text
    .split('\n')
    .map((line) => line.split(':'))
    .find((f) => f[0] === 'frr');
  return fields ? { uid: Number(fields[2]), gid: Number(fields[3]) } : undefined;
}
