/**
 * Which ServiceL2Status objects to create, update and delete, pure. A speaker writes the objects of
 * the Services it announces (one per Service, labelled with its node) and deletes its own when it
 * stops. The objects of a node whose speaker is down would stay behind, so the first live speaker by
 * name deletes those: one deleter, chosen the same way by every speaker.
 */
import { L2_STATUS_LABELS, type ServiceL2Status } from '../../api/l2-advertisement.js';

export interface DesiredL2Status {
  serviceNamespace: string;
  serviceName: string;
  serviceUid: string;
  /** The interfaces it is announced on. */
  interfaces: string[];
}

export interface L2StatusChanges {
  /** With the node whose status the Service had before, if another node's is still there. */
  create: (DesiredL2Status & { previousNode?: string })[];
  update: { existing: ServiceL2Status; interfaces: string[] }[];
  delete: ServiceL2Status[];
}

const serviceKey = (namespace: string, name: string) => `${namespace}/${name}`;

export function diffL2Statuses(input: {
  self: string;
  /** Live members, this node included when live. */
  live: readonly string[];
  desired: readonly DesiredL2Status[];
  existing: readonly ServiceL2Status[];
}): L2StatusChanges {
  const want = new Map(input.desired.map((d) => [serviceKey(d.serviceNamespace, d.serviceName), d]));
  const live = new Set(input.live);
  const cleaner = [...live].sort()[0] === input.self;
  const changes: L2StatusChanges = { create: [], update: [], delete: [] };
  const seen = new Set<string>();
  const others = new Map<string, string>();
  for (const obj of input.existing) {
    const labels = obj.metadata.labels ?? {};
    const node = labels[L2_STATUS_LABELS.node];
    const key = serviceKey(
      labels[L2_STATUS_LABELS.serviceNamespace] ?? '',
      labels[L2_STATUS_LABELS.serviceName] ?? '',
    );
    if (node !== input.self) {
      if (node !== undefined) others.set(key, node);
      if (cleaner && node !== undefined && !live.has(node)) changes.delete.push(obj);
      continue;
    }
    const d = want.get(key);
    if (!d || seen.has(key)) {
      changes.delete.push(obj);
      continue;
    }
    seen.add(key);
    const current = (obj.status?.interfaces ?? []).map((i) => i.name);
    if (current.join(',') !== d.interfaces.join(','))
      changes.update.push({ existing: obj, interfaces: d.interfaces });
  }
  for (const [key, d] of want) {
    if (seen.has(key)) continue;
    const previousNode = others.get(key);
    changes.create.push(previousNode === undefined ? d : { ...d, previousNode });
  }
  return changes;
}

/** A new ServiceL2Status for a Service this node announces, owned by the Service (gone with it). */
export function newL2Status(self: string, d: DesiredL2Status): ServiceL2Status {
  return {
    metadata: {
      generateName: 'l2-',
      namespace: d.serviceNamespace,
      labels: {
        [L2_STATUS_LABELS.node]: self,
        [L2_STATUS_LABELS.serviceName]: d.serviceName,
        [L2_STATUS_LABELS.serviceNamespace]: d.serviceNamespace,
      },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: d.serviceName, uid: d.serviceUid }],
    },
  };
}
