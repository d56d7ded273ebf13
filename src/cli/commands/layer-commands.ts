import { MedallionError } from '../../core/errors.ts';
import { runIngest } from '../../ingest/ingest-run.ts';
import { loadStep, refineStep } from '../../pipeline/steps.ts';
import type { StartFrom } from '../../sources/event-source.ts';
import type { Command } from '../command.ts';
import { printJson, shutdownSignal, withContext } from '../context-options.ts';

const jsonOption = { type: 'boolean', description: 'Print the counts as JSON on stdout.' } as const;
const kafkaOption = {
  type: 'string',
  placeholder: 'BROKERS',
  description:
    'Kafka bootstrap brokers host:port[,host:port] (default: $MEDALLION_KAFKA_BROKERS; without either, the landing directory).',
} as const;

/** Parses `--from-beginning` / `--from-timestamp T` (ISO 8601 or milliseconds since the epoch). */
function startFrom(values: Record<string, unknown>): StartFrom {
  const beginning = Boolean(values['from-beginning']);
  const ts = values['from-timestamp'] as string | undefined;
  if (beginning && ts !== undefined)
    throw new MedallionError('MDL_USAGE', '--from-beginning and --from-timestamp cannot be combined.', {
      hint: 'Give one of them.',
    });
  if (beginning) return 'beginning';
  if (ts === undefined) return 'bronze';
  const ms = /^\d+$/.test(ts) ? Number(ts) : Date.parse(ts);
  if (!Number.isFinite(ms))
    throw new MedallionError('MDL_USAGE', `--from-timestamp ${ts} is not a time.`, {
      hint: 'Give an ISO 8601 time such as 2026-11-24T05:00:00Z, or milliseconds since the epoch.',
    });
  return { timestampMs: ms };
}

/** `medallion ingest`: kafka_to_bronze. */
export const ingestCommand: Command = {
  name: 'ingest',
  summary:
    'Ingest events (landing directory or Kafka) and reference CSV files into bronze, exactly once. Keeps going until Ctrl-C unless --once.',
  usage: 'ingest [--once] [--kafka BROKERS] [--from-beginning | --from-timestamp T]',
  details:
    'Every (partition, offset) or (file, line) lands in bronze exactly once: by default each stream resumes after what bronze holds; --from-beginning and --from-timestamp read again from an earlier point and write only what bronze does not hold yet (a backfill of deleted bronze files). Several ingesters in one consumer group share the partitions. SIGINT/SIGTERM finish the batch in hand and leave the group.',
  options: {
    once: { type: 'boolean', description: 'Ingest what is available now, then exit.' },
    kafka: kafkaOption,
    'from-beginning': {
      type: 'boolean',
      description: 'Read every partition (or landing file) again from its start; write only what bronze lacks.',
    },
    'from-timestamp': {
      type: 'string',
      placeholder: 'T',
      description:
        'Kafka: start each partition at the first offset with a timestamp at or after T (ISO 8601 or epoch ms); write only what bronze lacks.',
    },
    json: jsonOption,
  },
  async run(values) {
    const from = startFrom(values);
    const signal = shutdownSignal();
    const r = await withContext(values, (ctx) =>
      runIngest(ctx, {
        kafka: values['kafka'] as string | undefined,
        once: Boolean(values['once']),
        startFrom: from,
        signal,
      }),
    );
    if (values['json']) printJson(r);
    return 0;
  },
};

/** `medallion refine`: bronze_to_silver. */
export const refineCommand: Command = {
  name: 'refine',
  summary:
    'Refine new bronze rows into silver: contract checks (bad records to quarantine with reasons), dedup by event id across all history, late flags, pseudonymized student ids. Processes what is available and exits.',
  usage: 'refine [--json]',
  options: { json: jsonOption },
  async run(values) {
    const r = await withContext(values, (ctx) => refineStep(ctx));
    if (values['json']) printJson(r);
    return 0;
  },
};

/** `medallion load`: silver_to_warehouse. */
export const loadCommand: Command = {
  name: 'load',
  summary:
    'Load new silver files into the warehouse (DuckDB file by default), all or nothing. Processes what is available and exits.',
  usage: 'load [--json]',
  options: { json: jsonOption },
  async run(values) {
    const r = await withContext(values, (ctx) => loadStep(ctx));
    if (values['json']) printJson(r);
    return 0;
  },
};
