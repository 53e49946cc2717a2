/**
 * The validating webhook as the API server calls it: served by the controller over TLS with the
 * certificate it made itself, the caBundle patched in by the controller, every rule refusing with
 * a message that names the field; and, with the controller down, the Ignore failure policy.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { IPAddressPoolSpec } from '../../src/api/ip-address-pool.js';
import { ApiError } from '../../src/k8s/errors.js';
import { Resources } from '../../src/k8s/resources.js';
import type { ValidatingWebhookConfiguration } from '../../src/k8s/types.js';
import { freePort } from '../cluster/ports.js';
import { useControlPlane } from '../support/fixture.js';
import { waitFor } from '../support/wait.js';
import {
  ControllerProcess,
  createPool,
  deleteAllPools,
  installManifests,
  pools,
  SYSTEM_NAMESPACE,
  WEBHOOK_CONFIGURATION,
  WEBHOOK_PATH,
} from './harness.js';

describe('controller: validating webhook', { timeout: 180_000 }, () => {
  const cp = useControlPlane({ controllerManager: false });
  let controller: ControllerProcess;
  let port: number;

  before(async () => {
    port = await freePort();
    await installManifests(cp.plane, `https://127.0.0.1:${port}${WEBHOOK_PATH}`);
    controller = await ControllerProcess.start(cp.plane, { identity: 'webhook-1', webhookPort: port });
    await controller.waitLeading();
    await waitFor('the controller to patch its CA into the webhook configuration', async () => {
      const vwc = await cp.admin
        .resource<ValidatingWebhookConfiguration>(Resources.validatingWebhookConfigurations)
        .get(WEBHOOK_CONFIGURATION);
      return vwc.webhooks?.[0]?.clientConfig?.caBundle ? true : undefined;
    });
    // The apiserver really calls us: a pool overlapping itself is refused once the caBundle is in place.
    await waitFor('the webhook to answer', async () => {
      try {
        await createPool(cp.admin, 'probe', { addresses: ['192.0.2.0/31', '192.0.2.1'] });
        await pools(cp.admin).delete('probe', SYSTEM_NAMESPACE);
        return undefined;
      } catch (err) {
        return err instanceof ApiError && /denied the request/.test(err.message);
      }
    });
  });
  after(async () => {
    await controller?.stop();
  });
  afterEach(async () => {
    await deleteAllPools(cp.admin);
  });

  const refused = async (spec: IPAddressPoolSpec, ...expected: RegExp[]) => {
    const err = await createPool(cp.admin, 'bad', spec).then(
      () => assert.fail(`the pool ${JSON.stringify(spec)} was accepted`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApiError, String(err));
    // The CRD's schema refuses what it can see without parsing (e.g. text that is no address at all);
    // the webhook everything else. Either way the message names the field.
    assert.match(
      err.message,
      /admission webhook "ipaddresspools\.portico\.dev" denied the request|is invalid/,
    );
    for (const re of expected) assert.match(err.message, re);
    return err.message;
  };

  it(
    'refuses invalid CIDRs, host bits, reversed ranges and ranges mixing families, naming the entry',
    cp.run(async () => {
      await refused({ addresses: ['203.0.113.0/33'] }, /spec\.addresses\[0\]: .*203\.0\.113\.0\/33/);
      await refused(
        { addresses: ['203.0.113.0/24', '203.0.113.5/24'] },
        /spec\.addresses\[1\]: .*host bits set; did you mean 203\.0\.113\.0\/24\?/,
      );
      await refused({ addresses: ['203.0.113.20-203.0.113.10'] }, /spec\.addresses\[0\]: .*reversed/);
      await refused(
        { addresses: ['203.0.113.1-2001:db8::1'] },
        /spec\.addresses\[0\]: .*mixes IPv4 and IPv6/,
      );
      await refused({ addresses: ['not-an-address'] }, /spec\.addresses\[0\]: .*not-an-address/);
    }),
  );

  it(
    'refuses a pool overlapping another, naming both, and one overlapping itself',
    cp.run(async () => {
      await createPool(cp.admin, 'first', { addresses: ['203.0.113.0/25', '2001:db8:0:100::/64'] });
      await refused(
        { addresses: ['198.51.100.0/24', '203.0.113.100-203.0.113.200'] },
        /spec\.addresses\[1\]: "203\.0\.113\.100-203\.0\.113\.200" overlaps pool first \(203\.0\.113\.0\/25\)/,
      );
      await refused({ addresses: ['2001:db8:0:100::8000/113'] }, /overlaps pool first/);
      await refused(
        { addresses: ['198.51.100.0/24', '198.51.100.7'] },
        /spec\.addresses\[1\]: .*overlaps spec\.addresses\[0\]/,
      );
      // Changing the first pool itself is no overlap.
      await pools(cp.admin).patch(
        'first',
        SYSTEM_NAMESPACE,
        { spec: { addresses: ['203.0.113.0/24'] } },
        { type: 'merge' },
      );
    }),
  );

  it(
    'refuses excludes outside the pool, a bad hold-down and invalid or duplicate selectors',
    cp.run(async () => {
      await refused(
        { addresses: ['203.0.113.0/28'], excludes: ['203.0.113.200'] },
        /spec\.excludes\[0\]: "203\.0\.113\.200" is not inside the pool's addresses/,
      );
      await refused(
        {
          addresses: ['203.0.113.0/28'],
          serviceAllocation: { serviceSelectors: [{ matchLabels: { 'bad key!': 'x' } }] },
        },
        /spec\.serviceAllocation\.serviceSelectors\[0\]: .*bad key!/,
      );
      await refused(
        {
          addresses: ['203.0.113.0/28'],
          serviceAllocation: {
            namespaceSelectors: [{ matchLabels: { a: 'b' } }, { matchLabels: { a: 'b' } }],
          },
        },
        /spec\.serviceAllocation\.namespaceSelectors\[1\]: duplicates an earlier selector/,
      );
      await refused({ addresses: ['203.0.113.0/28'], reuseHoldDown: '5 parsecs' }, /reuseHoldDown/);
    }),
  );

  it(
    'lists every problem of one pool in one message',
    cp.run(async () => {
      const message = await refused(
        { addresses: ['203.0.113.9/24', '198.51.100.5-198.51.100.1'], excludes: ['192.0.2.1'] },
        /spec\.addresses\[0\]/,
        /spec\.addresses\[1\]/,
        /spec\.excludes\[0\]/,
      );
      assert.equal(message.split('\n').length, 1, 'one line');
    }),
  );

  it(
    'accepts valid pools of every form',
    cp.run(async () => {
      await createPool(cp.admin, 'good', {
        addresses: ['203.0.113.0/28', '203.0.113.20 - 203.0.113.30', '198.51.100.9', '2001:db8:0:100::/64'],
        excludes: ['203.0.113.0'],
        reuseHoldDown: '10m',
        serviceAllocation: {
          priority: 1,
          namespaces: ['a'],
          serviceSelectors: [{ matchLabels: { app: 'web' } }],
        },
      });
    }),
  );

  it(
    'with the controller down, pools are still accepted (failurePolicy Ignore), and the controller marks an invalid one when it returns',
    cp.run(async () => {
      await controller.stop();
      await createPool(cp.admin, 'sneaky', { addresses: ['203.0.113.5/24'] });
      controller = await ControllerProcess.start(cp.plane, { identity: 'webhook-2', webhookPort: port });
      await controller.waitLeading();
      const ready = await waitFor('sneaky Ready=False', async () => {
        const p = await pools(cp.admin).get('sneaky', SYSTEM_NAMESPACE);
        const c = p.status?.conditions?.find((x) => x.type === 'Ready');
        return c?.status === 'False' ? c : undefined;
      });
      assert.equal(ready.reason, 'Invalid');
      assert.match(ready.message, /spec\.addresses\[0\]: .*host bits set/);
    }),
  );
});
