// Network interfaces by name, from sysfs (`ip netns exec` remounts /sys for the namespace).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemError } from './errors.js';
import type { InterfaceInfo } from './types.js';

const SYSFS_NET = '/sys/class/net';

export function readInterface(name: string, sysfsNet: string = SYSFS_NET): InterfaceInfo {
  // Linux interface names: 1-15 bytes, no '/' or whitespace; '.' and '..' are not names.
  if (!/^[^/\s]{1,15}$/.test(name) || name === '.' || name === '..') {
    throw new TypeError(`${JSON.stringify(name)} is not a network interface name`);
  }
  const read = (attribute: string): string => {
    try {
      return readFileSync(join(sysfsNet, name, attribute), 'utf8').trim();
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') {
        throw systemError('ENODEV', 'if_nametoindex', `(no network interface named ${name})`);
      }
      throw error;
    }
  };
  return {
    name,
    ifindex: Number(read('ifindex')),
    mac: read('address').toLowerCase(),
    mtu: Number(read('mtu')),
  };
}

/** '33:33:ff:00:00:01' → 6 bytes. */
export function parseMac(text: string): Buffer {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(text))
    throw new TypeError(`${JSON.stringify(text)} is not a MAC address`);
  return Buffer.from(text.replaceAll(':', ''), 'hex');
}

export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}
