import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PipelineProject } from '../config/project.ts';
import { logger } from '../core/logger.ts';
import { openDuckDb, quoteLiteral } from '../engine/duckdb.ts';
import { parseBronzeFileName } from '../ingest/bronze-writer.ts';
import { addJobObserver } from '../ops/job-events.ts';
import { type RunLogEntry, readRunsFrom } from '../ops/run-log.ts';
import { readStatus } from '../ops/status.ts';
import { LocalStorage } from '../storage/local/local-storage.ts';
import type { Storage } from '../storage/storage.ts';

/**
 * The pipeline's metrics in the Prometheus text exposition format, for `/metrics` of `medallion run`
 * and `medallion serve`. Every value is read from what the pipeline keeps durably, at scrape time:
 *
 * - row totals per layer and dataset, quarantine by rule, duplicates, late events and gold test
 *   outcomes come from `readStatus` (the very function behind `status --json`), so the two agree;
 * - job and micro-batch counts, durations and last successes come from the run log (read from
 *   where the previous scrape stopped), so a restarted process continues the same counters;
 * - gold node build times from the last build's run_results.json; freshness from the newest event
 *   time in gold (the warehouse attached read-only; while a build holds it, the last value read);
 * - Kafka consumer lag from the partitions' end offsets against the offsets bronze holds.
 */
export interface PrometheusMetrics {
  /** The Content-Type of {@link render}'s text. */
  readonly contentType: string;
  /** Reads every source and renders the exposition text. Concurrent calls share one read. */
  render(): Promise<string>;
  /** Stops listening to this process's job events. */
  close(): void;
}

/** Options of {@link createPrometheusMetrics}. */
export interface PrometheusMetricsOptions {
  readonly project: PipelineProject;
  /** Kafka brokers (`host:port,…`) for consumer lag; undefined → no lag samples (landing source). */
  readonly brokers?: string;
  /** Also export Node.js process metrics (CPU, memory, event loop); default true. */
  readonly processMetrics?: boolean;
}

const log = logger.child({ component: 'metrics' });

/** Seconds: from a quick refine to a full school day's build. */
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

interface RunResultsFile {
  readonly results?: readonly {
    readonly unique_id: string;
    readonly status: string;
    readonly execution_time?: number;
    readonly failures?: number | null;
  }[];
}

