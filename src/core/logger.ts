import { pino } from 'pino';

/**
 * Structured JSON logs, always to stderr so that `--json` output on stdout stays clean. The default
 * level is `warn` (people read the progress lines); MEDALLION_LOG_LEVEL=info or debug for operations.
 */
export type Logger = pino.Logger;

const level = process.env.MEDALLION_LOG_LEVEL ?? 'warn';

/** The process-wide root logger. Components take a child with `logger.child({ component })`. */
export const logger: Logger = pino(
  {
    level,
    base: { app: 'medallion' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['student_id', '*.student_id', 'key', '*.key', 'secret', '*.secret'], censor: '[redacted]' },
  },
  pino.destination({ fd: 2, sync: true }),
);

/** Prints a human progress line to stderr (not JSON): for interactive commands. */
export function progress(message: string): void {
  if (process.env.MEDALLION_QUIET === '1') return;
  process.stderr.write(`${message}\n`);
}
