import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Structured JSON logs, one event per line on stderr, as Kubernetes log collectors expect. `async`
 * hands the writes to a worker thread of libuv instead of blocking the event loop on each line (a
 * busy controller logs thousands); what is buffered is flushed when the process exits.
 */
export function createLogger(
  component: string,
  level = process.env.PORTICO_LOG_LEVEL ?? 'info',
  options: { async?: boolean } = {},
): Logger {
  return pino(
    { level, base: { component }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 2, sync: !options.async }),
  );
}

/** A logger that writes nothing, for tests and libraries used without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
