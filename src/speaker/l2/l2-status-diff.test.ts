import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { L2_STATUS_LABELS, type ServiceL2Status } from '../../api/l2-advertisement.js';
import { type DesiredL2Status, diffL2Statuses, newL2Status } from './l2-status-diff.js';

const desired = (name: string, interfaces: string[] = []): DesiredL2Status => ({
  serviceNamespace: 'default',
  serviceName: name,
  serviceUid: `uid-${name}`,
  interfaces,
});

const existing = (
  name: string,
  service: string,
  node: string,
  interfaces: string[] = [],
): ServiceL2Status => ({
  metadata: {
    name,
    namespace: 'default',
    labels: {
      [L2_STATUS_LABELS.node]: node,
      [L2_STATUS_LABELS.serviceName]: service,
      [L2_STATUS_LABELS.serviceNamespace]: 'default',
    },
  },
  status: {
    node,
    serviceName: service,
    serviceNamespace: 'default',
    interfaces: interfaces.map((n) => ({ name: n })),
  },
});

const names = (objs: ServiceL2Status[]) => objs.map((o) => o.metadata.name);

describe('ServiceL2Status diff', () => {
  it('creates what is missing, updates changed interfaces, deletes what this node no longer announces', () => {
    const changes = diffL2Statuses({
      self: 'node-1',
      live: ['node-1', 'node-2'],
      desired: [desired('a'), desired('b', ['eth1']), desired('c')],
      existing: [
        existing('l2-b', 'b', 'node-1', ['eth0']),
        existing('l2-c', 'c', 'node-1'),
        existing('l2-d', 'd', 'node-1'),
        existing('l2-c2', 'c', 'node-1'),
        existing('l2-x', 'x', 'node-2'),
      ],
    });
    assert.deepEqual(
      changes.create.map((d) => d.serviceName),
      ['a'],
    );
    assert.deepEqual(
      changes.update.map((u) => [u.existing.metadata.name, u.interfaces]),
      [['l2-b', ['eth1']]],
    );
    assert.deepEqual(
      names(changes.delete),
      ['l2-d', 'l2-c2'],
      'a duplicate and a Service no longer announced',
    );
  });

  it("deletes a dead node's objects, from one speaker only: the first live one by name", () => {
    const input = {
      live: ['node-1', 'node-2'],
      desired: [],
      existing: [existing('l2-dead', 'a', 'node-3'), existing('l2-live', 'b', 'node-2')],
    };
    assert.deepEqual(names(diffL2Statuses({ ...input, self: 'node-1' }).delete), ['l2-dead']);
    assert.deepEqual(names(diffL2Statuses({ ...input, self: 'node-2', desired: [desired('b')] }).delete), []);
  });

  it('a new object is labelled for selection and owned by its Service', () => {
    const obj = newL2Status('node-1', desired('web'));
    assert.equal(obj.metadata.generateName, 'l2-');
    assert.deepEqual(obj.metadata.labels, {
      'portico.dev/node': 'node-1',
      'portico.dev/service-name': 'web',
      'portico.dev/service-namespace': 'default',
    });
    assert.deepEqual(obj.metadata.ownerReferences, [
      { apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'uid-web' },
    ]);
  });
  it("names the node that announced a Service before, so the new announcer's Event can say why it moved", () => {
    const changes = diffL2Statuses({
      self: 'node-2',
      live: ['node-2', 'node-3'],
      desired: [desired('moved'), desired('fresh')],
      existing: [existing('l2-m', 'moved', 'node-1')],
    });
    assert.deepEqual(
      changes.create.map((d) => [d.serviceName, d.previousNode]),
      [
        ['moved', 'node-1'],
        ['fresh', undefined],
      ],
    );
    assert.deepEqual(names(changes.delete), ['l2-m'], 'node-1 is down and node-2 is the first live node');
  });
});
