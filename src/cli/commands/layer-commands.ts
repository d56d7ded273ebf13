import { ingestStep, loadStep, refineStep } from '../../pipeline/steps.ts';
import type { Command } from '../command.ts';
import { printJson, shutdownSignal, withContext } from '../context-options.ts';

const jsonOption = { type: 'boolean', description: 'Print the counts as JSON on stdout.' } as const;
const kafkaOption = {
  type: 'string',
  placeholder: 'BROKERS',
  description:
    'Kafka bootstrap brokers host:port[,host:port] (default: $MEDALLION_KAFKA_BROKERS; without either, the landing directory).',
} as const;

/** `medallion ingest`: kafka_to_bronze. */
export const ingestCommand: Command = {
  name: 'ingest',
  summary:
    'Ingest events (landing directory or Kafka) and reference CSV files into bronze, exactly once. Keeps going until Ctrl-C unless --once.',
  usage: 'ingest [--once] [--kafka BROKERS]',
  options: {
    once: { type: 'boolean', description: 'Ingest what is available now, then exit.' },
    kafka: kafkaOption,
    json: jsonOption,
  },
  async run(values) {
    const signal = shutdownSignal();
    const r = await withContext(values, (ctx) =>
      ingestStep(ctx, { kafka: values['kafka'] as string | undefined, once: Boolean(values['once']), signal }),
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
