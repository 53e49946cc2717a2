/**
 * Keeps the ServiceL2Status objects in line with what this node announces: applies diffL2Statuses
 * against the objects the API server has (listed by label, cluster-wide). A status is created in two
 * steps, the object and then its status subresource, as the CRD has one.
 */
import { type ServiceL2Status, ServiceL2StatusResource } from '../../api/l2-advertisement.js';
import type { KubeClient } from '../../k8s/client.js';
import { isNotFound } from '../../k8s/errors.js';
import type { Logger } from '../../util/logger.js';
import { type DesiredL2Status, diffL2Statuses, type L2StatusChanges, newL2Status } from './l2-status-diff.js';

export class L2StatusWriter {
  constructor(
    private readonly client: KubeClient,
    private readonly self: string,
    private readonly logger: Logger,
  ) {}

  /**
   * One pass: lists the objects and creates, updates and deletes what differs. Returns the statuses
   * created, each with the node that announced the Service before, if any.
   */
  async sync(
    desired: readonly DesiredL2Status[],
    live: readonly string[],
  ): Promise<L2StatusChanges['create']> {
    const statuses = this.client.resource<ServiceL2Status>(ServiceL2StatusResource);
    const existing = (await statuses.list({})).items;
    const changes = diffL2Statuses({ self: this.self, live, desired, existing });
    for (const d of changes.create) {
      const created = await statuses.create(newL2Status(this.self, d));
      await statuses.update(
        {
          ...created,
          status: {
            node: this.self,
            serviceName: d.serviceName,
            serviceNamespace: d.serviceNamespace,
            interfaces: d.interfaces.map((name) => ({ name })),
          },
        },
        { subresource: 'status' },
      );
      this.logger.info(
        { service: `${d.serviceNamespace}/${d.serviceName}`, name: created.metadata.name },
        'wrote ServiceL2Status',
      );
    }
    for (const { existing: obj, interfaces } of changes.update) {
      await statuses.update(
        { ...obj, status: { ...obj.status!, interfaces: interfaces.map((name) => ({ name })) } },
        { subresource: 'status' },
      );
    }
    for (const obj of changes.delete) {
      try {
        await statuses.delete(obj.metadata.name!, obj.metadata.namespace);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return changes.create;
  }
}
