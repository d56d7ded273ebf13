import type { PipelineProject } from '../config/project.ts';
import { logger, progress } from '../core/logger.ts';
import { sleep } from '../core/sleep.ts';
import type { SqlSession } from '../engine/duckdb.ts';
import type { Source } from '../sources/source.ts';
import type { Storage } from '../storage/storage.ts';
import { type BronzeFile, BronzeWriter } from './bronze-writer.ts';

/** Counts of one ingest pass. */
export interface IngestResult {
  readonly batches: number;
  readonly records: number;
  readonly files: readonly BronzeFile[];
}

export interface PumpOptions {
  /**
   * `caught-up`: until everything that existed when the source connected is in bronze (`--once`);
   * `idle`: until a poll finds nothing new (one cycle of continuous mode);
   * `forever`: until aborted (continuous `ingest`).
   */
  readonly until: 'caught-up' | 'idle' | 'forever';
  /** Aborting stops after the batch in hand is durable and acknowledged. */
  readonly signal?: AbortSignal;
  /** Pause between empty polls when running forever. */
  readonly idleMs?: number;
}

/**
 * kafka_to_bronze: reads micro-batches from the event source, writes them to bronze, and only then
 * acknowledges them to the source (commits offsets / the landing checkpoint). A crash between the
 * two leaves files whose names record their offsets; at the next start those offsets are handed to
 * the source as durable, so nothing is written twice.
 */
export class IngestSession {
  readonly #project: PipelineProject;
  readonly #source: Source;
  readonly #writer: BronzeWriter;
  readonly #log;
  #totalRecords = 0;
  #totalBatches = 0;

  private constructor(project: PipelineProject, source: Source, writer: BronzeWriter) {
    this.#project = project;
    this.#source = source;
    this.#writer = writer;
    this.#log = logger.child({ component: 'ingest', dataset: project.config.events.dataset, source: source.kind });
  }

  /** Connects the source, resuming after what bronze already holds. */
  static async open(
    project: PipelineProject,
    source: Source,
    storage: Storage,
    engine: SqlSession,
  ): Promise<IngestSession> {
    const writer = new BronzeWriter(storage, project.config.events.dataset, engine);
    const durable = await writer.durableOffsets();
    await source.connect(async (stream) => durable.get(stream));
    return new IngestSession(project, source, writer);
  }

  /** Moves batches from the source to bronze until the condition of `options.until`. */
  async pump(options: PumpOptions): Promise<IngestResult> {
    const files: BronzeFile[] = [];
    let batches = 0;
    let records = 0;
    while (!options.signal?.aborted) {
      const batch = await this.#source.readBatch(this.#project.config.events.batch);
      if (!batch) {
        if (options.until === 'idle') break;
        if (options.until === 'caught-up' && this.#source.caughtUp()) break;
        if (options.until === 'forever') await sleep(options.idleMs ?? 500, options.signal);
        continue;
      }
      const written = await this.#writer.write(batch);
      await this.#source.acknowledge(batch);
      files.push(...written);
      batches++;
      records += batch.recordCount;
      this.#totalBatches++;
      this.#totalRecords += batch.recordCount;
      this.#log.debug({ records: batch.recordCount, files: written.length }, 'batch durable');
      progress(
        `ingest: batch ${this.#totalBatches}: ${batch.recordCount.toLocaleString('en-US')} records → ${written.length} bronze file(s) (${this.#totalRecords.toLocaleString('en-US')} so far)`,
      );
    }
    return { batches, records, files };
  }

  async close(): Promise<void> {
    await this.#source.close();
  }
}
