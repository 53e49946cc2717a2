import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { membershipKeys } from './secret.js';

const secret = (data: Record<string, string>) => ({
  metadata: { name: 'portico-memberlist', namespace: 'portico-system' },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});

describe('membership Secret', () => {
  it('signs with secretkey and also verifies with previouskey during a rotation', () => {
    const keys = membershipKeys(secret({ secretkey: 'n'.repeat(32), previouskey: 'o'.repeat(32) }));
    assert.deepEqual(
      keys.map((k) => Buffer.from(k).toString()),
      ['n'.repeat(32), 'o'.repeat(32)],
    );
    assert.equal(membershipKeys(secret({ secretkey: 'n'.repeat(32), previouskey: '' })).length, 1);
  });

  it('refuses a Secret without secretkey or with a short key, in one line naming the Secret', () => {
    assert.throws(() => membershipKeys(secret({})), {
      message: 'Secret portico-system/portico-memberlist has no "secretkey"',
    });
    assert.throws(() => membershipKeys(secret({ secretkey: 'n'.repeat(32), previouskey: 'short' })), {
      message: 'Secret portico-system/portico-memberlist: "previouskey" is 5 bytes; it must be at least 16',
    });
  });
});
