// Frames captured with `tcpdump -w` on a veth pair between two throw-away network namespaces
// (Linux 6.18): the node end has 02:00:00:00:00:02 with 203.0.113.10/24 and 2001:db8::10/64, the
// client end 02:00:00:00:00:01 with 192.0.2.100/24 and 2001:db8::1/64. Whole Ethernet frames,
// without FCS, exactly as captured; tcpdump verified the ICMPv6 checksums ("sum ok").

const frame = (hex: string): Buffer => Buffer.from(hex.replaceAll(/\s+/g, ''), 'hex');

/** `arping -I veth0 203.0.113.10` (Debian arping 2.23, which pads its frames to 58 bytes). */
export const ARPING_REQUEST = frame(`
  ffffffffffff 020000000001 0806
  0001 0800 06 04 0001 020000000001 c0000264 000000000000 cb00710a
  00000000000000000000000000000000`);

/** The Linux kernel's answer to ARPING_REQUEST (42 bytes: veth does not pad). */
export const LINUX_ARP_REPLY = frame(`
  020000000001 020000000002 0806
  0001 0800 06 04 0002 020000000002 cb00710a 020000000001 c0000264`);

/** `arping -U`: its gratuitous request puts ff:ff:ff:ff:ff:ff in THA, where RFC 5227 has zeros. */
export const ARPING_GRATUITOUS_REQUEST = frame(`
  ffffffffffff 020000000002 0806
  0001 0800 06 04 0001 020000000002 cb00710a ffffffffffff cb00710a
  00000000000000000000000000000000`);

/** `arping -U -P`: the reply form MetalLB sends too; Linux does not treat it as gratuitous (THA != SHA). */
export const ARPING_GRATUITOUS_REPLY = frame(`
  ffffffffffff 020000000002 0806
  0001 0800 06 04 0002 020000000002 cb00710a ffffffffffff cb00710a
  00000000000000000000000000000000`);

/** The kernel resolving 2001:db8::10 for `ping -6`: NS from 2001:db8::1 to ff02::1:ff00:10. */
export const LINUX_NEIGHBOR_SOLICITATION = frame(`
  3333ff000010 020000000001 86dd
  60000000 0020 3a ff 20010db8000000000000000000000001 ff0200000000000000000001ff000010
  87 00 1c0b 00000000 20010db8000000000000000000000010
  01 01 020000000001`);

/** The kernel's answer: solicited NA from 2001:db8::10 with S=1, O=1 and the Target LL option. */
export const LINUX_NEIGHBOR_ADVERTISEMENT = frame(`
  020000000001 020000000002 86dd
  60000000 0020 3a ff 20010db8000000000000000000000010 20010db8000000000000000000000001
  88 00 8a55 60000000 20010db8000000000000000000000010
  02 01 020000000002`);

/** DAD for 2001:db8::10: from ::, no Source LL option, an RFC 7527 nonce option (type 14). */
export const LINUX_DAD_SOLICITATION = frame(`
  3333ff000010 020000000002 86dd
  60000000 0020 3a ff 00000000000000000000000000000000 ff0200000000000000000001ff000010
  87 00 16c0 00000000 20010db8000000000000000000000010
  0e 01 a29d34675101`);

/** The unsolicited NA Linux sends once DAD is done (ndisc_notify=1): to ff02::1, S=0, O=1. */
export const LINUX_UNSOLICITED_ADVERTISEMENT = frame(`
  333300000001 020000000002 86dd
  60000000 0020 3a ff 20010db8000000000000000000000010 ff020000000000000000000000000001
  88 00 f90b 20000000 20010db8000000000000000000000010
  02 01 020000000002`);

/** Offset of the ICMPv6 message in the IPv6 frames above (Ethernet 14 + IPv6 40). */
export const ICMPV6_OFFSET = 54;

export const NODE_MAC = Buffer.from('020000000002', 'hex');
export const CLIENT_MAC = Buffer.from('020000000001', 'hex');
