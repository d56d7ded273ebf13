import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppendColumn, SqlSession } from '../engine/duckdb.ts';
import { quoteLiteral } from '../engine/duckdb.ts';
import type { SourceBatch, StreamSlice } from '../sources/source.ts';
import type { Storage } from '../storage/storage.ts';
import { acquireStreamLock } from './stream-lock.ts';

/** One bronze Parquet file written for one stream slice. */
export interface BronzeFile {
  readonly key: string;
  readonly stream: string;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly rows: number;
}

const OFFSET_DIGITS = 15;
const FILE_NAME = /^(?<stream>[^+]+)\+(?<first>\d+)-(?<last>\d+)\.parquet$/;

/**
 * The deterministic name of the bronze file of a slice: stream, first and last offset. A batch
 * replayed after a crash produces the same name (Kafka Connect's S3 sink names files the same way),
 * and the offsets in the names tell a restarting ingester what is already durable.
 */
export function bronzeFileName(stream: string, firstOffset: number, lastOffset: number): string {
  const pad = (n: number) => String(n).padStart(OFFSET_DIGITS, '0');
  return `${encodeURIComponent(stream).replaceAll('+', '%2B')}+${pad(firstOffset)}-${pad(lastOffset)}.parquet`;
}

/** Parses a bronze file name back into its stream and offsets (undefined for other files). */
export function parseBronzeFileName(
  name: string,
): { stream: string; firstOffset: number; lastOffset: number } | undefined {
  const m = FILE_NAME.exec(name);
  if (!m?.groups) return undefined;
  return {
    stream: decodeURIComponent(m.groups['stream']!),
    firstOffset: Number(m.groups['first']),
    lastOffset: Number(m.groups['last']),
  };
}

/** Offsets of one stream held by bronze files: sorted, disjoint, inclusive ranges. */
export type Coverage = readonly (readonly [number, number])[];

/** Adds a range to a coverage, merging neighbours (ranges that touch or overlap). */
export function addRange(coverage: Coverage, first: number, last: number): Coverage {
  const out: [number, number][] = [];
  let a = first;
  let b = last;
  let placed = false;
  for (const [x, y] of coverage) {
    if (y + 1 < a) out.push([x, y]);
    else if (x > b + 1) {
      if (!placed) {
        out.push([a, b]);
        placed = true;
      }
      out.push([x, y]);
    } else {
      a = Math.min(a, x);
      b = Math.max(b, y);
    }
  }
  if (!placed) out.push([a, b]);
  return out;
}

/**
 * Splits a slice into the runs of its records that no range of `coverage` holds (each run keeps
 * the slice's order). Records already in bronze are dropped, whoever wrote them.
 */
export function uncoveredRuns(slice: StreamSlice, coverage: Coverage): StreamSlice[] {
  const runs: StreamSlice[] = [];
  let current: StreamSlice['records'][number][] = [];
  let i = 0;
  const flush = () => {
    if (current.length === 0) return;
    runs.push({
      stream: slice.stream,
      firstOffset: current[0]!.position.offset,
      lastOffset: current[current.length - 1]!.position.offset,
      records: current,
    });
    current = [];
  };
  for (const r of slice.records) {
    const o = r.position.offset;
    while (i < coverage.length && coverage[i]![1] < o) i++;
    if (i < coverage.length && coverage[i]![0] <= o) flush();
    else current.push(r);
  }
  flush();
  if (runs.length === 1 && runs[0]!.records.length === slice.records.length) return [slice];
  return runs;
}

interface StreamState {
  /** The stream's change token when `coverage` was read under the stream's lock; undefined: read again. */
  readonly token: string | undefined;
  readonly coverage: Coverage;
}

/** Options of `BronzeWriter`. */
export interface BronzeWriterOptions {
  /** Folder for the per-stream change tokens (and lock files where abstract sockets do not exist). */
  readonly stateDir?: string;
}

