// IP addresses and ranges as bigints: strict parsing of what users write in pools, canonical
// formatting, and the range arithmetic the allocator needs. Pure: no I/O.

export type IPFamily = 'IPv4' | 'IPv6';

export interface IPAddr {
  family: IPFamily;
  value: bigint;
}

/** Inclusive; first <= last. */
export interface IPRange {
  family: IPFamily;
  first: bigint;
  last: bigint;
}

export class AddressError extends Error {
  override readonly name = 'AddressError';
}

export function familyBits(family: IPFamily): 32 | 128 {
  return family === 'IPv4' ? 32 : 128;
}

/** The highest address of a family: 2^32 - 1 or 2^128 - 1. */
export function familyMax(family: IPFamily): bigint {
  return (1n << BigInt(familyBits(family))) - 1n;
}

// JSON quoting keeps every message on one line, whatever the user typed.
const q = (text: string): string => JSON.stringify(text);

const EXAMPLES = 'like 192.0.2.1 or 2001:db8::1';
const ENTRY_FORMS = 'a CIDR (203.0.113.0/25), a range (203.0.113.10-203.0.113.20) or a single address';

/** Returns the value, or why `text` is not an IPv4 address (a phrase completing `"text" …`). */
function parseIPv4(text: string): bigint | string {
  const bad = 'is not a valid IPv4 address';
  const parts = text.split('.');
  if (parts.length !== 4) return `${bad}: it has ${parts.length} parts, expected 4 like 192.0.2.1`;
  let value = 0n;
  for (const part of parts) {
    if (part === '') return `${bad}: it has an empty part`;
    if (!/^[0-9]+$/.test(part)) return `${bad}: part ${q(part)} is not a decimal number`;
    if (part.length > 1 && part.startsWith('0')) {
      return `${bad}: part ${q(part)} has a leading zero, which some tools read as octal; remove it`;
    }
    const octet = Number(part);
    if (octet > 255) return `${bad}: part ${q(part)} is out of range 0-255`;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

/** Parses the groups of one side of "::" into 16-bit values; an embedded IPv4 may end the address. */
function parseGroups(side: string, endsAddress: boolean): number[] | string {
  if (side === '') return [];
  const groups = side.split(':');
  const out: number[] = [];
  for (const [i, group] of groups.entries()) {
    if (group.includes('.')) {
      if (!endsAddress || i !== groups.length - 1) {
        return 'an embedded IPv4 address may only be the last 32 bits';
      }
      const v4 = parseIPv4(group);
      if (typeof v4 === 'string') return `embedded IPv4 ${q(group)} ${v4}`;
      out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else if (group === '') {
      return 'it has an empty group';
    } else if (!/^[0-9a-fA-F]{1,4}$/.test(group)) {
      return `group ${q(group)} is not 1 to 4 hex digits`;
    } else {
      out.push(Number.parseInt(group, 16));
    }
  }
  return out;
}

/** RFC 4291 section 2.2 text forms, strictly: at most one "::", 1-4 hex digits a group, dotted tail. */
function parseIPv6(text: string): bigint | string {
  const bad = 'is not a valid IPv6 address';
  const stray = /[^0-9a-fA-F:.]/.exec(text);
  if (stray) return `${bad}: ${q(stray[0])} is not a hex digit, ":" or "."`;
  if (text.includes(':::')) return `${bad}: it contains ":::"`;
  const halves = text.split('::');
  if (halves.length > 2) return `${bad}: "::" may appear only once`;
  if (/^:[^:]/.test(text)) return `${bad}: it starts with a single ":"`;
  if (/[^:]:$/.test(text)) return `${bad}: it ends with a single ":"`;
  const head = parseGroups(halves[0] ?? '', halves.length === 1);
  if (typeof head === 'string') return `${bad}: ${head}`;
  const tail = parseGroups(halves[1] ?? '', true);
  if (typeof tail === 'string') return `${bad}: ${tail}`;
  const explicit = head.length + tail.length;
  if (halves.length === 1 && explicit !== 8) {
    return `${bad}: it has ${explicit} groups, expected 8 (or "::" for a run of zero groups)`;
  }
  if (halves.length === 2 && explicit > 7) {
    return `${bad}: it has ${explicit} groups besides "::", which must stand for at least one zero group`;
  }
  const groups = [...head, ...Array<number>(8 - explicit).fill(0), ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** The value of `text` (already trimmed), or the message explaining why it is not an address. */
function parseIPOrMessage(text: string): IPAddr | string {
  if (text === '') return `IP address is empty; expected one ${EXAMPLES}`;
  const zone = text.indexOf('%');
  if (zone >= 0) {
    return `${q(text)} has a zone id (${q(text.slice(zone))}); zones are not allowed here, remove it`;
  }
  if (text.includes('/')) return `${q(text)} looks like a CIDR; expected a single address`;
  let parsed: bigint | string;
  let family: IPFamily;
  if (text.includes(':')) {
    family = 'IPv6';
    parsed = parseIPv6(text);
  } else if (text.includes('.')) {
    family = 'IPv4';
    parsed = parseIPv4(text);
  } else {
    return `${q(text)} is not an IP address; expected one ${EXAMPLES}`;
  }
  return typeof parsed === 'string' ? `${q(text)} ${parsed}` : { family, value: parsed };
}

export function parseIP(text: string): IPAddr {
  const parsed = parseIPOrMessage(text.trim());
  if (typeof parsed === 'string') throw new AddressError(parsed);
  return parsed;
}

export function tryParseIP(text: string): IPAddr | undefined {
  const parsed = parseIPOrMessage(text.trim());
  return typeof parsed === 'string' ? undefined : parsed;
}

function formatIPv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => Number((value >> shift) & 0xffn)).join('.');
}

/** RFC 5952: lower case, no leading zeros, the longest run (>= 2) of zero groups as "::", first on ties. */
function formatIPv6(value: bigint): string {
  // Section 5: IPv4-mapped addresses (::ffff:0:0/96) are written with their IPv4 part dotted.
  if (value >> 32n === 0xffffn) return `::ffff:${formatIPv4(value & 0xffffffffn)}`;
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => Number((value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

export function formatIP(addr: IPAddr): string {
  if (addr.value < 0n || addr.value > familyMax(addr.family)) {
    throw new AddressError(`${addr.value} is out of range for an ${addr.family} address`);
  }
  return addr.family === 'IPv4' ? formatIPv4(addr.value) : formatIPv6(addr.value);
}

function parseEntryPart(entry: string, text: string): IPAddr {
  const parsed = parseIPOrMessage(text);
  if (typeof parsed === 'string') throw new AddressError(`${q(entry)}: ${parsed}`);
  return parsed;
}

function parseCIDR(entry: string): IPRange {
  const [addrText = '', lengthText = '', ...rest] = entry.split('/');
  if (rest.length > 0) throw new AddressError(`${q(entry)} has more than one "/"`);
  if (addrText !== addrText.trim() || lengthText !== lengthText.trim()) {
    throw new AddressError(
      `${q(entry)} has spaces around "/"; write ${addrText.trim()}/${lengthText.trim()}`,
    );
  }
  if (addrText === '') throw new AddressError(`${q(entry)} is missing the address before "/"`);
  const addr = parseEntryPart(entry, addrText);
  const bits = familyBits(addr.family);
  if (lengthText === '') throw new AddressError(`${q(entry)} is missing the prefix length after "/"`);
  if (!/^(0|[1-9][0-9]*)$/.test(lengthText)) {
    throw new AddressError(
      `${q(entry)} has prefix length ${q(lengthText)}; expected a decimal number 0-${bits} without sign or leading zeros`,
    );
  }
  const length = Number(lengthText);
  if (length > bits) {
    throw new AddressError(
      `${q(entry)} has prefix length ${lengthText}, but ${addr.family} allows 0-${bits}`,
    );
  }
  const hostMask = (1n << BigInt(bits - length)) - 1n;
  const first = addr.value & ~hostMask;
  if (first !== addr.value) {
    const network = formatIP({ family: addr.family, value: first });
    throw new AddressError(`${q(entry)} has host bits set; did you mean ${network}/${length}?`);
  }
  return { family: addr.family, first, last: first | hostMask };
}

function parseRange(entry: string): IPRange {
  const [startText = '', endText = '', ...rest] = entry.split('-').map((part) => part.trim());
  if (rest.length > 0) throw new AddressError(`${q(entry)} has more than one "-"; a range is first-last`);
  if (startText === '') throw new AddressError(`${q(entry)} is missing the first address before "-"`);
  if (endText === '') throw new AddressError(`${q(entry)} is missing the last address after "-"`);
  const start = parseEntryPart(entry, startText);
  const end = parseEntryPart(entry, endText);
  if (start.family !== end.family) {
    throw new AddressError(`${q(entry)} mixes IPv4 and IPv6; both ends of a range must be the same family`);
  }
  if (start.value > end.value) {
    const [a, b] = [formatIP(start), formatIP(end)];
    throw new AddressError(`${q(entry)} is reversed: ${a} comes after ${b}; write ${b}-${a}`);
  }
  return { family: start.family, first: start.value, last: end.value };
}

/** Parses one entry of a pool's `addresses` or `excludes`: a CIDR, a first-last range, or one address. */
export function parseAddressEntry(text: string): IPRange {
  const entry = text.trim();
  if (entry === '') throw new AddressError(`address entry is empty; expected ${ENTRY_FORMS}`);
  const isCIDR = entry.includes('/');
  // "/-1" is a signed prefix length (parseCIDR says so), not half of a range.
  const isRange = entry.replace('/-', '/').includes('-');
  if (isCIDR && isRange) {
    throw new AddressError(`${q(entry)} mixes a CIDR ("/") and a range ("-"); write one or the other`);
  }
  if (isCIDR) return parseCIDR(entry);
  if (isRange) return parseRange(entry);
  if (!/[.:]/.test(entry)) {
    throw new AddressError(`${q(entry)} is not an address entry; expected ${ENTRY_FORMS}`);
  }
  const addr = parseIPOrMessage(entry);
  if (typeof addr === 'string') throw new AddressError(addr);
  return { family: addr.family, first: addr.value, last: addr.value };
}

export function rangeSize(r: IPRange): bigint {
  return r.last - r.first + 1n;
}

/** The prefix length if `r` is exactly one CIDR block (a single address is a /32 or /128), else undefined. */
export function rangePrefixLength(r: IPRange): number | undefined {
  const size = rangeSize(r);
  if (size <= 0n || (size & (size - 1n)) !== 0n || (r.first & (size - 1n)) !== 0n) return undefined;
  return familyBits(r.family) - (size.toString(2).length - 1);
}

/** A single address as the bare address, an aligned CIDR block as "a/len", anything else as "first-last". */
export function formatRange(r: IPRange): string {
  const first = formatIP({ family: r.family, value: r.first });
  if (r.first === r.last) return first;
  const length = rangePrefixLength(r);
  if (length !== undefined) return `${first}/${length}`;
  return `${first}-${formatIP({ family: r.family, value: r.last })}`;
}

export function rangesOverlap(a: IPRange, b: IPRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

export function isBuggyIPv4(value: bigint): boolean {
  const lastOctet = value & 0xffn;
  return lastOctet === 0n || lastOctet === 255n;
}

/** How many v in [0, n] have v mod 256 === residue. */
const countResidueUpTo = (n: bigint, residue: bigint): bigint =>
  n < residue ? 0n : (n - residue) / 256n + 1n;

/** Number of addresses in [first,last] of an IPv4 range that are not buggy (.0/.255); exact arithmetic, O(1). */
export function countNonBuggyIPv4(first: bigint, last: bigint): bigint {
  if (first > last) return 0n;
  const buggyUpTo = (n: bigint): bigint => countResidueUpTo(n, 0n) + countResidueUpTo(n, 255n);
  return last - first + 1n - (buggyUpTo(last) - buggyUpTo(first - 1n));
}

const familyOrder = (f: IPFamily): number => (f === 'IPv4' ? 0 : 1);

function compareRanges(a: IPRange, b: IPRange): number {
  if (a.family !== b.family) return familyOrder(a.family) - familyOrder(b.family);
  if (a.first !== b.first) return a.first < b.first ? -1 : 1;
  return a.last === b.last ? 0 : a.last < b.last ? -1 : 1;
}

/**
 * Sort by family (IPv4 first) then address, merging overlapping and adjacent ranges.
 * Ranges with first > last are empty and dropped. Returns new objects; the input is not modified.
 */
export function normalizeRanges(ranges: readonly IPRange[]): IPRange[] {
  const sorted = ranges.filter((r) => r.first <= r.last).sort(compareRanges);
  const out: IPRange[] = [];
  for (const r of sorted) {
    const prev = out.at(-1);
    if (prev && prev.family === r.family && r.first <= prev.last + 1n) {
      if (r.last > prev.last) prev.last = r.last;
    } else {
      out.push({ family: r.family, first: r.first, last: r.last });
    }
  }
  return out;
}

/** Subtracts `holes` from `ranges` (same or mixed families); result sorted by family (IPv4 first) then first, merged. */
export function subtractRanges(ranges: readonly IPRange[], holes: readonly IPRange[]): IPRange[] {
  const rs = normalizeRanges(ranges);
  const hs = normalizeRanges(holes);
  const out: IPRange[] = [];
  let h = 0;
  for (const r of rs) {
    // Skip holes entirely before r; a hole reaching past r stays for the next range.
    while (h < hs.length && isBefore(hs[h]!, r)) h++;
    let next = r.first;
    for (let k = h; k < hs.length && next <= r.last; k++) {
      const hole = hs[k]!;
      if (hole.family !== r.family || hole.first > r.last) break;
      if (hole.first > next) out.push({ family: r.family, first: next, last: hole.first - 1n });
      if (hole.last + 1n > next) next = hole.last + 1n;
    }
    if (next <= r.last) out.push({ family: r.family, first: next, last: r.last });
  }
  return out;
}

/** Whether `hole` lies wholly before `r` in (family, address) order. */
function isBefore(hole: IPRange, r: IPRange): boolean {
  if (hole.family !== r.family) return familyOrder(hole.family) < familyOrder(r.family);
  return hole.last < r.first;
}
