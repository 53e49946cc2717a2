/** The two timestamp formats of the Kubernetes API. */

/** metav1.Time: RFC 3339 with whole seconds, e.g. 2026-01-01T00:00:00Z (conditions, creationTimestamp). */
export function formatTime(wallMs: number): string {
  return new Date(wallMs).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** metav1.MicroTime: RFC 3339 with microseconds, e.g. 2026-01-01T00:00:00.000000Z (Leases, Events). */
export function formatMicroTime(wallMs: number): string {
  return new Date(wallMs).toISOString().replace(/Z$/, '000Z');
}
