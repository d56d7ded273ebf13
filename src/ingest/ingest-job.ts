import type { PipelineProject } from '../config/project.ts';
import { logger, progress } from '../core/logger.ts';
import type { SqlSession } from '../engine/duckdb.ts';
import type { Source } from '../sources/source.ts';
import type { Storage } from '../storage/storage.ts';
import { type BronzeFile, BronzeWriter } from './bronze-writer.ts';

/** Counts of one ingest run. */
export interface IngestResult {
  readonly batches: number;
  readonly records: number;
  readonly files: readonly BronzeFile[];
}

export interface IngestOptions {
  /** Stop once everything available at start is in bronze (`--once`), instead of running until aborted. */
  readonly once: boolean;
  /** Aborting stops the loop after the batch in hand is durable and acknowledged. */
  readonly signal?: AbortSignal;
  /** Pause between empty polls in continuous mode. */
  readonly idleMs?: number;
  /** Called after each durable batch (metrics, run log). */
  readonly onBatch?: (files: readonly BronzeFile[], records: number) => void;
}

/**
 * kafka_to_bronze: reads micro-batches from the event source, writes them to bronze, and only then
 * acknowledges them to the source (commits offsets / the landing checkpoint). A crash between the
 * two leaves files whose names record their offsets; at the next start those offsets are handed to
 * the source as durable, so nothing is written twice.
 */
export async function runIngest(
  project: PipelineProject,
  source: Source,
  storage: Storage,
  engine: SqlSession,
  options: IngestOptions,
): Promise<IngestResult> {
  const dataset = project.config.events.dataset;
  const writer = new BronzeWriter(storage, dataset, engine);
  const durable = await writer.durableOffsets();
  await source.connect(async (stream) => durable.get(stream));
  const log = logger.child({ component: 'ingest', dataset, source: source.kind });
  const files: BronzeFile[] = [];
  let batches = 0;
  let records = 0;
  try {
    while (!options.signal?.aborted) {
      const batch = await source.readBatch(project.config.events.batch);
      if (!batch) {
        if (options.once && source.caughtUp()) break;
        if (!options.once) await sleep(options.idleMs ?? 500, options.signal);
        continue;
      }
      const written = await writer.write(batch);
      await source.acknowledge(batch);
      files.push(...written);
      batches++;
      records += batch.recordCount;
      options.onBatch?.(written, batch.recordCount);
      log.debug({ batch: batches, records: batch.recordCount, files: written.length }, 'batch durable');
      progress(
        `ingest: batch ${batches}: ${batch.recordCount} records → ${written.length} bronze file(s) (${records} so far)`,
      );
    }
  } finally {
    await source.close();
  }
  return { batches, records, files };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
