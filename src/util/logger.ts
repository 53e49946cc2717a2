import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/** Bytes gathered before a batched logger writes, and how long a line may wait for its batch. */
const BATCH_BYTES = 8 * 1024;
const BATCH_MS = 50;

/**
 * Structured JSON logs, one event per line on stderr, as Kubernetes log collectors expect.
 *
 * `batched` is for a process that logs thousands of lines a second (the controller on a burst of
 * Services): each write to stderr is a syscall handed to one of libuv's threads, and on a busy
 * two-CPU machine that hand-off cost the controller a tenth of its CPU. Lines are gathered up to
 * BATCH_BYTES or BATCH_MS, whichever comes first, and flushed synchronously when the process
 * exits, so only a SIGKILL can lose the last BATCH_MS of them.
 */
export function createLogger(
  component: string,
  level = process.env.PORTICO_LOG_LEVEL ?? 'info',
  options: { batched?: boolean } = {},
): Logger {
  return pino(
    { level, base: { component }, timestamp: pino.stdTimeFunctions.isoTime },
    options.batched ? batchedStderr() : pino.destination({ dest: 2, sync: true }),
  );
}

function batchedStderr(): DestinationStream {
  const dest = pino.destination({ dest: 2, sync: false, minLength: BATCH_BYTES });
  const write = dest.write.bind(dest);
  let flushPending = false;
  dest.write = (line: string) => {
    const accepted = write(line);
    if (!flushPending) {
      flushPending = true;
      setTimeout(() => {
        flushPending = false;
        // With a callback, a stream already closed at exit reports instead of throwing.
        dest.flush(() => {});
      }, BATCH_MS).unref();
    }
    return accepted;
  };
  return dest;
}

/** A logger that writes nothing, for tests and libraries used without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
