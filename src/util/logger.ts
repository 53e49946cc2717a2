import { type Logger, pino } from 'pino';

export type { Logger };

/** Structured JSON logs, one event per line on stderr, as Kubernetes log collectors expect. */
export function createLogger(component: string, level = process.env.PORTICO_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { component }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2));
}

/** A logger that writes nothing, for tests and libraries used without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
