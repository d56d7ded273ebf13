import { randomUUID } from 'node:crypto';
import type { AppendColumn, SqlSession } from '../engine/duckdb.ts';
import { quoteLiteral } from '../engine/duckdb.ts';
import type { SourceBatch, StreamSlice } from '../sources/source.ts';
import type { Storage } from '../storage/storage.ts';

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

/**
 * Writes event batches to bronze: one zstd Parquet file per stream slice, partitioned by ingest date
 * and hour, each value exactly as received. Files are published atomically (temporary name, flush,
 * rename); the caller acknowledges the source only after `write` returns.
 */
export class BronzeWriter {
  readonly #storage: Storage;
  readonly #dataset: string;
  readonly #engine: SqlSession;

  constructor(storage: Storage, dataset: string, engine: SqlSession) {
    this.#storage = storage;
    this.#dataset = dataset;
    this.#engine = engine;
  }

  /** Per stream, the last offset already durable in bronze (read from file names). */
  async durableOffsets(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const f of await this.#storage.list(`bronze/${this.#dataset}`)) {
      const parsed = parseBronzeFileName(f.key.slice(f.key.lastIndexOf('/') + 1));
      if (parsed && parsed.lastOffset > (out.get(parsed.stream) ?? -1)) out.set(parsed.stream, parsed.lastOffset);
    }
    return out;
  }

  /** Writes every slice of the batch; returns the files, durable on return. */
  async write(batch: SourceBatch, ingestedAt: Date = new Date()): Promise<BronzeFile[]> {
    const batchId = randomUUID();
    const files: BronzeFile[] = [];
    for (const slice of batch.slices) files.push(await this.#writeSlice(slice, ingestedAt, batchId));
    return files;
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
    await this.#engine.append(
      table,
      columns,
      isKafka
        ? slice.records.map((r) => [
            r.value,
            r.valueBytes ?? null,
            r.kafka!.offset,
            r.key ?? null,
            r.timestampMs ?? null,
            r.headers ?? null,
          ])
        : slice.records.map((r) => [r.value, r.valueBytes ?? null, r.file!.line]),
    );
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
                FROM ${table} ORDER BY stream_offset)
           TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION zstd)`,
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
