import type { PipelineProject } from '../config/project.ts';
import { asMedallionError } from '../core/errors.ts';
import { logger, progress } from '../core/logger.ts';
import { sleep } from '../core/sleep.ts';
import type { SqlSession } from '../engine/duckdb.ts';
import type { Source, SourceBatch } from '../sources/source.ts';
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
  /**
   * With `idle`: also stop after a batch that did not fill the batch limits (the source had nothing
   * more at that moment) or once this many milliseconds have passed since the pump started, so that
   * a source that is never idle still yields micro-batches.
   */
  readonly maxMs?: number;
}

/** Options of `IngestSession.open`. */
export interface IngestSessionOptions {
  /**
   * Makes a fresh source: when given, a retriable source failure in continuous mode (`forever` or `idle`: broker
   * restarted or unreachable) closes the source and connects a new one, with backoff, instead of
   * failing. Connecting at open is retried the same way.
   */
  readonly reconnect?: () => Promise<Source>;
  /** Connect attempts before giving up (default: unbounded while `signal` is not aborted). */
  readonly connectAttempts?: number;
  readonly signal?: AbortSignal;
}

const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/**
 * Connects a source, retrying retriable failures (broker unreachable) with exponential backoff:
 * each failed attempt is reported with its cause and the wait before the next.
 */
export async function connectWithRetry(
  makeSource: () => Promise<Source>,
  resume: (stream: string) => Promise<number | undefined>,
  options: { attempts?: number; signal?: AbortSignal } = {},
): Promise<Source> {
  let wait = BACKOFF_START_MS;
  for (let attempt = 1; ; attempt++) {
    let source: Source | undefined;
    try {
      source = await makeSource();
      await source.connect(resume);
      return source;
    } catch (err) {
      await source?.close().catch(() => {});
      const e = asMedallionError(err);
      const last = options.attempts !== undefined && attempt >= options.attempts;
      if (!e.retriable || last || options.signal?.aborted) throw e;
      progress(`ingest: ${e.toUserLine()} Retrying in ${(wait / 1000).toFixed(1)} s (attempt ${attempt + 1}).`);
      await sleep(wait, options.signal);
      if (options.signal?.aborted) throw e;
      wait = Math.min(BACKOFF_MAX_MS, wait * 2);
    }
  }
}

/**
 * kafka_to_bronze: reads micro-batches from the event source, writes them to bronze, and only then
 * acknowledges them to the source (commits offsets / the landing checkpoint). The source is
 * positioned after what bronze holds, read from bronze each time a stream is (re)assigned; the
 * writer drops whatever bronze already holds, so a batch read again after a crash, a rebalance or
 * a replay from the log start is never written twice.
 */
export class IngestSession {
  readonly #project: PipelineProject;
  #source: Source;
  readonly #writer: BronzeWriter;
  readonly #options: IngestSessionOptions;
  readonly #log;
  #totalRecords = 0;
  #totalBatches = 0;

  private constructor(project: PipelineProject, source: Source, writer: BronzeWriter, options: IngestSessionOptions) {
    this.#project = project;
    this.#source = source;
    this.#writer = writer;
    this.#options = options;
    this.#log = logger.child({ component: 'ingest', dataset: project.config.events.dataset, source: source.kind });
  }

  /**
   * Connects the source, resuming after what bronze already holds. `source` may be a factory: it is
   * then called again for each retried connect attempt (see `IngestSessionOptions.reconnect`).
   */
  static async open(
    project: PipelineProject,
    source: Source | (() => Promise<Source>),
    storage: Storage,
    engine: SqlSession,
    options: IngestSessionOptions = {},
  ): Promise<IngestSession> {
    const writer = new BronzeWriter(storage, project.config.events.dataset, engine, { stateDir: project.paths.state });
    const resume = (stream: string) => writer.lastDurable(stream);
    let connected: Source;
    if (typeof source === 'function')
      connected = await connectWithRetry(source, resume, { attempts: options.connectAttempts, signal: options.signal });
    else {
      await source.connect(resume);
      connected = source;
    }
    return new IngestSession(project, connected, writer, options);
  }

  /** The source in use (a new one after a reconnect). */
  get source(): Source {
    return this.#source;
  }

  /**
   * Moves batches from the source to bronze until the condition of `options.until`. A source that
   * allows it (`readAhead`) reads the next batch while the current one is written: one batch
   * ahead at most, so a slow disk slows the reading down instead of letting batches pile up.
   */
  async pump(options: PumpOptions): Promise<IngestResult> {
    const files: BronzeFile[] = [];
    let batches = 0;
    let records = 0;
    let ahead: Promise<SourceBatch | null> | undefined;
    const started = performance.now();
    const limits = this.#project.config.events.batch;
    const read = () => {
      const p = this.#source.readBatch(limits);
      p.catch(() => {});
      return p;
    };
    try {
      while (!options.signal?.aborted) {
        let batch: SourceBatch | null;
        let written: BronzeFile[];
        let last = false;
        try {
          batch = await (ahead ?? read());
          ahead = undefined;
          if (!batch) {
            if (options.until === 'idle') break;
            if (options.until === 'caught-up' && this.#source.caughtUp()) break;
            if (options.until === 'forever') await sleep(options.idleMs ?? 500, options.signal);
            continue;
          }
          last =
            options.until === 'idle' &&
            options.maxMs !== undefined &&
            ((batch.recordCount < limits.maxRecords && batch.byteCount < limits.maxBytes) ||
              performance.now() - started >= options.maxMs);
          if (this.#source.readAhead && !options.signal?.aborted && !last) ahead = read();
          written = await this.#writer.write(batch);
          await this.#source.acknowledge(batch);
        } catch (err) {
          if (ahead) await ahead.catch(() => {});
          ahead = undefined;
          const e = asMedallionError(err);
          if (!this.#options.reconnect || options.until === 'caught-up' || !e.retriable) throw e;
          await this.#reconnect(e.toUserLine(), options.signal);
          continue;
        }
        files.push(...written);
        batches++;
        records += batch.recordCount;
        this.#totalBatches++;
        this.#totalRecords += batch.recordCount;
        this.#log.debug(
          { event: 'ingest.batch.committed', records: batch.recordCount, files: written.length },
          'batch durable',
        );
        progress(
          `ingest: batch ${this.#totalBatches}: ${batch.recordCount.toLocaleString('en-US')} records → ${written.length} bronze file(s) (${this.#totalRecords.toLocaleString('en-US')} so far)`,
        );
        if (last) break;
      }
    } finally {
      // A batch read ahead and not written is handed back: the source reads those streams again.
      if (ahead) {
        const dropped = await ahead.catch(() => null);
        if (dropped) this.#source.rewind?.(dropped);
      }
    }
    return { batches, records, files };
  }

  async #reconnect(cause: string, signal: AbortSignal | undefined): Promise<void> {
    progress(`ingest: source failed (${cause}); reconnecting`);
    this.#log.warn({ event: 'ingest.source.reconnecting', err: cause }, 'source failed; reconnecting');
    await this.#source.close().catch(() => {});
    await sleep(BACKOFF_START_MS, signal);
    if (signal?.aborted) return;
    try {
      this.#source = await connectWithRetry(this.#options.reconnect!, (s) => this.#writer.lastDurable(s), {
        signal,
      });
    } catch (err) {
      if (!signal?.aborted) throw err;
    }
  }

  async close(): Promise<void> {
    await this.#source.close();
  }
}
