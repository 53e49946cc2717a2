import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIP } from '../api/address.js';
import type { Service } from '../k8s/types.js';
import { type ClassPolicy, type ServiceIntent, serviceFamilies, serviceIntent } from './service-request.js';

const ours: ClassPolicy = { loadBalancerClass: 'portico.dev/lb', defaultClass: true };

function svc(spec: NonNullable<Service['spec']> = {}, annotations: Record<string, string> = {}): Service {
  return {
    metadata: { name: 's', namespace: 'ns', annotations, labels: { app: 'web' } },
    spec: {
      type: 'LoadBalancer',
      clusterIPs: ['198.19.0.10'],
      ports: [{ port: 80, protocol: 'TCP' }],
      ...spec,
    },
  };
}

function request(intent: ServiceIntent) {
  assert.equal(intent.kind, 'allocate', intent.kind === 'allocate' ? '' : intent.kind);
  return (intent as Extract<ServiceIntent, { kind: 'allocate' }>).request;
}

function invalid(intent: ServiceIntent): string {
  assert.equal(intent.kind, 'invalid', intent.kind);
  return (intent as Extract<ServiceIntent, { kind: 'invalid' }>).message;
}

describe('serviceIntent: which Services are ours', () => {
  it('takes LoadBalancers of our class, and of no class when we are the default', () => {
    assert.equal(serviceIntent(svc(), ours).kind, 'allocate');
    assert.equal(serviceIntent(svc({ loadBalancerClass: 'portico.dev/lb' }), ours).kind, 'allocate');
    assert.deepEqual(serviceIntent(svc({ loadBalancerClass: 'example.com/other' }), ours), {
      kind: 'ignore',
      why: 'OtherClass',
    });
    assert.deepEqual(serviceIntent(svc(), { ...ours, defaultClass: false }), {
      kind: 'ignore',
      why: 'OtherClass',
    });
    assert.deepEqual(serviceIntent(svc({ type: 'ClusterIP' }), ours), {
      kind: 'ignore',
      why: 'NotLoadBalancer',
    });
  });
});

describe('serviceIntent: annotations', () => {
  it('reads ours, metallb.io/ and metallb.universe.tf/, ours winning, and notes the deprecated prefix', () => {
    const both = request(
      serviceIntent(
        svc({}, { 'portico.dev/address-pool': 'mine', 'metallb.io/address-pool': 'theirs' }),
        ours,
      ),
    );
    assert.equal(both.pool, 'mine');
    assert.deepEqual(both.deprecatedAnnotations, []);
    const metallb = request(serviceIntent(svc({}, { 'metallb.io/loadBalancerIPs': '203.0.113.7' }), ours));
    assert.deepEqual(metallb.addresses?.map(formatIP), ['203.0.113.7']);
    const legacy = request(serviceIntent(svc({}, { 'metallb.universe.tf/allow-shared-ip': 'k' }), ours));
    assert.equal(legacy.sharing?.key, 'k');
    assert.deepEqual(legacy.deprecatedAnnotations, ['metallb.universe.tf/allow-shared-ip']);
  });

  it('takes spec.loadBalancerIP, and refuses it together with the annotation', () => {
    assert.deepEqual(
      request(serviceIntent(svc({ loadBalancerIP: '203.0.113.9' }), ours)).addresses?.map(formatIP),
      ['203.0.113.9'],
    );
    assert.match(
      invalid(
        serviceIntent(
          svc({ loadBalancerIP: '203.0.113.9' }, { 'portico.dev/load-balancer-ips': '203.0.113.9' }),
          ours,
        ),
      ),
      /portico\.dev\/load-balancer-ips and spec\.loadBalancerIP are both set/,
    );
  });

  it('explains malformed address lists', () => {
    const ips = (v: string, spec: NonNullable<Service['spec']> = {}) =>
      invalid(serviceIntent(svc(spec, { 'portico.dev/load-balancer-ips': v }), ours));
    assert.match(ips('banana'), /^portico\.dev\/load-balancer-ips: .*banana/);
    assert.match(ips('203.0.113.1,203.0.113.2'), /two IPv4 addresses/);
    assert.match(ips('203.0.113.1,2001:db8::1,198.51.100.1'), /lists 3 addresses/);
    assert.match(ips('2001:db8::1'), /2001:db8::1 is IPv6 but the Service's IP families are IPv4/);
    assert.match(invalid(serviceIntent(svc({}, { 'portico.dev/address-pool': ' ' }), ours)), /is empty/);
  });

  it('builds the sharing key from ports and, for Local, the selector', () => {
    const cluster = request(
      serviceIntent(
        svc(
          { ports: [{ port: 53, protocol: 'UDP' }, { port: 53 }] },
          { 'portico.dev/allow-shared-ip': 'dns' },
        ),
        ours,
      ),
    );
    assert.deepEqual([...(cluster.sharing?.ports ?? [])], ['UDP/53', 'TCP/53']);
    assert.equal(cluster.sharing?.backendKey, '');
    const local = request(
      serviceIntent(
        svc(
          { externalTrafficPolicy: 'Local', selector: { b: '2', a: '1' } },
          { 'portico.dev/allow-shared-ip': 'k' },
        ),
        ours,
      ),
    );
    assert.equal(local.sharing?.backendKey, 'a=1,b=2');
  });
});

describe('serviceIntent: families', () => {
  it('takes the primary family from spec.ipFamilies, else the ClusterIPs, else IPv4', () => {
    assert.deepEqual(serviceFamilies(svc({ ipFamilies: ['IPv6', 'IPv4'] })), ['IPv6', 'IPv4']);
    assert.deepEqual(serviceFamilies(svc({ ipFamilies: undefined, clusterIPs: ['2001:db8::a'] })), ['IPv6']);
    assert.deepEqual(serviceFamilies(svc({ clusterIPs: undefined })), ['IPv4']);
  });

  it('RequireDualStack without two ClusterIP families waits, saying why', () => {
    const r = serviceIntent(svc({ ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4'] }), ours);
    assert.equal(r.kind, 'invalid');
    assert.equal(r.kind === 'invalid' && r.reason, 'FamilyUnavailable');
  });
});