/** Creates the metric families on a registry of their own and returns the renderer. */
export function createPrometheusMetrics(options: PrometheusMetricsOptions): PrometheusMetrics {
  const { project } = options;
  const events = project.config.events.dataset;
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'medallion_' });
  const registers = [registry];

  const layerRows = new Gauge({
    name: 'medallion_layer_rows',
    help: 'Rows held per layer (bronze, silver, quarantine, duplicates) and dataset; equals `status --json`.',
    labelNames: ['layer', 'dataset'] as const,
    registers,
  });
  const quarantined = new Gauge({
    name: 'medallion_quarantined_rows',
    help: 'Quarantined rows per contract rule they broke (a row breaking two rules counts under both); equals status.datasets.<d>.quarantineByRule.',
    labelNames: ['dataset', 'rule'] as const,
    registers,
  });
  const duplicates = new Gauge({
    name: 'medallion_duplicate_rows',
    help: 'Records set aside as duplicates of an event already in silver; equals status.duplicates.rows.',
    labelNames: ['dataset'] as const,
    registers,
  });
  const late = new Gauge({
    name: 'medallion_late_rows',
    help: 'Silver rows flagged late (arrived behind the watermark); equals status.late.rows.',
    labelNames: ['dataset'] as const,
    registers,
  });
  const recordsIn = new Counter({
    name: 'medallion_records_in_total',
    help: 'Records read by a job (ingest, run.cycle: from the source; refine: from bronze; load: from silver), from the run log.',
    labelNames: ['job', 'dataset'] as const,
    registers,
  });
  const recordsOut = new Counter({
    name: 'medallion_records_out_total',
    help: 'Records written by a job into a layer (bronze, silver, quarantine, duplicates, warehouse), from the run log.',
    labelNames: ['job', 'dataset', 'layer'] as const,
    registers,
  });
  const jobRuns = new Counter({
    name: 'medallion_job_runs_total',
    help: 'Job runs per job and outcome (success, failed), from the run log.',
    labelNames: ['job', 'status'] as const,
    registers,
  });
  const jobDuration = new Histogram({
    name: 'medallion_job_duration_seconds',
    help: 'Duration of job runs (ingest, refine, load, build, test, replay, quarantine-retry, run), from the run log.',
    labelNames: ['job', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const batchDuration = new Histogram({
    name: 'medallion_microbatch_duration_seconds',
    help: 'Duration of the micro-batches of `medallion run` (job run.cycle: refine, load and build of what one ingest pass brought), from the run log.',
    labelNames: ['status'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const lastSuccess = new Gauge({
    name: 'medallion_job_last_success_timestamp_seconds',
    help: 'When each job last finished successfully (Unix seconds), from the run log.',
    labelNames: ['job'] as const,
    registers,
  });
  const goldModels = new Gauge({
    name: 'medallion_gold_models',
    help: 'Gold models built successfully by the last build; equals status.gold.models.',
    registers,
  });
  const goldTests = new Gauge({
    name: 'medallion_gold_tests',
    help: 'Gold tests of the last build or test run by outcome (pass, warn, fail; errors count as fail); equals status.gold.tests.',
    labelNames: ['status'] as const,
    registers,
  });
  const nodeSeconds = new Gauge({
    name: 'medallion_gold_node_build_seconds',
    help: 'Build time of each gold model, snapshot and test in the last build (run_results.json execution_time).',
    labelNames: ['node', 'resource_type', 'status'] as const,
    registers,
  });
  const newestEvent = new Gauge({
    name: 'medallion_gold_newest_event_timestamp_seconds',
    help: 'Newest event time in gold (max last_event_time of fact_event_metrics), Unix seconds.',
    registers,
  });
  const freshness = new Gauge({
    name: 'medallion_gold_freshness_seconds',
    help: 'Freshness of gold: now minus the newest event time in gold, in seconds.',
    registers,
  });
  const lag = new Gauge({
    name: 'medallion_kafka_consumer_lag',
    help: 'Kafka records not yet in bronze, per partition: the partition end offset minus the next offset bronze would take.',
    labelNames: ['topic', 'partition'] as const,
    registers,
  });
  const endOffset = new Gauge({
    name: 'medallion_kafka_partition_end_offset',
    help: 'End offset (next offset to be written, read-committed) of each partition of the events topic.',
    labelNames: ['topic', 'partition'] as const,
    registers,
  });
  const bronzeOffset = new Gauge({
    name: 'medallion_kafka_bronze_next_offset',
    help: 'Next offset of each partition that bronze would take: one past the highest offset held in bronze.',
    labelNames: ['topic', 'partition'] as const,
    registers,
  });
  const scrapeErrors = new Counter({
    name: 'medallion_metrics_scrape_errors_total',
    help: 'Parts of a scrape that could not be read (runlog, status, gold, freshness, kafka); the rest is served.',
    labelNames: ['part'] as const,
    registers,
  });

  const storage: Storage = new LocalStorage(project.paths.lake);
  let runLogOffset = 0;
  let lastNewest: number | undefined;
  const lastSuccessSeen = new Map<string, number>();
  // Jobs of this process that hold the warehouse open read-write: while one runs, gold is not
  // attached (a second instance on the same file in one process would not be stopped by the lock).
  const holding = new Set<string>();
  const WAREHOUSE_JOBS = new Set(['run.cycle', 'load', 'build', 'test', 'replay', 'quarantine-retry']);
  const stopObserving = addJobObserver({
    onStart: (e) => {
      if (WAREHOUSE_JOBS.has(e.job)) holding.add(e.runId);
    },
    onEnd: (e) => {
      holding.delete(e.runId);
    },
  });

  function countEntry(e: RunLogEntry): void {
    const seconds = num(e.durationMs) / 1000;
    jobRuns.inc({ job: e.job, status: e.status });
    if (e.job === 'run.cycle') batchDuration.observe({ status: e.status }, seconds);
    else jobDuration.observe({ job: e.job, status: e.status }, seconds);
    if (e.status === 'success') {
      const t = Date.parse(e.finishedAt) / 1000;
      const prev = lastSuccessSeen.get(e.job) ?? 0;
      if (Number.isFinite(t) && t > prev) {
        lastSuccessSeen.set(e.job, t);
        lastSuccess.set({ job: e.job }, t);
      }
    }
    if (e.status !== 'success' || !e.counts) return;
    const c = e.counts as Record<string, unknown>;
    const inc = (counter: Counter<string>, labels: Record<string, string>, n: unknown) => {
      if (num(n) > 0) counter.inc(labels, num(n));
    };
    switch (e.job) {
      case 'ingest': {
        const n = (c['events'] as { records?: number } | undefined)?.records;
        inc(recordsIn, { job: e.job, dataset: events }, n);
        inc(recordsOut, { job: e.job, dataset: events, layer: 'bronze' }, n);
        break;
      }
      case 'run.cycle':
        inc(recordsIn, { job: e.job, dataset: events }, c['ingested']);
        inc(recordsOut, { job: e.job, dataset: events, layer: 'bronze' }, c['ingested']);
        break;
      case 'refine':
        inc(recordsIn, { job: e.job, dataset: events }, c['records']);
        for (const layer of ['silver', 'quarantine', 'duplicates'])
          inc(recordsOut, { job: e.job, dataset: events, layer }, c[layer]);
        break;
      case 'load':
        for (const [dataset, d] of Object.entries((c['datasets'] ?? {}) as Record<string, { rows?: number }>)) {
          inc(recordsIn, { job: e.job, dataset }, d.rows);
          inc(recordsOut, { job: e.job, dataset, layer: 'warehouse' }, d.rows);
        }
        break;
    }
  }

  async function readRunLog(): Promise<void> {
    const tail = await readRunsFrom(project.paths, runLogOffset);
    runLogOffset = tail.next;
    for (const e of tail.entries) countEntry(e);
  }

  async function readLake(): Promise<void> {
    const engine = await openDuckDb(':memory:', { memoryLimit: '512MB' });
    try {
      const s = await readStatus(project, storage, engine);
      layerRows.reset();
      quarantined.reset();
      duplicates.reset();
      late.reset();
      for (const [dataset, d] of Object.entries(s.datasets)) {
        layerRows.set({ layer: 'bronze', dataset }, d.bronze);
        layerRows.set({ layer: 'silver', dataset }, d.silver);
        if (d.kind !== 'events') continue;
        layerRows.set({ layer: 'quarantine', dataset }, d.quarantine ?? 0);
        layerRows.set({ layer: 'duplicates', dataset }, d.duplicates ?? 0);
        duplicates.set({ dataset }, d.duplicates ?? 0);
        late.set({ dataset }, d.late ?? 0);
        for (const [rule, n] of Object.entries(d.quarantineByRule ?? {})) quarantined.set({ dataset, rule }, n);
      }
      goldModels.set(s.gold.models);
      for (const status of ['pass', 'warn', 'fail'] as const) goldTests.set({ status }, s.gold.tests[status]);
    } finally {
      await engine.close();
    }
  }

  async function readGoldNodes(): Promise<void> {
    let parsed: RunResultsFile;
    try {
      parsed = JSON.parse(await readFile(join(project.paths.goldTarget, 'run_results.json'), 'utf8')) as RunResultsFile;
    } catch {
      nodeSeconds.reset();
      return;
    }
    nodeSeconds.reset();
    for (const r of parsed.results ?? []) {
      const [type = 'node', , ...rest] = r.unique_id.split('.');
      nodeSeconds.set(
        { node: rest.join('.') || r.unique_id, resource_type: type, status: r.status },
        num(r.execution_time),
      );
    }
  }

  async function readFreshness(): Promise<void> {
    if (holding.size === 0 && existsSync(project.paths.warehouse)) {
      const engine = await openDuckDb(':memory:');
      try {
        await engine.exec(`ATTACH ${quoteLiteral(project.paths.warehouse)} AS wh (READ_ONLY)`);
        const rows = await engine.all<{ t: number | null }>(
          'SELECT epoch(max(last_event_time))::DOUBLE AS t FROM wh.gold.fact_event_metrics',
        );
        lastNewest = rows[0]?.t ?? undefined;
      } catch {
        // The warehouse is held by a build (or gold is not built yet): keep the last value read.
      } finally {
        await engine.close();
      }
    }
    if (lastNewest === undefined) {
      newestEvent.reset();
      freshness.reset();
      return;
    }
    newestEvent.set(lastNewest);
    freshness.set(Math.max(0, Date.now() / 1000 - lastNewest));
  }

  async function readLag(): Promise<void> {
    lag.reset();
    endOffset.reset();
    bronzeOffset.reset();
    if (!options.brokers) return;
    const { endOffsets, parseBrokers } = await import('../sources/kafka/index.ts');
    const topic = project.config.events.kafka.topic;
    const ends = await endOffsets(parseBrokers(options.brokers), topic);
    const next = new Map<number, number>();
    for (const f of await storage.list(`bronze/${events}`)) {
      const parsed = parseBronzeFileName(basename(f.key));
      if (!parsed) continue;
      const m = /^(.*):(\d+)$/.exec(parsed.stream);
      if (!m || m[1] !== topic) continue;
      const p = Number(m[2]);
      next.set(p, Math.max(next.get(p) ?? 0, parsed.lastOffset + 1));
    }
    for (const [partition, end] of ends) {
      const labels = { topic, partition: String(partition) };
      const held = next.get(partition) ?? 0;
      endOffset.set(labels, end);
      bronzeOffset.set(labels, held);
      lag.set(labels, Math.max(0, end - held));
    }
  }

  async function collect(): Promise<string> {
    const parts: [string, () => Promise<void>][] = [
      ['runlog', readRunLog],
      ['status', readLake],
      ['gold', readGoldNodes],
      ['freshness', readFreshness],
      ['kafka', readLag],
    ];
    for (const [part, read] of parts) {
      try {
        await read();
      } catch (err) {
        scrapeErrors.inc({ part });
        log.warn({ event: 'metrics.scrape.failed', part, err: (err as Error).message }, `metrics: ${part} unreadable`);
      }
    }
    return registry.metrics();
  }

  let inFlight: Promise<string> | undefined;
  return {
    contentType: registry.contentType,
    render() {
      inFlight ??= collect().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
    close() {
      stopObserving();
    },
  };
}
