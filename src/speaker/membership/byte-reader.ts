/** Bounds-checked big-endian reads over a datagram; every failure is a one-line DecodeError. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

export class ByteReader {
  constructor(
    private readonly buf: Buffer,
    private pos: number,
    private readonly end: number,
  ) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  u8(field: string): number {
    return this.take(1, field).readUInt8(0);
  }

  u16(field: string): number {
    return this.take(2, field).readUInt16BE(0);
  }

  u32(field: string): number {
    return this.take(4, field).readUInt32BE(0);
  }

  u48(field: string): number {
    return this.take(6, field).readUIntBE(0, 6);
  }

  bytes(length: number, field: string): Buffer {
    return this.take(length, field);
  }

  private take(length: number, field: string): Buffer {
    if (length > this.remaining) {
      throw new DecodeError(`truncated: ${field} needs ${length} bytes, ${this.remaining} left`);
    }
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
}
