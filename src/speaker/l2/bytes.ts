// Byte helpers shared by the codecs.

/** A copy, so decoded values never alias a receive buffer the caller may reuse. */
export const copyBytes = (bytes: Uint8Array, start: number, end: number): Buffer =>
  Buffer.from(bytes.subarray(start, end));

/** For encoders: a wrong-length field is a programming error, not bad input from the network. */
export function requireLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) {
    throw new RangeError(`${what} must be ${length} bytes, got ${bytes.length}`);
  }
}
