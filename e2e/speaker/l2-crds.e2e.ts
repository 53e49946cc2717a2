/**
 * The L2 CRDs as a user meets them through the API server: an L2Advertisement in MetalLB's shape is
 * accepted, a bad interface name or selector is refused by the schema with its field named, and a
 * ServiceL2Status cannot be moved to another node or Service in place.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  type L2Advertisement,
  L2AdvertisementResource,
  type ServiceL2Status,
  ServiceL2StatusResource,
} from '../../src/api/l2-advertisement.js';
import { ApiError } from '../../src/k8s/errors.js';
import { installManifests, SYSTEM_NAMESPACE } from '../controller/harness.js';
import { useControlPlane } from '../support/fixture.js';
import { waitFor } from '../support/wait.js';

describe('L2Advertisement and ServiceL2Status CRDs', { timeout: 120_000 }, () => {
  const cp = useControlPlane({ controllerManager: false });
  const ads = () => cp.admin.resource<L2Advertisement>(L2AdvertisementResource);
  const statuses = () => cp.admin.resource<ServiceL2Status>(ServiceL2StatusResource);

  before(async () => {
    await installManifests(cp.plane);
    // Established is not served yet: the API server's cache for a new CRD starts a moment later.
    await waitFor('the L2 kinds to be served', async () => {
      try {
        await ads().list({});
        await statuses().list({});
        return true;
      } catch {
        return undefined;
      }
    });
  });

  const refusal = async (body: () => Promise<unknown>): Promise<string> => {
    try {
      await body();
    } catch (err) {
      assert.ok(err instanceof ApiError, String(err));
      return err.message;
    }
    assert.fail('the API server accepted it');
  };

  it(
    "accepts MetalLB's L2Advertisement fields, and refuses bad interface names and selectors naming the field",
    cp.run(async () => {
      const created = await ads().create({
        metadata: { name: 'lan', namespace: SYSTEM_NAMESPACE },
        spec: {
          ipAddressPools: ['lan'],
          ipAddressPoolSelectors: [{ matchLabels: { announce: 'l2' } }],
          nodeSelectors: [{ matchExpressions: [{ key: 'rack', operator: 'In', values: ['a', 'b'] }] }],
          interfaces: ['eth0', 'bond0.100'],
          serviceSelectors: [{ matchLabels: { app: 'web' } }],
        },
      });
      assert.deepEqual(created.spec?.interfaces, ['eth0', 'bond0.100']);
      const badInterface = await refusal(() =>
        ads().create({
          metadata: { name: 'bad-if', namespace: SYSTEM_NAMESPACE },
          spec: { interfaces: ['eth0/1'] },
        }),
      );
      assert.match(badInterface, /spec\.interfaces\[0\]/);
      const badSelector = await refusal(() =>
        ads().create({
          metadata: { name: 'bad-selector', namespace: SYSTEM_NAMESPACE },
          spec: { nodeSelectors: [{ matchExpressions: [{ key: 'rack', operator: 'In' }] }] },
        }),
      );
      assert.match(badSelector, /spec\.nodeSelectors\[0\]\.matchExpressions\[0\]\.values/);
      assert.match(badSelector, /must list at least one value/);
    }),
  );

  it(
    'a ServiceL2Status keeps its node and Service: a new announcing node writes its own',
    cp.run(async () => {
      const created = await statuses().create({
        metadata: { generateName: 'l2-', namespace: 'default' },
      });
      const withStatus = await statuses().update(
        {
          ...created,
          status: { node: 'node-1', serviceName: 'web', serviceNamespace: 'default', interfaces: [] },
        },
        { subresource: 'status' },
      );
      assert.equal(withStatus.status?.node, 'node-1');
      const moved = await refusal(() =>
        statuses().update(
          { ...withStatus, status: { ...withStatus.status!, node: 'node-2' } },
          { subresource: 'status' },
        ),
      );
      assert.match(moved, /node cannot change/);
    }),
  );
});
