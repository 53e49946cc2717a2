// fast-check arbitraries shared by the L2 tests.
import fc from 'fast-check';

export const bytesOf = (length: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ minLength: length, maxLength: length }).map((bytes) => Buffer.from(bytes));

export const anyBytes = (maxLength = 128): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ maxLength }).map((bytes) => Buffer.from(bytes));

export const macArb = bytesOf(6);

/** A MAC a station can own: I/G bit clear, not all zeros. */
export const unicastMacArb = macArb
  .map((mac) => {
    mac[0] = (mac[0] ?? 0) & 0xfe;
    return mac;
  })
  .filter((mac) => mac.some((byte) => byte !== 0));

export const ipv4Arb = bytesOf(4);

export const ipv6Arb = bytesOf(16);

/** Not multicast (ff00::/8), not unspecified. */
export const unicastIpv6Arb = ipv6Arb.filter((ip) => ip[0] !== 0xff && ip.some((byte) => byte !== 0));

/**
 * `valid` damaged the ways a network damages packets: cut short, bytes overwritten, bytes inserted
 * or removed, garbage appended.
 */
export function mutated(valid: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc.tuple(valid, fc.nat()).map(([bytes, cut]) => bytes.subarray(0, cut % (bytes.length + 1))),
    fc
      .tuple(
        valid,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      )
      .map(([bytes, edits]) => {
        const out = Buffer.from(bytes);
        for (const [at, value] of edits) if (out.length > 0) out[at % out.length] = value;
        return out;
      }),
    fc.tuple(valid, fc.nat(), anyBytes(16)).map(([bytes, at, extra]) => {
      const split = at % (bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, split), extra, bytes.subarray(split)]);
    }),
    fc.tuple(valid, fc.nat(), fc.integer({ min: 1, max: 16 })).map(([bytes, at, count]) => {
      const split = at % (bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, split), bytes.subarray(split + count)]);
    }),
    fc.tuple(valid, anyBytes(64)).map(([bytes, extra]) => Buffer.concat([bytes, extra])),
  );
}
