/** One record for a sink: the Kafka message key, the line/message text, and its partition. */
export interface SinkRecord {
  /** Message key (the school's DBN). */
  readonly key: string;
  /** The record text: one JSON line, or a deliberately broken one (no trailing newline). */
  readonly value: string;
  /** Watermark stream: the Kafka partition to send to (`partitionForDbn`), 0 for the landing directory. */
  readonly partition: number;
}

/**
 * Records already encoded, for sinks that write bytes (the landing directory): `bytes` holds
 * `count` lines, each UTF-8 and ending in `\n`; line i ends (after its newline) at `ends[i]` and goes
 * to `partitions[i]`. The simulator never reuses the memory, so a sink may keep it.
 */
export interface EncodedLines {
  readonly bytes: Uint8Array;
  readonly ends: Int32Array;
  readonly partitions: Int32Array;
  readonly count: number;
}

/**
 * Where simulated records go: the landing directory (`LandingSink`) or a Kafka topic. `simulate`
 * calls `write` in emission order and never concurrently; it does not call `close` (the caller
 * owns the sink and closes it after `simulate` resolves, also on failure).
 */
export interface EventSink {
  /**
   * Number of watermark streams the sink spreads records over: the topic's partition count for
   * Kafka (records carry `partition = fnv1a32(dbn) % partitions`); absent or 1 for the landing
   * directory, which is one stream.
   */
  readonly partitions?: number;
  /** Sends records in emission order. */
  write(records: readonly SinkRecord[]): Promise<void>;
  /**
   * Optional fast path: when present, `simulate` hands over encoded lines instead of calling
   * `write` (same records, same order, same bytes plus newlines).
   */
  writeEncoded?(lines: EncodedLines): Promise<void>;
  close(): Promise<void>;
}
