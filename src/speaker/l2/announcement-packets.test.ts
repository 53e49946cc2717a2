import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildAnnouncementPacket } from './announcement-packets.js';
import { buildGratuitousArpReply, buildGratuitousArpRequest } from './arp.js';
import { ICMPV6_OFFSET, LINUX_UNSOLICITED_ADVERTISEMENT, NODE_MAC } from './testdata/lab-captures.js';

const VIP4 = Buffer.from([203, 0, 113, 10]);
const VIP6 = Buffer.from('20010db8000000000000000000000010', 'hex');

describe('buildAnnouncementPacket', () => {
  it('puts gratuitous ARP on the packet socket', () => {
    assert.deepEqual(
      buildAnnouncementPacket({ vip: '203.0.113.10', address: VIP4, kind: 'garp-request' }, NODE_MAC),
      {
        socket: 'packet',
        frame: buildGratuitousArpRequest(VIP4, NODE_MAC),
      },
    );
    assert.deepEqual(
      buildAnnouncementPacket({ vip: '203.0.113.10', address: VIP4, kind: 'garp-reply' }, NODE_MAC),
      {
        socket: 'packet',
        frame: buildGratuitousArpReply(VIP4, NODE_MAC),
      },
    );
  });

  it('puts the unsolicited NA on the ICMPv6 socket, as Linux would send it', () => {
    const packet = buildAnnouncementPacket(
      { vip: '2001:db8::10', address: VIP6, kind: 'unsolicited-na' },
      NODE_MAC,
    );
    assert.equal(packet.socket, 'icmpv6');
    assert.deepEqual(packet.advertisement.message, LINUX_UNSOLICITED_ADVERTISEMENT.subarray(ICMPV6_OFFSET));
    assert.deepEqual(packet.advertisement.source, VIP6);
    assert.deepEqual(
      packet.advertisement.destination,
      Buffer.from('ff020000000000000000000000000001', 'hex'),
    );
  });
});
