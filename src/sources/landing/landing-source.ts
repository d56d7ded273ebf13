import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTextAtomic } from '../../core/fs-atomic.ts';
import type { BatchLimits, Source, SourceBatch, SourceRecord, StreamSlice } from '../source.ts';

/** Files the landing source reads: JSON-lines files, never temporary ones. */
const LANDING_FILE = /^[^.].*\.jsonl$/;

interface Checkpoint {
  /** Per landing file: the last line already durable in bronze. */
  readonly files: Record<string, number>;
}

interface OpenFile {
  readonly name: string;
  /** Complete lines of the file (a trailing line without a newline is not complete yet). */
  readonly lines: Buffer[];
  readonly size: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decode(bytes: Buffer): { value: string | null; valueBytes: Uint8Array | null } {
  try {
    return { value: utf8.decode(bytes), valueBytes: null };
  } catch {
    return { value: null, valueBytes: new Uint8Array(bytes) };
  }
}

function splitCompleteLines(buf: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) break;
    lines.push(buf.subarray(start, nl));
    start = nl + 1;
  }
  return lines;
}

/**
 * The landing-directory source: JSON-lines files dropped into a folder stand in for Kafka.
 * Each file is a stream and its 1-based line numbers are offsets. Only complete lines are read
 * (a line is complete once its newline is written), so a file still being appended to is never
 * read half-way; files written under a temporary name and renamed are picked up whole.
 * The checkpoint (what bronze holds durably) is a small JSON file replaced atomically.
 */
export class LandingSource implements Source {
  readonly kind = 'landing';
  readonly dir: string;
  readonly checkpointPath: string;
  #done = new Map<string, number>();
  #snapshot = new Map<string, number>();
  #current: OpenFile | undefined;
  /** Complete lines of each file as last read, with the size it had then: lets a batch skip finished files unread. */
  #lineCounts = new Map<string, { size: number; lines: number }>();
  readonly #fromBeginning: boolean;

  /**
   * `fromBeginning` ignores the checkpoint and what bronze holds at connect and reads every file
   * from its first line again (bronze drops what it already has: this fills only what is missing).
   */
  constructor(options: { dir: string; checkpointPath: string; fromBeginning?: boolean }) {
    this.dir = options.dir;
    this.checkpointPath = options.checkpointPath;
    this.#fromBeginning = options.fromBeginning ?? false;
  }

  async connect(resume: (stream: string) => Promise<number | undefined>): Promise<void> {
    let checkpoint: Checkpoint = { files: {} };
    try {
      const fh = await open(this.checkpointPath, 'r');
      try {
        checkpoint = JSON.parse(await fh.readFile('utf8')) as Checkpoint;
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.#done = new Map(this.#fromBeginning ? [] : Object.entries(checkpoint.files));
    for (const name of await this.#listFiles()) {
      const durable = this.#fromBeginning ? undefined : await resume(name);
      if (durable !== undefined && durable > (this.#done.get(name) ?? 0)) this.#done.set(name, durable);
      this.#snapshot.set(name, (await this.#readFile(name)).lines.length);
    }
  }

  async #listFiles(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((n) => LANDING_FILE.test(n)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async #readFile(name: string): Promise<OpenFile> {
    const path = join(this.dir, name);
    const size = (await stat(path)).size;
    if (this.#current?.name === name && this.#current.size === size) return this.#current;
    const fh = await open(path, 'r');
    try {
      const buf = await fh.readFile();
      this.#current = { name, lines: splitCompleteLines(buf), size };
      this.#lineCounts.set(name, { size, lines: this.#current.lines.length });
      return this.#current;
    } finally {
      await fh.close();
    }
  }

  async readBatch(limits: BatchLimits): Promise<SourceBatch | null> {
    const slices: StreamSlice[] = [];
    let records = 0;
    let bytes = 0;
    for (const name of await this.#listFiles()) {
      if (records >= limits.maxRecords || bytes >= limits.maxBytes) break;
      // A file read before, unchanged since and consumed to its last complete line: nothing to read.
      const known = this.#lineCounts.get(name);
      if (known && (this.#done.get(name) ?? 0) >= known.lines && (await stat(join(this.dir, name))).size === known.size)
        continue;
      const file = await this.#readFile(name);
      const from = (this.#done.get(name) ?? 0) + 1;
      if (from > file.lines.length) continue;
      const out: SourceRecord[] = [];
      let line = from;
      for (; line <= file.lines.length && records < limits.maxRecords && bytes < limits.maxBytes; line++) {
        const raw = file.lines[line - 1]!;
        const { value, valueBytes } = decode(raw);
        out.push({ position: { stream: name, offset: line }, value, valueBytes, file: { name, line } });
        records++;
        bytes += raw.length;
      }
      slices.push({ stream: name, firstOffset: from, lastOffset: line - 1, records: out });
    }
    return records === 0 ? null : { slices, recordCount: records, byteCount: bytes };
  }

  async acknowledge(batch: SourceBatch): Promise<void> {
    for (const s of batch.slices) this.#done.set(s.stream, Math.max(this.#done.get(s.stream) ?? 0, s.lastOffset));
    const files: Record<string, number> = {};
    for (const [k, v] of [...this.#done.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) files[k] = v;
    await writeTextAtomic(this.checkpointPath, `${JSON.stringify({ files } satisfies Checkpoint, null, 1)}\n`);
  }

  caughtUp(): boolean {
    for (const [name, lines] of this.#snapshot) if ((this.#done.get(name) ?? 0) < lines) return false;
    return true;
  }

  async close(): Promise<void> {
    this.#current = undefined;
  }
}
