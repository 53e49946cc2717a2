import { randomBytes } from 'node:crypto';

/** Field values made acceptable to events.k8s.io/v1 validation. */

/** `<object name>.<16 hex digits>`, made a valid DNS subdomain whatever the object's name. */
export function eventName(objectName: string): string {
  const labels = objectName.toLowerCase().split('.');
  const clean = labels.map((l) => l.replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '')).filter(Boolean);
  const prefix = clean
    .join('.')
    .slice(0, 236)
    .replace(/[.-]+$/, '');
  return `${prefix || 'event'}.${randomBytes(8).toString('hex')}`;
}

/** Cuts `text` to at most `maxBytes` of UTF-8, marking the cut with an ellipsis. */
export function clip(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    bytes += Buffer.byteLength(ch);
    if (bytes > maxBytes - 3) break;
    out += ch;
  }
  return `${out}...`;
}
