import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { PipelineProject } from '../config/project.ts';
import { MedallionError } from '../core/errors.ts';
import { writeAtomic } from '../core/fs-atomic.ts';
import type { EncodedLines, EventSink, SinkRecord } from './event-sink.ts';

/** Most lines in one landing file. */
export const MAX_LINES_PER_FILE = 100_000;

/** Options of a landing sink. */
export interface LandingSinkOptions {
  /** The run's seed, part of the file names (default `simulate.seed`). */
  readonly seed?: number;
  /** The run's start time, part of the file names (default now). */
  readonly now?: Date;
  /** Most lines per file (default 100,000). */
  readonly maxLinesPerFile?: number;
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace('.', '');
}

/**
 * Writes simulated records to the landing directory that stands in for Kafka:
 * `<landing>/<dataset>/events-<UTC yyyymmddThhmmssSSSZ>-s<seed>-<part>.jsonl`, at most
 * `maxLinesPerFile` lines each, every line ending in `\n`. Each file is written under a temporary
 * `.tmp` name, flushed and renamed when complete, so a reader never sees part of a file. One file
 * is written while the next fills. `close()` writes the last, partial file and must be awaited.
 */
export class LandingSink implements EventSink {
  readonly partitions = 1;
  /** The folder the files go to. */
  readonly dir: string;
  readonly #prefix: string;
  readonly #maxLines: number;
  #chunks: Uint8Array[] = [];
  #lines = 0;
  #part = 0;
  #pending: Promise<void> = Promise.resolve();
  #files: string[] = [];
  #closed = false;

  constructor(project: PipelineProject, options: LandingSinkOptions = {}) {
    this.dir = join(project.paths.landing, project.config.events.dataset);
    const seed = options.seed ?? project.config.simulate.seed;
    this.#prefix = `events-${stamp(options.now ?? new Date())}-s${seed}-`;
    this.#maxLines = options.maxLinesPerFile ?? MAX_LINES_PER_FILE;
  }

  /** Paths of the files completed so far, in order. */
  get files(): readonly string[] {
    return this.#files;
  }

  async write(records: readonly SinkRecord[]): Promise<void> {
    this.#checkOpen();
    let i = 0;
    while (i < records.length) {
      const take = Math.min(this.#maxLines - this.#lines, records.length - i);
      let text = '';
      for (let k = i; k < i + take; k++) text += `${records[k]!.value}\n`;
      await this.#add(Buffer.from(text, 'utf8'), take);
      i += take;
    }
  }

  async writeEncoded(lines: EncodedLines): Promise<void> {
    this.#checkOpen();
    let i = 0;
    while (i < lines.count) {
      const take = Math.min(this.#maxLines - this.#lines, lines.count - i);
      const start = i === 0 ? 0 : lines.ends[i - 1]!;
      await this.#add(lines.bytes.subarray(start, lines.ends[i + take - 1]!), take);
      i += take;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#lines > 0) await this.#rotate();
    await this.#pending;
  }

  #checkOpen(): void {
    if (this.#closed) throw new MedallionError('MDL_INTERNAL', 'LandingSink used after close.');
  }

  async #add(bytes: Uint8Array, lines: number): Promise<void> {
    this.#chunks.push(bytes);
    this.#lines += lines;
    if (this.#lines >= this.#maxLines) await this.#rotate();
  }

  async #rotate(): Promise<void> {
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#lines = 0;
    const path = join(this.dir, `${this.#prefix}${String(this.#part++).padStart(5, '0')}.jsonl`);
    await this.#pending;
    this.#pending = this.#writeFile(path, chunks);
    this.#pending.catch(() => {});
  }

  async #writeFile(path: string, chunks: readonly Uint8Array[]): Promise<void> {
    try {
      await writeAtomic(path, async (tmp) => {
        const fh = await open(tmp, 'w');
        try {
          await fh.writeFile(chunks);
        } finally {
          await fh.close();
        }
      });
    } catch (err) {
      throw new MedallionError('MDL_STORAGE_IO', `Cannot write landing file ${path}.`, {
        hint: 'Check that the data directory is writable and the disk has space.',
        cause: err,
      });
    }
    this.#files.push(path);
  }
}
