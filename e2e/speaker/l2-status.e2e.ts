/**
 * ServiceL2Status objects as the speaker writes them, on a real API server: created for the Services
 * a node announces (status with node and interfaces, labels to select by), updated when the
 * interfaces change, deleted when the node stops announcing, and a dead node's objects removed by
 * the first live speaker.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type ServiceL2Status, ServiceL2StatusResource } from '../../src/api/l2-advertisement.js';
import { L2StatusWriter } from '../../src/speaker/l2/l2-status-writer.js';
import { silentLogger } from '../../src/util/logger.js';
import { createService, installManifests } from '../controller/harness.js';
import { useControlPlane } from '../support/fixture.js';
import { waitFor } from '../support/wait.js';

describe('speaker: ServiceL2Status objects', { timeout: 120_000 }, () => {
  const cp = useControlPlane({ controllerManager: false });
  const list = async (labelSelector?: string) =>
    (
      await cp.admin
        .resource<ServiceL2Status>(ServiceL2StatusResource)
        .list({ namespace: 'default', labelSelector })
    ).items;

  before(async () => {
    await installManifests(cp.plane);
    // Established is not served yet: the API server's cache for a new CRD starts a moment later.
    await waitFor('ServiceL2Statuses to be served', async () => {
      try {
        await list();
        return true;
      } catch {
        return undefined;
      }
    });
  });

  it(
    'writes, updates and deletes the objects of the Services a node announces',
    cp.run(async () => {
      const web = await createService(cp.admin, 'default', 'web');
      const db = await createService(cp.admin, 'default', 'db');
      const desired = (svc: typeof web, interfaces: string[] = []) => ({
        serviceNamespace: 'default',
        serviceName: svc.metadata.name!,
        serviceUid: svc.metadata.uid!,
        interfaces,
      });
      const node1 = new L2StatusWriter(cp.admin, 'node-1', silentLogger);
      const node2 = new L2StatusWriter(cp.admin, 'node-2', silentLogger);
      await node1.sync([desired(web), desired(db, ['eth1'])], ['node-1', 'node-2']);
      await node1.sync([desired(web), desired(db, ['eth1'])], ['node-1', 'node-2']);
      const written = await list('portico.dev/node=node-1');
      assert.deepEqual(
        written.map((o) => [o.status?.serviceName, o.status?.node, o.status?.interfaces]).sort(),
        [
          ['db', 'node-1', [{ name: 'eth1' }]],
          ['web', 'node-1', []],
        ],
        'one object per Service, written once',
      );
      assert.ok(written.every((o) => o.metadata.name?.startsWith('l2-')));
      assert.deepEqual(written[0]?.metadata.ownerReferences?.[0]?.kind, 'Service');

      await node1.sync([desired(db, ['eth1', 'eth2'])], ['node-1', 'node-2']);
      const after = await list('portico.dev/node=node-1');
      assert.deepEqual(
        after.map((o) => [o.status?.serviceName, o.status?.interfaces]),
        [['db', [{ name: 'eth1' }, { name: 'eth2' }]]],
      );

      // node-1 dies: node-2 (the first live speaker) takes web over and removes node-1's object.
      await node2.sync([desired(web)], ['node-2']);
      assert.deepEqual(await list('portico.dev/node=node-1'), []);
      assert.deepEqual(
        (await list('portico.dev/service-name=web')).map((o) => o.status?.node),
        ['node-2'],
      );
    }),
  );
});
