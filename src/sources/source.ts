/**
 * The `Source` contract shared by every way events reach bronze (Kafka, landing files).
 * A source hands out batches in position order, and forgets nothing until a batch is acknowledged:
 * bronze acknowledges only after the batch's files are durable, which is what makes ingestion
 * exactly-once.
 */

/** Where a record came from: a Kafka (topic, partition, offset) or a landing (file, line). */
export interface SourcePosition {
  /** Stream the record belongs to: a Kafka partition (`topic:partition`) or a landing file. */
  readonly stream: string;
  /** Monotonic position within the stream: Kafka offset or 1-based line number. */
  readonly offset: number;
}

/** One record exactly as received. */
export interface SourceRecord {
  readonly position: SourcePosition;
  /** The value as text when it is valid UTF-8, else null (see `valueBytes`). */
  readonly value: string | null;
  /** The raw bytes, present only when the value is not valid UTF-8 text. */
  readonly valueBytes?: Uint8Array | null;
  readonly key?: string | null;
  /** Kafka message timestamp (ms since epoch), when there is one. */
  readonly timestampMs?: number | null;
  /** Kafka headers as a JSON object text, when there are any. */
  readonly headers?: string | null;
  /** Kafka coordinates, for Kafka sources. */
  readonly kafka?: { readonly topic: string; readonly partition: number; readonly offset: number } | null;
  /** Landing coordinates, for landing sources. */
  readonly file?: { readonly name: string; readonly line: number } | null;
}

/** A contiguous run of records of one stream. */
export interface StreamSlice {
  readonly stream: string;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly records: readonly SourceRecord[];
}

/** A micro-batch: one slice per stream that had records. */
export interface SourceBatch {
  readonly slices: readonly StreamSlice[];
  readonly recordCount: number;
  readonly byteCount: number;
}

/** Limits of one micro-batch. */
export interface BatchLimits {
  readonly maxRecords: number;
  readonly maxBytes: number;
  readonly maxWaitMs: number;
}

export interface Source {
  /** Short kind name: `kafka`, `landing`. */
  readonly kind: string;
  /**
   * True when the next `readBatch` may start before the previous batch is acknowledged (positions
   * advance on read, not on acknowledge): the ingester then reads one batch ahead while it writes
   * the previous one. At most one batch is read ahead, so memory stays bounded by two batches.
   */
  readonly readAhead?: boolean;
  /**
   * Forgets a batch that was read ahead and will not be written: its streams are read again from
   * the batch's first positions. Required of sources with `readAhead`.
   */
  rewind?(batch: SourceBatch): void;
  /**
   * Connects and positions the source. `resume` returns, per stream, the last offset already
   * durable in bronze; the source starts after the later of that and its own committed position.
   */
  connect(resume: (stream: string) => Promise<number | undefined>): Promise<void>;
  /** Reads the next batch, or null when nothing is available now (after waiting up to maxWaitMs). */
  readBatch(limits: BatchLimits): Promise<SourceBatch | null>;
  /** Records that a batch is durable downstream: commits offsets / checkpoints. */
  acknowledge(batch: SourceBatch): Promise<void>;
  /** True when everything that existed when the source connected has been read (for `--once`). */
  caughtUp(): boolean;
  close(): Promise<void>;
}
