import { MedallionError } from '../../core/errors.ts';
import { logger, progress } from '../../core/logger.ts';
import { DEFAULT_METRICS_PORT, type MetricsServer, startMetricsServer } from '../../metrics/metrics-server.ts';
import type { PipelineContext } from '../../pipeline/context.ts';
import { runPipeline } from '../../pipeline/run-pipeline.ts';
import { buildStep } from '../../pipeline/steps.ts';
import { resolveBrokers } from '../../sources/event-source.ts';
import { type Command, intOption, type OptionValues } from '../command.ts';
import { printJson, shutdownSignal, withContext } from '../context-options.ts';

const kafkaOption = {
  type: 'string',
  placeholder: 'BROKERS',
  description:
    'Kafka bootstrap brokers host:port[,host:port] (default: $MEDALLION_KAFKA_BROKERS; without either, the landing directory).',
} as const;

/**
 * The port of the metrics listener of `run`: --metrics-port, else $MEDALLION_METRICS_PORT, else
 * 9464; undefined with `--no-metrics`. Checked before anything runs.
 */
function metricsPort(values: OptionValues): number | undefined {
  if (values['no-metrics']) return undefined;
  const fromEnv = process.env.MEDALLION_METRICS_PORT;
  if (fromEnv && !(Number.isInteger(Number(fromEnv)) && Number(fromEnv) >= 0 && Number(fromEnv) < 65536)) {
    throw new MedallionError('MDL_USAGE', `MEDALLION_METRICS_PORT must be a port number (got "${fromEnv}").`, {
      hint: 'Set it to a port such as 9464 (0 picks a free one), or unset it.',
    });
  }
  const port = intOption(values, 'metrics-port', 0) ?? (fromEnv ? Number(fromEnv) : DEFAULT_METRICS_PORT);
  if (port > 65535) {
    throw new MedallionError('MDL_USAGE', `--metrics-port must be a port number ≤ 65535 (got ${port}).`, {
      hint: 'Pass --metrics-port with a port such as 9464 (0 picks a free one).',
    });
  }
  return port;
}

/** Starts the metrics listener of `run`; a port that cannot be bound is reported and the run goes on. */
async function runMetrics(
  ctx: PipelineContext,
  port: number | undefined,
  values: OptionValues,
): Promise<MetricsServer | undefined> {
  if (port === undefined) return undefined;
  try {
    const server = await startMetricsServer({
      project: ctx.project,
      port,
      brokers: resolveBrokers(values['kafka'] as string | undefined),
    });
    progress(`run: metrics at ${server.url}`);
    return server;
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'the port is in use' : (err as Error).message;
    logger.warn({ event: 'metrics.unavailable', port, err: why }, 'metrics listener not started');
    progress(`run: no metrics listener on 127.0.0.1:${port} (${why}); pass --metrics-port P or --no-metrics`);
    return undefined;
  }
}

/** `medallion run`. */
export const runCommand: Command = {
  name: 'run',
  summary:
    'Run the whole pipeline: ingest → refine → load → build. With --once, process what is available now and exit; otherwise run micro-batches every run.triggerIntervalMs until Ctrl-C.',
  usage: 'run [--once] [--kafka BROKERS] [--metrics-port P | --no-metrics] [--json]',
  details:
    'While it runs, Prometheus metrics are served at http://127.0.0.1:<port>/metrics (loopback only): rows per layer, quarantine by rule, duplicates, late events, Kafka consumer lag, job and micro-batch durations, gold build times and tests, freshness, last success per job. If the port is taken the run goes on without them.',
  options: {
    once: {
      type: 'boolean',
      description: 'Process everything available now, then exit (exit 1 if a gold test or a data-quality check fails).',
    },
    kafka: kafkaOption,
    'metrics-port': {
      type: 'string',
      placeholder: 'P',
      description: `Port of the metrics listener on 127.0.0.1 (default: $MEDALLION_METRICS_PORT, else ${DEFAULT_METRICS_PORT}; 0 picks a free one).`,
    },
    'no-metrics': { type: 'boolean', description: 'Do not serve /metrics while running.' },
    json: { type: 'boolean', description: 'Print the cycles as JSON on stdout.' },
  },
  async run(values) {
    const port = metricsPort(values);
    const signal = shutdownSignal();
    const cycles = await withContext(values, async (ctx) => {
      const metrics = await runMetrics(ctx, port, values);
      try {
        return await runPipeline(ctx, {
          once: Boolean(values['once']),
          kafka: values['kafka'] as string | undefined,
          signal,
        });
      } finally {
        await metrics?.close();
      }
    });
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
