import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ADDON_PATH, loadAddon, NativeAddonError } from './addon.js';

describe('loadAddon', () => {
  it('says in one line how to build a missing addon', () => {
    assert.throws(
      () => loadAddon(join(tmpdir(), 'portico-no-such-dir', 'portico_native.node')),
      (error: unknown) =>
        error instanceof NativeAddonError &&
        !error.message.includes('\n') &&
        /is not built .*install g\+\+, make and python3, then run npm rebuild$/.test(error.message),
    );
  });

  it('says in one line when a file cannot be loaded as an addon', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-addon-'));
    try {
      const bogus = join(dir, 'portico_native.node');
      writeFileSync(bogus, 'not an ELF file');
      assert.throws(
        () => loadAddon(bogus),
        (error: unknown) =>
          error instanceof NativeAddonError &&
          !error.message.includes('\n') &&
          error.message.includes('cannot be loaded') &&
          error.message.endsWith('rebuild it with npm rebuild'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads the built addon (built by npm install) with its whole surface', {
    skip: !existsSync(ADDON_PATH) && 'native addon not built',
  }, () => {
    const addon = loadAddon();
    assert.equal(loadAddon(), addon, 'loaded once');
    for (const name of [
      'PacketSocket',
      'Icmp6Socket',
      'UdpSocket',
      'tcpConnect',
      'tcpListen',
      'setMd5',
    ] as const) {
      assert.equal(typeof addon[name], 'function', name);
    }
    assert.throws(() => new addon.PacketSocket({ ifindex: 0, ethertype: 0x0806 }, () => {}), TypeError);
    assert.throws(() => addon.tcpListen({ address: 'not an address', port: 0 }), TypeError);
  });
});