/**
 * Writes event batches to bronze: one zstd Parquet file per stream slice, partitioned by ingest date
 * and hour, each value exactly as received. Files are published atomically (temporary name, flush,
 * rename); the caller acknowledges the source only after `write` returns.
 *
 * Exactly once whatever the other writers do: a slice is written under its stream's lock (one
 * process of the host at a time, released by the kernel if the holder dies) and only for the
 * offsets no bronze file holds yet, read under that lock. Two ingesters that both believe they own a
 * partition (a zombie member that lost it in a rebalance and the new owner) therefore write
 * disjoint files: whichever comes second drops what the first wrote. Reading the whole dataset
 * listing on every write would be slow, so each stream has a change token (a small file rewritten
 * under the lock before each publish): when it still holds the value this writer saw, no one else
 * wrote the stream and the coverage kept in memory is current.
 */
export class BronzeWriter {
  readonly #storage: Storage;
  readonly #dataset: string;
  readonly #engine: SqlSession;
  readonly #stateDir: string;
  readonly #lockPrefix: string;
  #streams = new Map<string, StreamState>();
  #listing: { at: number; coverage: Map<string, Coverage> } | undefined;

  constructor(storage: Storage, dataset: string, engine: SqlSession, options: BronzeWriterOptions = {}) {
    this.#storage = storage;
    this.#dataset = dataset;
    this.#engine = engine;
    const identity = storage.uri(`bronze/${dataset}`);
    this.#lockPrefix = `${identity}\n`;
    this.#stateDir =
      options.stateDir ??
      join(tmpdir(), 'medallion-bronze-state', createHash('sha256').update(identity).digest('hex').slice(0, 16));
  }

  /** Per stream, the offsets held by bronze files, read from file names. */
  async coverage(): Promise<Map<string, Coverage>> {
    const out = new Map<string, Coverage>();
    for (const f of await this.#storage.list(`bronze/${this.#dataset}`)) {
      const parsed = parseBronzeFileName(f.key.slice(f.key.lastIndexOf('/') + 1));
      if (parsed) out.set(parsed.stream, addRange(out.get(parsed.stream) ?? [], parsed.firstOffset, parsed.lastOffset));
    }
    this.#listing = { at: Date.now(), coverage: out };
    return out;
  }

