import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planLab } from '../plan.js';
import { renderGobgpConfig } from './gobgp-config.js';
import { zebraCapable } from './gobgp-daemon.js';

describe('GoBGP router config', () => {
  const dual = renderGobgpConfig(planLab());
  const v4only = renderGobgpConfig(planLab({ ipv6: false }));

  it('accepts the nodes through a passive peer group with dynamic neighbours per LAN prefix', () => {
    assert.match(dual, /\[global\.config\]\n {2}as = 64500\n {2}router-id = "192\.0\.2\.1"/);
    assert.match(dual, /peer-group-name = "nodes"\n {4}peer-as = 64512/);
    assert.match(dual, /passive-mode = true/);
    assert.match(dual, /prefix = "192\.0\.2\.0\/24"\n {4}peer-group = "nodes"/);
    assert.match(dual, /prefix = "2001:db8:0:1::\/64"\n {4}peer-group = "nodes"/);
    assert.match(dual, /hold-time = 9\n {4}keepalive-interval = 3/);
  });

  it('keeps every equal path (multipath) and exports nothing to the nodes', () => {
    assert.match(dual, /\[global\.use-multiple-paths\.config\]\n {2}enabled = true/);
    assert.match(dual, /default-export-policy = "reject-route"/);
  });

  it('has an IPv6 family only when dual-stack', () => {
    assert.match(dual, /afi-safi-name = "ipv6-unicast"/);
    assert.doesNotMatch(v4only, /ipv6|2001:db8/);
  });

  it('talks to FRR’s zebra only when asked', () => {
    assert.doesNotMatch(dual, /zebra/);
    const z = renderGobgpConfig(planLab(), { zebra: { socket: '/var/run/frr/portico-router/zserv.api' } });
    assert.match(
      z,
      /\[zebra\.config\]\n {2}enabled = true\n {2}url = "unix:\/var\/run\/frr\/portico-router\/zserv\.api"\n {2}version = 6\n {2}software-name = "frr8\.4"/,
    );
  });

  it('needs the nodes’ AS number', () => {
    assert.throws(() => renderGobgpConfig(planLab(), { remoteAs: 'external' }), /AS number/);
  });

  it('uses zebra only with a gobgpd that reads FRR 8.4’s messages', () => {
    assert.equal(zebraCapable([3, 10, 0]), false);
    assert.equal(zebraCapable([3, 36, 9]), false);
    assert.equal(zebraCapable([3, 37, 0]), true);
    assert.equal(zebraCapable([4, 0, 0]), true);
  });
});
