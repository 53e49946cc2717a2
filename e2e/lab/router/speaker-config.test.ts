import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planLab } from '../plan.js';
import { parseVips, renderSpeakerConfig } from './speaker-config.js';

describe('BIRD test speaker config', () => {
  const plan = planLab();
  const node = plan.nodes[1]!;
  const vips = ['203.0.113.10/32', '2001:db8:0:100::10/128'];
  const text = renderSpeakerConfig(plan, node, vips, { stateDir: '/tmp/s' });

  it('peers with the router over v4 and v6 from the node’s LAN addresses', () => {
    assert.match(
      text,
      /protocol bgp router_v4 \{\n {2}local 192\.0\.2\.12 as 64512;\n {2}neighbor 192\.0\.2\.1 as 64500;/,
    );
    assert.match(
      text,
      /protocol bgp router_v6 \{\n {2}local 2001:db8:0:1::12 as 64512;\n {2}neighbor 2001:db8:0:1::1 as 64500;/,
    );
    assert.match(text, /^router id 192\.0\.2\.12;$/m);
  });

  it('announces the VIPs as static blackhole host routes, each family on its own session', () => {
    assert.match(text, /protocol static static_v4 \{ ipv4; route 203\.0\.113\.10\/32 blackhole; \}/);
    assert.match(text, /protocol static static_v6 \{ ipv6; route 2001:db8:0:100::10\/128 blackhole; \}/);
    assert.match(
      text,
      /ipv4 \{ import none; export where source = RTS_STATIC; \};\n\}\n\nprotocol bgp router_v6/,
    );
    assert.match(text, /ipv6 \{ import none; export where source = RTS_STATIC; \};\n\}\n$/);
  });

  it('reconnects fast and runs BFD 100 ms × 3', () => {
    assert.match(
      text,
      /connect delay time 1;\n {2}connect retry time 2;\n {2}error wait time 1, 5;\n {2}bfd on;/,
    );
    assert.match(
      text,
      /protocol bfd \{ interface "eth0" \{ min rx interval 100 ms; min tx interval 100 ms; multiplier 3; \}; \}/,
    );
    const noBfd = renderSpeakerConfig(plan, node, vips, { stateDir: '/tmp/s', bfd: false });
    assert.doesNotMatch(noBfd, /protocol bfd/);
  });

  it('has only a v4 session in an IPv4-only lab, and refuses IPv6 VIPs there', () => {
    const v4 = planLab({ ipv6: false });
    const only = renderSpeakerConfig(v4, v4.nodes[0]!, ['203.0.113.10'], { stateDir: '/tmp/s' });
    assert.doesNotMatch(only, /router_v6|ipv6/);
    assert.throws(() => renderSpeakerConfig(v4, v4.nodes[0]!, vips, { stateDir: '/tmp/s' }), /IPv4-only/);
  });

  it('reads VIPs as host routes and rejects anything wider or malformed', () => {
    assert.deepEqual(parseVips(['203.0.113.10', '203.0.113.10/32', '2001:DB8:0:100:0:0:0:10']), {
      v4: ['203.0.113.10/32'],
      v6: ['2001:db8:0:100::10/128'],
    });
    assert.throws(() => parseVips(['203.0.113.0/24']), /host route/);
    assert.throws(() => parseVips(['203.0.113']), /not an IP address/);
  });
});
