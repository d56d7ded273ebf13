import { pino } from 'pino';

/**
 * Structured JSON logs, always to stderr so that `--json` output on stdout stays clean. The default
 * level is `warn` (people read the progress lines); MEDALLION_LOG_LEVEL=info or debug for operations.
 * Lines that mark a step of the pipeline carry a stable `event` code from {@link LOG_EVENTS}.
 */
export type Logger = pino.Logger;

const level = process.env.MEDALLION_LOG_LEVEL ?? 'warn';

/**
 * Stable event codes of log lines (the `event` field), with what each means. Alerting and log
 * queries match on these, never on the message text. `<job>` is one of ingest, refine, load, build,
 * test, replay, quarantine-retry, run and run.cycle (a micro-batch of `run`).
 */
export const LOG_EVENTS = {
  '<job>.started': 'a job run started (runId, parentRunId)',
  '<job>.completed': 'a job run succeeded (runId, durationMs, result counts)',
  '<job>.failed':
    'a job run failed (runId, durationMs, error code and message); at level info, as the command reports the failure itself',
  'run.cycle.retrying': 'a micro-batch of continuous `run` failed and will be tried again (error code)',
  'metrics.listening': 'the metrics listener of `run` is bound (url)',
  'metrics.unavailable': 'the metrics listener of `run` could not bind; the run goes on without it',
  'metrics.scrape.failed': 'a part of a /metrics scrape could not be read (the rest is served)',
  'ingest.batch.committed': 'a micro-batch is durable in bronze and acknowledged (records, files); debug',
  'ingest.source.reconnecting': 'the event source failed (broker restarted or unreachable); reconnecting with backoff',
  'refine.chunk.committed': 'a chunk of bronze is committed to silver, quarantine and duplicates (counts)',
  'refine.key.generated': 'no pseudonymization key was set: a local one was generated (demo only)',
  'load.done': 'load finished (datasets, rows, silver versions); debug',
  'delta.checkpoint.failed': 'writing a Delta checkpoint failed; readers replay the JSON log instead',
  'lineage.send_failed': 'an OpenLineage event could not be posted (HTTP transport); the job goes on',
  'serve.listening': 'the dashboard is bound (url)',
  'serve.exposed': 'the dashboard listens beyond loopback (host); use --token',
  'serve.request.rejected': 'a dashboard request was refused with a MedallionError code (bad parameter, token)',
  'serve.request.failed': 'a dashboard request failed unexpectedly (path)',
  'serve.status.failed': 'the pipeline page could not read the lake status',
  'kafka.connected': 'the Kafka source joined its group (partitions owned, end offsets at connect)',
  'kafka.group.rebalanced': 'a consumer-group rebalance assigned/revoked partitions (generation)',
  'kafka.group.lost': 'this member lost its consumer-group membership; the session reconnects',
  'kafka.group.leave_failed': 'leaving the consumer group at close failed (the session timeout frees the partitions)',
  'kafka.heartbeat.failed': 'a group heartbeat failed; debug',
  'kafka.offsets.ahead_of_bronze': 'the group committed offsets past what bronze holds; reading from bronze',
  'kafka.retention.skipped': 'records were deleted by retention before they were read; continuing at the log start',
  'kafka.commit.skipped': 'slices of partitions revoked since they were read are not committed',
  'kafka.commit.rebalancing': 'offsets not committed because the group is rebalancing (bronze stays the position)',
  'kafka.topic.created': 'the configured topic was created (autoCreateTopic)',
  'kafka.topic.mismatch': 'the topic exists with another partition count than configured',
  'kafka.produce.failed': "the simulator's producer failed; it must reconnect",
  'command.failed': 'a command ended with an error (code, cause); debug, the command prints it',
} as const;

/** A stable event code: one of {@link LOG_EVENTS}, with `<job>` filled in. */
export type LogEvent = string;

/** Secret values (keys, tokens) that must never appear in a log line, even by accident. */
const secrets = new Set<string>();

/**
 * Registers a secret value: from now on every log line has it replaced by `[redacted]` before it
 * is written. For values that structured redaction cannot catch (a key inside a message or SQL).
 */
export function registerSecret(value: string): void {
  if (value.length >= 8) secrets.add(value);
}

// Secrets handed over in the environment: the pseudonymization key, the dashboard token, any
// MEDALLION_* variable named like a key, token, secret or password.
for (const [name, value] of Object.entries(process.env)) {
  if (value && /^MEDALLION_.*(KEY|TOKEN|SECRET|PASSWORD)/.test(name)) registerSecret(value);
}

function scrub(line: string): string {
  let out = line;
  for (const s of secrets) if (out.includes(s)) out = out.replaceAll(s, '[redacted]');
  return out;
}

/** The process-wide root logger. Components take a child with `logger.child({ component })`. */
export const logger: Logger = pino(
  {
    level,
    base: { app: 'medallion' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'student_id',
        '*.student_id',
        'key',
        '*.key',
        'secret',
        '*.secret',
        'token',
        '*.token',
        'password',
        '*.password',
        'authorization',
        '*.authorization',
        '*.headers.authorization',
      ],
      censor: '[redacted]',
    },
    hooks: { streamWrite: scrub },
  },
  pino.destination({ fd: 2, sync: true }),
);

/** Prints a human progress line to stderr (not JSON): for interactive commands. */
export function progress(message: string): void {
  if (process.env.MEDALLION_QUIET === '1') return;
  process.stderr.write(`${scrub(message)}\n`);
}
