import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planLab } from '../plan.js';
import { renderFrrConfig, renderZebraOnlyConfig } from './frr-config.js';
import { RouterConfigError } from './router-options.js';

const lines = (text: string) => text.split('\n');

describe('FRR router config', () => {
  const dual = renderFrrConfig(planLab());
  const v4only = renderFrrConfig(planLab({ ipv6: false }));

  it('listens passively on the LAN prefixes for the nodes, as a peer group', () => {
    for (const line of [
      'router bgp 64500',
      ' bgp router-id 192.0.2.1',
      ' neighbor NODES remote-as 64512',
      ' neighbor NODES passive',
      ' bgp listen range 192.0.2.0/24 peer-group NODES',
      ' bgp listen range 2001:db8:0:1::/64 peer-group NODES',
      ' no bgp ebgp-requires-policy',
    ]) {
      assert.ok(lines(dual).includes(line), `missing "${line}"`);
    }
  });

  it('uses hold 9 / keepalive 3 and BFD 100 ms × 3 by default', () => {
    assert.ok(lines(dual).includes(' neighbor NODES timers 3 9'));
    assert.match(
      dual,
      /profile portico\n {2}receive-interval 100\n {2}transmit-interval 100\n {2}detect-multiplier 3/,
    );
    assert.ok(lines(dual).includes(' neighbor NODES bfd profile portico'));
  });

  it('turns on ECMP across different node ASes in both families', () => {
    assert.ok(lines(dual).includes(' bgp bestpath as-path multipath-relax'));
    assert.equal(lines(dual).filter((l) => l === '  maximum-paths 8').length, 2);
    assert.match(dual, / address-family ipv6 unicast\n {2}neighbor NODES activate/);
  });

  it('installs IPv6 routes via the global next hop and exports nothing to the nodes', () => {
    assert.match(dual, /route-map NODES-V6-IN permit 10\n set ipv6 next-hop prefer-global/);
    assert.ok(lines(dual).includes('  neighbor NODES route-map NODES-V6-IN in'));
    assert.equal(lines(dual).filter((l) => l === '  neighbor NODES route-map NODES-OUT out').length, 2);
    assert.match(dual, /route-map NODES-OUT deny 10/);
  });

  it('has nothing IPv6 in an IPv4-only lab', () => {
    assert.doesNotMatch(v4only, /ipv6|2001:db8/);
    assert.ok(lines(v4only).includes(' bgp listen range 192.0.2.0/24 peer-group NODES'));
    assert.ok(lines(v4only).includes('  maximum-paths 8'));
  });

  it('takes other timers, ECMP width, remote AS and no BFD', () => {
    const text = renderFrrConfig(planLab(), {
      holdTime: 30,
      keepalive: 10,
      bfd: false,
      remoteAs: 'external',
      maxPaths: 4,
    });
    assert.ok(lines(text).includes(' neighbor NODES timers 10 30'));
    assert.ok(lines(text).includes(' neighbor NODES remote-as external'));
    assert.ok(lines(text).includes('  maximum-paths 4'));
    assert.doesNotMatch(text, /bfd/);
  });

  it('rejects settings no router accepts, with a clear message', () => {
    assert.throws(() => renderFrrConfig(planLab(), { holdTime: 2 }), RouterConfigError);
    assert.throws(() => renderFrrConfig(planLab(), { keepalive: 9 }), /below the hold time/);
    assert.throws(() => renderFrrConfig(planLab(), { remoteAs: 64500 }), /eBGP/);
    assert.throws(
      () => renderFrrConfig(planLab(), { bfd: { intervalMs: 5, multiplier: 3 } }),
      /BFD interval/,
    );
  });

  it('logs to stdout, which the lifecycle sends to the state dir', () => {
    assert.ok(lines(dual).includes('log stdout informational'));
    assert.equal(
      renderZebraOnlyConfig(planLab()),
      'frr defaults traditional\nhostname portico-router\nlog stdout informational\n!\n',
    );
  });
});
