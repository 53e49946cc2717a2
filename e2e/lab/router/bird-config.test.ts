import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planLab } from '../plan.js';
import { renderBirdRouterConfig } from './bird-config.js';

describe('BIRD router config', () => {
  const dual = renderBirdRouterConfig(planLab(), { stateDir: '/run/portico/lab/router' });
  const v4only = renderBirdRouterConfig(planLab({ ipv6: false }), { stateDir: '/tmp/s' });

  it('accepts every node of each LAN prefix with a dynamic, passive BGP protocol', () => {
    assert.match(
      dual,
      /protocol bgp nodes_v4 from nodes \{ local 192\.0\.2\.1 as 64500; neighbor range 192\.0\.2\.0\/24 as 64512; dynamic name "node_v4_"; \}/,
    );
    assert.match(dual, /local 2001:db8:0:1::1 as 64500; neighbor range 2001:db8:0:1::\/64 as 64512;/);
    assert.match(dual, /passive on;/);
    assert.match(dual, /hold time 9; keepalive time 3;/);
  });

  it('merges equal paths into one ECMP kernel route per family', () => {
    assert.match(
      dual,
      /protocol kernel kernel4 \{ ipv4 \{ import none; export all; \}; merge paths on limit 8; \}/,
    );
    assert.match(
      dual,
      /protocol kernel kernel6 \{ ipv6 \{ import none; export all; \}; merge paths on limit 8; \}/,
    );
  });

  it('runs BFD 100 ms × 3 on the LAN interface and on the sessions', () => {
    assert.match(
      dual,
      /protocol bfd \{ interface "eth0" \{ min rx interval 100 ms; min tx interval 100 ms; multiplier 3; \}; \}/,
    );
    assert.match(dual, / {2}bfd on;/);
  });

  it('lets a restored node back in within seconds, not BIRD’s default minute', () => {
    assert.match(dual, /error wait time 1, 5;/);
  });

  it('logs into the state dir and imports from the nodes without exporting to them', () => {
    assert.match(dual, /^log "\/run\/portico\/lab\/router\/bird\.log" all;$/m);
    assert.match(dual, /ipv4 \{ import all; export none; \};/);
  });

  it('has nothing IPv6 in an IPv4-only lab', () => {
    assert.doesNotMatch(v4only, /ipv6|2001:db8|nodes_v6/);
  });

  it('takes "external", other timers and no BFD', () => {
    const text = renderBirdRouterConfig(planLab(), {
      stateDir: '/tmp/s',
      remoteAs: 'external',
      holdTime: 6,
      keepalive: 2,
      bfd: false,
    });
    assert.match(text, /neighbor range 192\.0\.2\.0\/24 external;/);
    assert.match(text, /hold time 6; keepalive time 2;/);
    assert.match(text, /bfd off;/);
    assert.doesNotMatch(text, /protocol bfd/);
  });
});
