import { runPipeline } from '../../pipeline/run-pipeline.ts';
import { buildStep } from '../../pipeline/steps.ts';
import type { Command } from '../command.ts';
import { printJson, shutdownSignal, withContext } from '../context-options.ts';

const kafkaOption = {
  type: 'string',
  placeholder: 'BROKERS',
  description:
    'Kafka bootstrap brokers host:port[,host:port] (default: $MEDALLION_KAFKA_BROKERS; without either, the landing directory).',
} as const;

/** `medallion run`. */
export const runCommand: Command = {
  name: 'run',
  summary:
    'Run the whole pipeline: ingest → refine → load → build. With --once, process what is available now and exit; otherwise run micro-batches every run.triggerIntervalMs until Ctrl-C.',
  usage: 'run [--once] [--kafka BROKERS] [--json]',
  options: {
    once: {
      type: 'boolean',
      description: 'Process everything available now, then exit (exit 1 if a gold test fails).',
    },
    kafka: kafkaOption,
    json: { type: 'boolean', description: 'Print the cycles as JSON on stdout.' },
  },
  async run(values) {
    const signal = shutdownSignal();
    const cycles = await withContext(values, (ctx) =>
      runPipeline(ctx, { once: Boolean(values['once']), kafka: values['kafka'] as string | undefined, signal }),
    );
    if (values['json']) printJson(cycles);
    return 0;
  },
};

const selectOption = {
  type: 'string',
  short: 's',
  multiple: true,
  placeholder: 'SELECTOR',
  description: 'Only these nodes (model names, tag:<tag>, source:<name>); repeatable.',
} as const;

/** `medallion build`: the gold build (dbt_transformations_job). */
export const buildCommand: Command = {
  name: 'build',
  summary:
    "Build gold from the warehouse's silver tables: run the pipeline's dbt-format gold project (models, snapshots, tests in DAG order) with Medallion's runner.",
  usage: 'build [--select SELECTOR]… [--json]',
  options: { select: selectOption, json: { type: 'boolean', description: 'Print the result as JSON on stdout.' } },
  async run(values) {
    const r = await withContext(values, (ctx) =>
      buildStep(ctx, { command: 'build', select: values['select'] as string[] | undefined }),
    );
    if (values['json']) printJson(r);
    return 0;
  },
};

/** `medallion test`: gold tests only. */
export const testCommand: Command = {
  name: 'test',
  summary: "Run the gold project's data tests (generic, custom generic and singular) against the warehouse.",
  usage: 'test [--select SELECTOR]… [--json]',
  options: { select: selectOption, json: { type: 'boolean', description: 'Print the result as JSON on stdout.' } },
  async run(values) {
    const r = await withContext(values, (ctx) =>
      buildStep(ctx, { command: 'test', select: values['select'] as string[] | undefined }),
    );
    if (values['json']) printJson(r);
    return 0;
  },
};
