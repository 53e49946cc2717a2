import { Counter, type Registry } from 'prom-client';

export interface InformerMetrics {
  lists: Counter<'resource'>;
  relists: Counter<'resource'>;
  errors: Counter<'resource'>;
  stalls: Counter<'resource'>;
}

/** Counters shared by every informer of a process, labelled by resource. */
export function informerMetrics(registry: Registry): InformerMetrics {
  const counter = (name: string, help: string) =>
    new Counter({
      name: `portico_informer_${name}`,
      help,
      labelNames: ['resource'] as const,
      registers: [registry],
    });
  return {
    lists: counter('lists_total', 'Full lists made by informers.'),
    relists: counter('relists_after_gone_total', 'Relists forced by an expired resourceVersion (410 Gone).'),
    errors: counter('errors_total', 'List or watch failures that caused a restart with backoff.'),
    stalls: counter('watch_stalls_total', 'Watches restarted by the watchdog after delivering nothing.'),
  };
}
