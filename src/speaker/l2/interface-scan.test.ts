import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  classifyInterfaces,
  type InterfaceFacts,
  linkLocalInterfaces,
  readCarrier,
  readInterfaces,
} from './interface-scan.js';

const UP_BROADCAST = 0x1003;
const facts = (name: string, over: Partial<InterfaceFacts> = {}): InterfaceFacts => ({
  name,
  ifindex: 2,
  mac: '02:00:00:00:00:01',
  flags: UP_BROADCAST,
  type: 1,
  hasMaster: false,
  hasIpv6LinkLocal: true,
  ...over,
});

describe('interface scan', () => {
  it('skips down, NOARP, enslaved, non-Ethernet and excluded interfaces, saying why', () => {
    const scan = classifyInterfaces([
      facts('eth0'),
      facts('eth1', { flags: 0x1002 }),
      facts('eth2', { flags: UP_BROADCAST | 0x80 }),
      facts('eth3', { hasMaster: true }),
      facts('bond0', { hasIpv6LinkLocal: false }),
      facts('wg0', { type: 65534 }),
      facts('veth1234'),
      facts('lo', { type: 772 }),
    ]);
    assert.deepEqual(
      scan.usable.map((u) => [u.name, u.arp, u.ndp]),
      [
        ['bond0', true, false],
        ['eth0', true, true],
      ],
    );
    assert.deepEqual(scan.skipped, [
      { name: 'eth1', reason: 'down' },
      { name: 'eth2', reason: 'noarp' },
      { name: 'eth3', reason: 'enslaved' },
      { name: 'lo', reason: 'not-ethernet' },
      { name: 'veth1234', reason: 'excluded' },
      { name: 'wg0', reason: 'not-ethernet' },
    ]);
  });

  it('finds link-local addresses in /proc/net/if_inet6', () => {
    const text = [
      'fe8000000000000000fc00fffe000001 04 40 20 80     eth0',
      '00000000000000000000000000000001 01 80 10 80       lo',
      '20010db8000000010000000000000010 04 40 00 80     eth1',
    ].join('\n');
    assert.deepEqual([...linkLocalInterfaces(text)], ['eth0']);
  });

  it('reads the facts from a sysfs-shaped directory', async () => {
    const root = mkdtempSync(join(tmpdir(), 'portico-sysnet-'));
    try {
      const dev = (name: string, files: Record<string, string>) => {
        mkdirSync(join(root, 'net', name), { recursive: true });
        for (const [file, value] of Object.entries(files))
          writeFileSync(join(root, 'net', name, file), `${value}\n`);
      };
      dev('eth0', { ifindex: '2', address: '02:00:00:00:00:0a', flags: '0x1003', type: '1' });
      dev('eth1', { ifindex: '3', address: '02:00:00:00:00:0b', flags: '0x1003', type: '1', master: '' });
      dev('gone', { ifindex: '4' });
      writeFileSync(join(root, 'if_inet6'), 'fe8000000000000000000000000000aa 02 40 20 80 eth0\n');
      const read = await readInterfaces(join(root, 'net'), join(root, 'if_inet6'));
      assert.deepEqual(
        read.sort((a, b) => a.name.localeCompare(b.name)),
        [
          {
            name: 'eth0',
            ifindex: 2,
            mac: '02:00:00:00:00:0a',
            flags: 0x1003,
            type: 1,
            hasMaster: false,
            hasIpv6LinkLocal: true,
          },
          {
            name: 'eth1',
            ifindex: 3,
            mac: '02:00:00:00:00:0b',
            flags: 0x1003,
            type: 1,
            hasMaster: true,
            hasIpv6LinkLocal: false,
          },
        ],
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('interface carrier', () => {
  it('skips an interface that is up but has no carrier (its cable out, its switch port down)', () => {
    const base = {
      ifindex: 2,
      mac: '02:00:00:00:00:01',
      flags: 0x1003,
      type: 1,
      hasMaster: false,
      hasIpv6LinkLocal: true,
    };
    const scan = classifyInterfaces([
      { ...base, name: 'eth0', carrier: false },
      { ...base, name: 'eth1', ifindex: 3, carrier: true },
      { ...base, name: 'eth2', ifindex: 4 },
    ]);
    assert.deepEqual(scan.skipped, [{ name: 'eth0', reason: 'no-carrier' }]);
    assert.deepEqual(
      scan.usable.map((u) => u.name),
      ['eth1', 'eth2'],
    );
  });

  it('reads carrier from sysfs: 1, 0, a refused read (false) and no file (undefined)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-carrier-'));
    try {
      for (const [name, value] of [
        ['up', '1\n'],
        ['cut', '0\n'],
      ] as const) {
        mkdirSync(join(dir, name));
        writeFileSync(join(dir, name, 'carrier'), value);
      }
      mkdirSync(join(dir, 'refused', 'carrier'), { recursive: true });
      mkdirSync(join(dir, 'none'));
      assert.deepEqual(await Promise.all(['up', 'cut', 'refused', 'none'].map((n) => readCarrier(n, dir))), [
        true,
        false,
        false,
        undefined,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
