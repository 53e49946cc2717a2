import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  dualResponderMs,
  largestGap,
  lostSince,
  neighborAnswers,
  pingReplies,
  pingReplyTimes,
} from './failover-trace.js';

describe('failover trace', () => {
  it('reads reply times from ping -D and finds the largest gap', () => {
    const out = [
      'PING 203.0.113.10 (203.0.113.10) 56(84) bytes of data.',
      '[1795664544.900000] 64 bytes from 203.0.113.10: icmp_seq=1 ttl=64 time=0.087 ms',
      '[1795664544.910000] 64 bytes from 203.0.113.10: icmp_seq=2 ttl=64 time=0.032 ms',
      'From 192.0.2.100 icmp_seq=3 Destination Host Unreachable',
      '[1795664545.250000] 64 bytes from 203.0.113.10: icmp_seq=36 ttl=64 time=0.044 ms',
      '[1795664545.260000] 64 bytes from 203.0.113.10: icmp_seq=37 ttl=64 time=0.044 ms',
    ].join('\n');
    const times = pingReplyTimes(out);
    assert.equal(times.length, 4);
    const gap = largestGap(times);
    assert.equal(Math.round(gap.ms), 340);
    assert.equal(gap.at, 1795664544910);
    assert.deepEqual(largestGap([]), { ms: 0, at: undefined });
  });

  it('reads ARP replies and neighbor advertisements with the answering MAC', () => {
    const out = [
      '1795664544.900000 02:00:00:00:00:0b > 02:00:00:00:00:64, ethertype ARP (0x0806), length 42: Reply 203.0.113.10 is-at 02:00:00:00:00:0b, length 28',
      '1795664544.950000 02:00:00:00:00:64 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 203.0.113.10 tell 192.0.2.100, length 28',
      '1795664545.000000 02:00:00:00:00:0c > 33:33:00:00:00:01, ethertype IPv6 (0x86dd), length 86: 2001:db8::10 > ff02::1: ICMP6, neighbor advertisement, tgt is 2001:db8::10, length 32',
    ].join('\n');
    assert.deepEqual(neighborAnswers(out), [
      { at: 1795664544900, address: '203.0.113.10', mac: '02:00:00:00:00:0b' },
      { at: 1795664545000, address: '2001:db8::10', mac: '02:00:00:00:00:0c' },
    ]);
  });

  it('measures how long two MACs both answered for one address', () => {
    const a = (at: number, mac: string) => ({ at, address: '203.0.113.10', mac });
    // Clean move: A answers until 1000, B from 1020.
    assert.equal(
      dualResponderMs([a(0, 'A'), a(500, 'A'), a(1000, 'A'), a(1020, 'B'), a(2000, 'B')], '203.0.113.10'),
      0,
    );
    // Overlap: B starts at 800 while A keeps answering until 1300.
    assert.equal(
      dualResponderMs([a(0, 'A'), a(800, 'B'), a(1000, 'A'), a(1300, 'A'), a(1500, 'B')], '203.0.113.10'),
      500,
    );
    // A comes back much later (non-revertive return that wrongly answers): its new burst overlaps B's.
    assert.equal(
      dualResponderMs(
        [a(0, 'A'), a(100, 'B'), a(1000, 'B'), a(9000, 'A'), a(9000, 'B'), a(9400, 'B')],
        '203.0.113.10',
      ),
      0,
    );
    assert.equal(
      dualResponderMs([a(9000, 'A'), a(9300, 'A'), a(9100, 'B'), a(9400, 'B')], '203.0.113.10'),
      200,
    );
    // Other addresses do not count.
    assert.equal(
      dualResponderMs([a(0, 'A'), { at: 10, address: '203.0.113.11', mac: 'B' }], '203.0.113.10'),
      0,
    );
  });
  it('counts lost pings by missing sequence numbers, not by time', () => {
    const out = [
      '[1795664544.000000] 64 bytes from 203.0.113.10: icmp_seq=1 ttl=64 time=0.05 ms',
      '[1795664544.013000] 64 bytes from 203.0.113.10: icmp_seq=2 ttl=64 time=0.05 ms',
      '[1795664544.045000] 64 bytes from 203.0.113.10: icmp_seq=5 ttl=64 time=0.05 ms',
      '[1795664544.058000] 64 bytes from 203.0.113.10: icmp_seq=6 ttl=64 time=0.05 ms',
    ].join('\n');
    const replies = pingReplies(out);
    assert.deepEqual(
      replies.map((r) => r.seq),
      [1, 2, 5, 6],
    );
    assert.equal(lostSince(replies, 1795664544000), 2);
    assert.equal(lostSince(replies, 1795664544040), 0);
    assert.equal(lostSince([], 0), 0);
  });
});
