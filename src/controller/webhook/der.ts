/**
 * The small part of ASN.1 DER (X.690) that X.509 certificates need: encoders for the universal
 * types and context tags, and a reader that splits an encoding back into tag-length-value parts.
 */

export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** The length octets: short form below 128, else 0x80|n followed by n big-endian bytes. */
export function encodeLength(length: number): Buffer {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`invalid DER length ${length}`);
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One tag-length-value with a single-byte tag. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(Tag.sequence, Buffer.concat(items));

/** A SET OF: DER sorts the encoded elements (X.690 11.6). */
export const set = (...items: Uint8Array[]): Buffer =>
  tlv(Tag.set, Buffer.concat([...items].sort((a, b) => Buffer.compare(a, b))));

export const nullValue = (): Buffer => Buffer.from([Tag.null, 0]);

export const boolean = (value: boolean): Buffer => tlv(Tag.boolean, Buffer.from([value ? 0xff : 0x00]));

/**
 * A non-negative INTEGER, from a bigint or an unsigned big-endian magnitude: minimal (no leading
 * zero bytes), with one 0x00 prepended when the high bit is set so it does not read as negative.
 */
export function integer(value: bigint | number | Uint8Array): Buffer {
  let magnitude: Buffer;
  if (typeof value === 'bigint' || typeof value === 'number') {
    let n = BigInt(value);
    if (n < 0n) throw new RangeError('only non-negative INTEGERs are supported');
    const bytes: number[] = [];
    for (; n > 0n; n >>= 8n) bytes.unshift(Number(n & 0xffn));
    magnitude = Buffer.from(bytes);
  } else {
    magnitude = Buffer.from(value);
  }
  let start = 0;
  while (start < magnitude.length && magnitude[start] === 0) start++;
  const minimal = magnitude.subarray(start);
  if (minimal.length === 0) return tlv(Tag.integer, Buffer.from([0]));
  const content = (minimal[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal;
  return tlv(Tag.integer, content);
}

/** OBJECT IDENTIFIER from dotted form: the first two arcs as 40·a+b, then base-128 arcs. */
export function oid(dotted: string): Buffer {
  if (!/^[0-2](\.(0|[1-9]\d*))+$/.test(dotted)) throw new Error(`invalid OID "${dotted}"`);
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  const [first, second, ...rest] = arcs as [bigint, bigint, ...bigint[]];
  if (first < 2n && second > 39n) throw new Error(`invalid OID "${dotted}": second arc above 39`);
  const bytes: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const groups = [Number(arc & 0x7fn)];
    for (let n = arc >> 7n; n > 0n; n >>= 7n) groups.unshift(Number(n & 0x7fn) | 0x80);
    bytes.push(...groups);
  }
  return tlv(Tag.oid, Buffer.from(bytes));
}

export const utf8String = (text: string): Buffer => tlv(Tag.utf8String, Buffer.from(text, 'utf8'));

export function printableString(text: string): Buffer {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)) throw new Error(`"${text}" is not a PrintableString`);
  return tlv(Tag.printableString, Buffer.from(text, 'ascii'));
}

export function ia5String(text: string): Buffer {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: IA5 is exactly 7-bit ASCII
  if (!/^[\x00-\x7f]*$/.test(text)) throw new Error(`"${text}" is not an IA5String (ASCII only)`);
  return tlv(Tag.ia5String, Buffer.from(text, 'ascii'));
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** YYMMDDHHMMSSZ, for years 1950–2049 only. */
export function utcTime(date: Date): Buffer {
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 2049) throw new RangeError(`UTCTime cannot hold the year ${year}`);
  return tlv(Tag.utcTime, Buffer.from(`${pad(year % 100)}${timeOfYear(date)}Z`, 'ascii'));
}

/** YYYYMMDDHHMMSSZ, without fractional seconds (as RFC 5280 requires). */
export function generalizedTime(date: Date): Buffer {
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError(`GeneralizedTime cannot hold the year ${year}`);
  return tlv(Tag.generalizedTime, Buffer.from(`${pad(year, 4)}${timeOfYear(date)}Z`, 'ascii'));
}

/** A certificate validity time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
export function x509Time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  return year >= 1950 && year <= 2049 ? utcTime(date) : generalizedTime(date);
}

function timeOfYear(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('invalid date');
  return [
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
  ]
    .map((n) => pad(n))
    .join('');
}

export const bitString = (bytes: Uint8Array, unusedBits = 0): Buffer => {
  if (unusedBits < 0 || unusedBits > 7 || (unusedBits > 0 && bytes.length === 0)) {
    throw new RangeError(`invalid BIT STRING padding ${unusedBits}`);
  }
  return tlv(Tag.bitString, Buffer.concat([Buffer.from([unusedBits]), bytes]));
};

/**
 * A BIT STRING of named bits (bit 0 is the most significant bit of the first byte), with trailing
 * zero bits dropped as DER requires for named bit lists (X.690 11.2.2).
 */
export function namedBits(bits: readonly number[]): Buffer {
  if (bits.length === 0) return bitString(Buffer.alloc(0));
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  return bitString(bytes, 7 - (highest & 7));
}

export const octetString = (bytes: Uint8Array): Buffer => tlv(Tag.octetString, bytes);

/** [n] EXPLICIT: a constructed context tag wrapping a whole encoding. */
export const explicit = (n: number, inner: Uint8Array): Buffer => tlv(0xa0 | contextNumber(n), inner);

/** [n] IMPLICIT of a primitive type: the context tag replaces the type's own tag. */
export const implicit = (n: number, content: Uint8Array): Buffer => tlv(0x80 | contextNumber(n), content);

function contextNumber(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 30) {
    throw new RangeError(`context tag ${n} needs a multi-byte tag`);
  }
  return n;
}

/** One decoded element: its tag, its content, and the whole encoding (tag and length included). */
export interface Tlv {
  tag: number;
  content: Buffer;
  encoded: Buffer;
}

/** Reads the element at `offset`; throws on truncated input, indefinite or over-long lengths. */
export function readTlv(buf: Buffer, offset = 0): Tlv {
  const fail = (why: string): never => {
    throw new Error(`malformed DER at byte ${offset}: ${why}`);
  };
  if (offset + 2 > buf.length) fail('truncated header');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) fail('multi-byte tags are not supported');
  let length = buf[offset + 1]!;
  let headerLength = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) fail('indefinite length is not DER');
    if (count > 4) fail('length too large');
    if (offset + 2 + count > buf.length) fail('truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[offset + 2 + i]!;
    headerLength += count;
  }
  const end = offset + headerLength + length;
  if (end > buf.length) fail(`content of ${length} bytes runs past the end`);
  return {
    tag,
    content: buf.subarray(offset + headerLength, end),
    encoded: buf.subarray(offset, end),
  };
}

/** The elements of a constructed value's content, in order. */
export function readChildren(content: Buffer): Tlv[] {
  const children: Tlv[] = [];
  for (let offset = 0; offset < content.length; ) {
    const child = readTlv(content, offset);
    children.push(child);
    offset += child.encoded.length;
  }
  return children;
}

/** Decodes OID content bytes to dotted form. */
export function decodeOid(content: Buffer): string {
  const arcs: bigint[] = [];
  let value = 0n;
  for (const byte of content) {
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  const [first = 0n, ...rest] = arcs;
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...rest].join('.');
}
