import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatMac, parseMac, readInterface } from './interfaces.js';

describe('readInterface', () => {
  const sysfs = mkdtempSync(join(tmpdir(), 'portico-sysfs-'));
  after(() => rmSync(sysfs, { recursive: true, force: true }));
  mkdirSync(join(sysfs, 'eth0'));
  writeFileSync(join(sysfs, 'eth0', 'ifindex'), '7\n');
  writeFileSync(join(sysfs, 'eth0', 'address'), '02:AB:00:00:00:01\n');
  writeFileSync(join(sysfs, 'eth0', 'mtu'), '9000\n');

  it('reads the index, MAC and MTU', () => {
    assert.deepEqual(readInterface('eth0', sysfs), {
      name: 'eth0',
      ifindex: 7,
      mac: '02:ab:00:00:00:01',
      mtu: 9000,
    });
  });

  it('reports an unknown interface as ENODEV, and refuses names that are not interface names', () => {
    assert.throws(() => readInterface('eth9', sysfs), {
      code: 'ENODEV',
      message: /no network interface named eth9/,
    });
    for (const name of ['', '..', 'a/b', 'x'.repeat(16), 'with space']) {
      assert.throws(() => readInterface(name, sysfs), TypeError, name);
    }
  });

  it('finds the loopback interface of this machine', () => {
    assert.equal(readInterface('lo').ifindex, 1);
  });
});

describe('MAC addresses', () => {
  it('parse and format', () => {
    assert.deepEqual(parseMac('33:33:FF:00:00:01'), Buffer.from([0x33, 0x33, 0xff, 0, 0, 1]));
    assert.equal(formatMac(Buffer.from([0x33, 0x33, 0xff, 0, 0, 1, 9])), '33:33:ff:00:00:01');
    assert.throws(() => parseMac('33:33:ff:00:00'), TypeError);
  });
});