  /** Per stream, the last offset already durable in bronze (read from file names). */
  async durableOffsets(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [stream, c] of await this.coverage()) if (c.length > 0) out.set(stream, c[c.length - 1]![1]);
    return out;
  }

  /**
   * The last offset of `stream` durable in bronze now, as the source's `resume` wants it: read from
   * the files (a listing at most `maxAgeMs` old), so that a partition gained in a rebalance starts
   * after what its previous owner wrote. Only a starting point: `write` drops anything already held.
   */
  async lastDurable(stream: string, maxAgeMs = 1000): Promise<number | undefined> {
    const listing =
      this.#listing && Date.now() - this.#listing.at <= maxAgeMs ? this.#listing.coverage : await this.coverage();
    const c = listing.get(stream);
    return c && c.length > 0 ? c[c.length - 1]![1] : undefined;
  }

  /** Writes every slice of the batch (what bronze does not hold yet); returns the files, durable on return. */
  async write(batch: SourceBatch, ingestedAt: Date = new Date()): Promise<BronzeFile[]> {
    const batchId = randomUUID();
    const files: BronzeFile[] = [];
    for (const slice of batch.slices) files.push(...(await this.#writeStreamSlice(slice, ingestedAt, batchId)));
    return files;
  }

  #tokenPath(stream: string): string {
    return join(this.#stateDir, 'bronze-streams', this.#dataset, `${encodeURIComponent(stream)}.token`);
  }

  async #writeStreamSlice(slice: StreamSlice, ingestedAt: Date, batchId: string): Promise<BronzeFile[]> {
    if (slice.records.length === 0) return [];
    const tokenPath = this.#tokenPath(slice.stream);
    await mkdir(join(this.#stateDir, 'bronze-streams', this.#dataset), { recursive: true });
    const lock = await acquireStreamLock(`${this.#lockPrefix}${slice.stream}`, join(this.#stateDir, 'bronze-streams'));
    try {
      const token = await readFile(tokenPath, 'utf8').catch(() => '');
      let state = this.#streams.get(slice.stream);
      if (!state || state.token === undefined || state.token !== token) {
        const listed = await this.coverage();
        state = { token, coverage: listed.get(slice.stream) ?? [] };
      }
      const runs = uncoveredRuns(slice, state.coverage);
      if (runs.length === 0) {
        this.#streams.set(slice.stream, state);
        return [];
      }
      // The token changes before anything is published: a reader that saw the old one reads again.
      const next = randomUUID();
      await writeFile(tokenPath, next);
      let coverage = state.coverage;
      const files: BronzeFile[] = [];
      try {
        for (const run of runs) {
          files.push(await this.#writeSlice(run, ingestedAt, batchId));
          coverage = addRange(coverage, run.firstOffset, run.lastOffset);
        }
      } finally {
        this.#streams.set(slice.stream, { token: files.length === runs.length ? next : undefined, coverage });
      }
      return files;
    } finally {
      await lock.release();
    }
  }

  async #writeSlice(slice: StreamSlice, ingestedAt: Date, batchId: string): Promise<BronzeFile> {
    const iso = ingestedAt.toISOString();
    const key = `bronze/${this.#dataset}/ingest_date=${iso.slice(0, 10)}/ingest_hour=${iso.slice(11, 13)}/${bronzeFileName(
      slice.stream,
      slice.firstOffset,
      slice.lastOffset,
    )}`;
    const first = slice.records[0];
    const isKafka = Boolean(first?.kafka);
    const columns: AppendColumn[] = isKafka
      ? [
          { name: 'value', type: 'VARCHAR' },
          { name: 'value_bytes', type: 'BLOB' },
          { name: 'kafka_offset', type: 'BIGINT' },
          { name: 'kafka_key', type: 'VARCHAR' },
          { name: 'kafka_timestamp', type: 'TIMESTAMP_MS' },
          { name: 'kafka_headers', type: 'VARCHAR' },
        ]
      : [
          { name: 'value', type: 'VARCHAR' },
          { name: 'value_bytes', type: 'BLOB' },
          { name: 'source_line', type: 'BIGINT' },
        ];
    const table = `bronze_slice_${batchId.replaceAll('-', '')}`;
    const records = slice.records;
    const n = records.length;
    const value = new Array<string | null>(n);
    const valueBytes = new Array<Uint8Array | null>(n);
    const position = new Array<number>(n);
    const data: unknown[][] = [value, valueBytes, position];
    for (let i = 0; i < n; i++) {
      const r = records[i]!;
      value[i] = r.value;
      valueBytes[i] = r.valueBytes ?? null;
      position[i] = r.position.offset;
    }
    if (isKafka) {
      const key = new Array<string | null>(n);
      const timestamp = new Array<number | null>(n);
      const headers = new Array<string | null>(n);
      for (let i = 0; i < n; i++) {
        const r = records[i]!;
        key[i] = r.key ?? null;
        timestamp[i] = r.timestampMs ?? null;
        headers[i] = r.headers ?? null;
      }
      data.push(key, timestamp, headers);
    }
    await this.#engine.appendColumns(table, columns, data, n);
    const constants = isKafka
      ? `${quoteLiteral(first!.kafka!.topic)} AS kafka_topic, ${first!.kafka!.partition}::INTEGER AS kafka_partition,
         kafka_offset, kafka_key, kafka_timestamp, kafka_headers, NULL::VARCHAR AS source_file, NULL::BIGINT AS source_line,
         kafka_offset AS stream_offset`
      : `NULL::VARCHAR AS kafka_topic, NULL::INTEGER AS kafka_partition, NULL::BIGINT AS kafka_offset, NULL::VARCHAR AS kafka_key,
         NULL::TIMESTAMP AS kafka_timestamp, NULL::VARCHAR AS kafka_headers, ${quoteLiteral(first!.file!.name)} AS source_file,
         source_line, source_line AS stream_offset`;
    try {
      await this.#storage.putAtomic(key, async (tmp) => {
        await this.#engine.exec(
          `COPY (SELECT value, value_bytes, ${constants}, ${quoteLiteral(slice.stream)} AS stream,
                  TIMESTAMP '${iso.replace('T', ' ').replace('Z', '')}' AS ingested_at, ${quoteLiteral(batchId)} AS batch_id
                FROM ${table})
           TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)`,
        );
      });
    } finally {
      await this.#engine.exec(`DROP TABLE IF EXISTS ${table}`);
    }
    return {
      key,
      stream: slice.stream,
      firstOffset: slice.firstOffset,
      lastOffset: slice.lastOffset,
      rows: slice.records.length,
    };
  }
}
