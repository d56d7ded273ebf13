import {
  Consumer,
  type ConsumerGroupJoinPayload,
  FetchIsolationLevels,
  type KafkaRecord,
  ListOffsetTimestamps,
} from '@platformatic/kafka';
import { asMedallionError, MedallionError } from '../../core/errors.ts';
import { logger, progress } from '../../core/logger.ts';
import type { BatchLimits, Source, SourceBatch, SourceRecord, StreamSlice } from '../source.ts';
import { missingTopic, noSuchTopic } from './kafka-admin.ts';
import {
  CONNECT_DEADLINE_MS,
  clientOptions,
  kafkaError,
  protocolErrorNames,
  unreachable,
  withDeadline,
} from './kafka-errors.ts';

/** Options of `KafkaSource`. */
export interface KafkaSourceOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly groupId: string;
  readonly clientId: string;
  /** Group session timeout: how long the group waits for a silent member (default 30 s). */
  readonly sessionTimeoutMs?: number;
  /**
   * Where each partition starts the first time this source is given it: `bronze` (default) right
   * after what bronze holds; `beginning` at the log start; `{ timestampMs }` at the first offset
   * whose timestamp is at or after it (the log end when none is). Later assignments (rebalances)
   * always start from bronze. Whatever the start, bronze never receives an offset twice: the
   * writer drops what bronze already holds, so the other two re-read and fill only what is missing.
   */
  readonly startFrom?: KafkaStartFrom;
}

/** See `KafkaSourceOptions.startFrom`. */
export type KafkaStartFrom = 'bronze' | 'beginning' | { readonly timestampMs: number };

type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;
type ResumeFn = (stream: string) => Promise<number | undefined>;

/** What the source knows of one partition it owns. */
interface PartitionState {
  readonly partition: number;
  readonly stream: string;
  /** Changes each time ownership is gained: slices read under an older token are not committed. */
  readonly token: number;
  /** Next offset to ask Kafka for. */
  fetchOffset: bigint;
  /** Records fetched and not yet handed out, in offset order, from `head` on. */
  buffer: SizedRecord[];
  head: number;
  /** Offset last committed by this source (the next offset to read), -1 when none. */
  committed: bigint;
}

// Kafka record batch attributes (Kafka protocol, "Record Batch" of the message format): bit 3 is
// the timestamp type (set: LogAppendTime, the batch's maxTimestamp applies to every record) and
// bit 5 marks a control batch (transaction markers), which occupies offsets but carries no data.
const LOG_APPEND_TIME = 0x08;
const CONTROL_BATCH = 0x20;

const SESSION_TIMEOUT_MS = 30_000;
const HEARTBEAT_INTERVAL_MS = 3_000;
/** Longest a single fetch request waits at the broker; readBatch loops for longer waits. */
const MAX_FETCH_WAIT_MS = 5_000;
/** Fetch sizes: at least enough for one typical batch, at most what one readBatch may hold. */
const MIN_FETCH_BYTES = 64 * 1024;
const MAX_FETCH_BYTES = 16 * 1024 * 1024;
const CLOSE_DEADLINE_MS = 10_000;

const REJOIN_ERRORS = new Set([
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'REBALANCE_IN_PROGRESS',
  'FENCED_INSTANCE_ID',
]);

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossyUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });

function headersJson(headers: KafkaRecord['headers']): string | null {
  if (headers.length === 0) return null;
  const out: Record<string, string | null | (string | null)[]> = Object.create(null);
  for (const [k, v] of headers) {
    const key = k ? lossyUtf8.decode(k) : '';
    const value = v ? lossyUtf8.decode(v) : null;
    if (!Object.hasOwn(out, key)) out[key] = value;
    else {
      const prev = out[key]!;
      out[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
    }
  }
  return JSON.stringify(out);
}

/** A record as the source buffers it: with the byte size of its value, counted against `maxBytes`. */
type SizedRecord = SourceRecord & { readonly size: number };

/**
 * `offset` and `timestampMs` are plain numbers computed once per record batch (offsets and epoch
 * milliseconds stay far below 2^53), to spare the per-record BigInt arithmetic.
 */
function toRecord(
  topic: string,
  stream: string,
  partition: number,
  record: KafkaRecord,
  offset: number,
  timestampMs: number,
): SizedRecord {
  let value: string | null = null;
  let valueBytes: Uint8Array | null = null;
  if (record.value) {
    try {
      value = strictUtf8.decode(record.value);
    } catch {
      // A copy: the record's bytes are a view of the whole fetch response.
      valueBytes = new Uint8Array(record.value);
    }
  }
  return {
    position: { stream, offset },
    value,
    valueBytes,
    key: record.key ? lossyUtf8.decode(record.key) : null,
    timestampMs: timestampMs >= 0 ? timestampMs : null,
    headers: headersJson(record.headers),
    kafka: { topic, partition, offset },
    size: record.value ? record.value.length : 0,
  };
}

/** A start position beyond the log's end: bronze or the group remembers a topic that was recreated. */
function pastTheEnd(stream: string, position: bigint, logEnd: bigint): MedallionError {
  return new MedallionError(
    'MDL_KAFKA_PROTOCOL',
    `Position ${position} of ${stream} is past the end of the log (${logEnd}): the topic was probably deleted and recreated.`,
    {
      hint: 'Reset the data directory (or use a new consumer group) to read the new topic from the start.',
      details: { stream, position: Number(position), logEnd: Number(logEnd) },
    },
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reads one Kafka topic as a member of a consumer group (classic group protocol, eager round-robin
 * assignment) and hands out micro-batches with one slice per partition.
 *
 * Delivery: nothing is committed automatically. `acknowledge(batch)` commits, per partition, the
 * offset after the slice's last record, and only for partitions this member has owned without a
 * break since the slice was read. On connect, and whenever a rebalance gives it a partition, the
 * source starts that partition right after what `resume` says bronze already holds (the log start
 * when nothing), so a batch that became durable but was never committed (crash,
 * revoked partition) is not read twice.
 *
 * Memory: fetches happen only inside `readBatch`, only for partitions whose buffer is empty, and
 * ask for at most the batch's remaining byte budget; what one fetch returns beyond `maxRecords`
 * waits in a per-partition buffer for the next batch. Nothing is prefetched in the background.
 *
 * Rebalances (the client rejoins the group by itself when a heartbeat says so):
 * - a partition that leaves the assignment is dropped at once with its buffer, and slices of it
 *   already handed out are not committed by a later `acknowledge` (they stay durable in bronze; the
 *   new owner starts after them through its own `resume`);
 * - when the member lost its membership (session expiry: the group gives it a new member id), every
 *   partition counts as revoked, since another member may have owned it in between;
 * - partitions gained are positioned lazily at the start of the next `readBatch`, so `resume` is
 *   asked after the caller made the previous batch durable.
 * One window remains: the client retries a commit that failed because a rebalance began after
 * rejoining, so an offset of a partition revoked in that instant can still be committed. Such an
 * offset only covers records already durable in bronze; at worst it is lower than the new owner's
 * own commit and makes a later reader skip, through `resume`, what bronze already has.
 */
export class KafkaSource implements Source {
  readonly kind = 'kafka';
  readonly readAhead = true;
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly groupId: string;
  readonly clientId: string;
  readonly #sessionTimeoutMs: number;
  readonly #startFrom: KafkaStartFrom;
  readonly #positionedOnce = new Set<number>();
  readonly #log;
  #consumer: Consumer | undefined;
  #resume: ResumeFn = async () => undefined;
  #memberId: string | null = null;
  #assignmentVersion = 0;
  #owned = new Map<number, PartitionState>();
  #toPosition = new Set<number>();
  #endAtConnect = new Map<number, bigint>();
  #sliceOwner = new WeakMap<StreamSlice, { partition: number; token: number }>();
  #nextToken = 1;
  #rotation = 0;
  #fatal: MedallionError | undefined;

  constructor(options: KafkaSourceOptions) {
    this.brokers = [...options.brokers];
    this.topic = options.topic;
    this.groupId = options.groupId;
    this.clientId = options.clientId;
    this.#sessionTimeoutMs = options.sessionTimeoutMs ?? SESSION_TIMEOUT_MS;
    this.#startFrom = options.startFrom ?? 'bronze';
    this.#log = logger.child({ component: 'kafka-source', topic: this.topic, groupId: this.groupId });
  }

  /** Joins the group, records the end offsets and positions every assigned partition. */
  async connect(resume: ResumeFn): Promise<void> {
    if (this.#consumer)
      throw new MedallionError('MDL_INTERNAL', 'KafkaSource.connect called twice.', {
        hint: 'This is a bug in Medallion; report it.',
      });
    const consumer = new Consumer({
      ...clientOptions(this.brokers, this.clientId),
      groupId: this.groupId,
      autocommit: false,
      sessionTimeout: this.#sessionTimeoutMs,
      rebalanceTimeout: this.#sessionTimeoutMs,
      heartbeatInterval: Math.min(HEARTBEAT_INTERVAL_MS, Math.floor(this.#sessionTimeoutMs / 3)),
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    });
    this.#consumer = consumer;
    this.#resume = resume;
    consumer.on('consumer:group:join', (payload: ConsumerGroupJoinPayload) => this.#onJoin(payload));
    consumer.on('error', (err: unknown) => {
      this.#fatal = kafkaError(err, this.brokers, `rejoin consumer group ${this.groupId}`);
      this.#log.warn({ event: 'kafka.group.lost', err: this.#fatal.message }, 'consumer group membership lost');
    });
    consumer.on('consumer:heartbeat:error', (payload: { error?: unknown }) =>
      this.#log.debug({ event: 'kafka.heartbeat.failed', err: String(payload.error) }, 'heartbeat failed'),
    );
    const action = `join consumer group ${this.groupId} on ${this.topic}`;
    try {
      try {
        await withDeadline(consumer.metadata({ topics: [this.topic] }), CONNECT_DEADLINE_MS, () =>
          unreachable(this.brokers, `connect: no answer within ${CONNECT_DEADLINE_MS} ms`),
        );
      } catch (err) {
        if (missingTopic(err)) throw noSuchTopic(this.topic, this.brokers, err);
        throw err;
      }
      consumer.topics.track(this.topic);
      const joinDeadline = this.#sessionTimeoutMs + CONNECT_DEADLINE_MS;
      await withDeadline(consumer.joinGroup({}), joinDeadline, () =>
        unreachable(this.brokers, `${action}: not joined within ${joinDeadline} ms`),
      );
      const ends = await withDeadline(consumer.listOffsets({ topics: [this.topic] }), CONNECT_DEADLINE_MS, () =>
        unreachable(this.brokers, `list end offsets of ${this.topic}`),
      );
      this.#endAtConnect = new Map((ends.get(this.topic) ?? []).map((offset, partition) => [partition, offset]));
      await this.#positionPending();
    } catch (err) {
      this.#consumer = undefined;
      await consumer.close(true).catch(() => {});
      throw kafkaError(err, this.brokers, action);
    }
    this.#log.info(
      {
        event: 'kafka.connected',
        partitions: [...this.#owned.keys()],
        endOffsets: Object.fromEntries([...this.#endAtConnect].map(([p, o]) => [p, Number(o)])),
      },
      'joined consumer group',
    );
  }

  #onJoin(payload: ConsumerGroupJoinPayload): void {
    const assigned = new Set(payload.assignments?.find((a) => a.topic === this.topic)?.partitions ?? []);
    const lostMembership = this.#memberId !== null && payload.memberId !== this.#memberId;
    this.#memberId = payload.memberId;
    this.#assignmentVersion++;
    const revoked: number[] = [];
    for (const p of [...this.#owned.keys()]) {
      if (lostMembership || !assigned.has(p)) {
        this.#owned.delete(p);
        revoked.push(p);
      }
    }
    for (const p of [...this.#toPosition]) if (!assigned.has(p)) this.#toPosition.delete(p);
    for (const p of assigned) if (!this.#owned.has(p)) this.#toPosition.add(p);
    const list = [...assigned].sort((a, b) => a - b).join(', ');
    progress(
      `ingest: consumer group ${this.groupId} generation ${payload.generationId}: partitions ${list || 'none'} of ${this.topic}`,
    );
    if (revoked.length > 0 || this.#assignmentVersion > 1)
      this.#log.info(
        {
          event: 'kafka.group.rebalanced',
          generation: payload.generationId,
          assigned: [...assigned].sort((a, b) => a - b),
          revoked,
          lostMembership,
        },
        'consumer group rebalanced',
      );
  }

  /**
   * Starts every newly assigned partition right after what bronze holds durably (`resume`), or at
   * the log start when bronze holds nothing of it. Bronze, not the group's committed offset, is the
   * truth (as a Spark checkpoint is): a data directory that was reset, or a second data directory
   * on the same group, reads everything again instead of skipping what another lake received.
   * Committed offsets only serve lag monitoring; one ahead of bronze is logged.
   */
  async #positionPending(): Promise<void> {
    const consumer = this.#requireConsumer();
    while (this.#toPosition.size > 0) {
      const version = this.#assignmentVersion;
      const partitions = [...this.#toPosition].sort((a, b) => a - b);
      const action = `read the committed offsets of group ${this.groupId}`;
      const offsetsAt = (timestamp: bigint, isolationLevel: number) =>
        consumer.listOffsets({
          topics: [this.topic],
          partitions: { [this.topic]: partitions },
          timestamp,
          isolationLevel,
        });
      const startFrom = this.#startFrom;
      const [committed, earliest, latest, atTime] = await withDeadline(
        Promise.all([
          consumer.listCommittedOffsets({ topics: [{ topic: this.topic, partitions }] }),
          offsetsAt(ListOffsetTimestamps.EARLIEST, FetchIsolationLevels.READ_COMMITTED),
          offsetsAt(ListOffsetTimestamps.LATEST, FetchIsolationLevels.READ_UNCOMMITTED),
          typeof startFrom === 'object'
            ? offsetsAt(BigInt(startFrom.timestampMs), FetchIsolationLevels.READ_UNCOMMITTED)
            : Promise.resolve(undefined),
        ]),
        CONNECT_DEADLINE_MS,
        () => unreachable(this.brokers, action),
      ).catch((err) => {
        throw kafkaError(err, this.brokers, action);
      });
      const starts = new Map<number, { start: bigint; committed: bigint }>();
      for (const p of partitions) {
        const stream = `${this.topic}:${p}`;
        const groupOffset = committed.get(this.topic)?.[p] ?? -1n;
        const logStart = earliest.get(this.topic)?.[p] ?? 0n;
        const logEnd = latest.get(this.topic)?.[p] ?? 0n;
        const durable = await this.#resume(stream).catch((err: unknown) => {
          throw asMedallionError(err);
        });
        let start = durable !== undefined ? BigInt(durable) + 1n : logStart;
        if (!this.#positionedOnce.has(p) && startFrom !== 'bronze') {
          const t = atTime?.get(this.topic)?.[p];
          start = startFrom === 'beginning' ? logStart : t !== undefined && t >= 0n ? t : logEnd;
        } else if (groupOffset > start) {
          this.#log.warn(
            {
              event: 'kafka.offsets.ahead_of_bronze',
              partition: p,
              committed: Number(groupOffset),
              from: Number(start),
            },
            'the consumer group committed offsets beyond what this data directory holds in bronze; reading from bronze',
          );
        }
        if (start > logEnd) throw pastTheEnd(stream, start, logEnd);
        if (start < logStart) {
          this.#log.warn(
            { event: 'kafka.retention.skipped', partition: p, from: Number(start), logStart: Number(logStart) },
            'records before the log start were deleted by retention before they were read',
          );
          start = logStart;
        }
        starts.set(p, { start, committed: groupOffset });
      }
      if (version !== this.#assignmentVersion) continue;
      for (const [p, { start, committed: groupOffset }] of starts) {
        this.#toPosition.delete(p);
        this.#positionedOnce.add(p);
        this.#owned.set(p, {
          partition: p,
          stream: `${this.topic}:${p}`,
          token: this.#nextToken++,
          fetchOffset: start,
          buffer: [],
          head: 0,
          committed: groupOffset,
        });
      }
    }
  }

  #requireConsumer(): Consumer {
    if (this.#fatal) throw this.#fatal;
    if (!this.#consumer)
      throw new MedallionError('MDL_INTERNAL', 'KafkaSource used before connect() or after close().', {
        hint: 'This is a bug in Medallion; report it.',
      });
    return this.#consumer;
  }

  /**
   * Kafka poll semantics: waits up to `maxWaitMs` for the first records; once some are in hand it
   * keeps fetching what the broker has right now, without waiting, until a limit is reached or a
   * fetch comes back empty.
   */
  async readBatch(limits: BatchLimits): Promise<SourceBatch | null> {
    this.#requireConsumer();
    await this.#positionPending();
    const maxRecords = Math.max(1, limits.maxRecords);
    const maxBytes = Math.max(1, limits.maxBytes);
    const deadline = Date.now() + Math.max(0, limits.maxWaitMs);
    const taken = new Map<number, SourceRecord[]>();
    let count = 0;
    let bytes = 0;
    let fetched = false;
    for (;;) {
      ({ count, bytes } = this.#take(taken, count, bytes, maxRecords, maxBytes));
      if (count >= maxRecords || bytes >= maxBytes) break;
      if (this.#toPosition.size > 0) {
        if (count > 0) break;
        await this.#positionPending();
        continue;
      }
      const now = Date.now();
      if (count === 0 && fetched && now >= deadline) break;
      const wait = count > 0 ? 0 : Math.min(Math.max(0, deadline - now), MAX_FETCH_WAIT_MS);
      const got = await this.#fetch(wait, maxBytes - bytes);
      fetched = true;
      if (got === 0 && (count > 0 || Date.now() >= deadline)) break;
    }
    return this.#assemble(taken);
  }

  #take(
    taken: Map<number, SourceRecord[]>,
    count: number,
    bytes: number,
    maxRecords: number,
    maxBytes: number,
  ): { count: number; bytes: number } {
    const states = [...this.#owned.values()].sort((a, b) => a.partition - b.partition);
    if (states.length === 0) return { count, bytes };
    const first = this.#rotation++ % states.length;
    for (let i = 0; i < states.length; i++) {
      const s = states[(first + i) % states.length]!;
      let out = taken.get(s.partition);
      while (s.head < s.buffer.length && count < maxRecords) {
        const r = s.buffer[s.head]!;
        const size = r.size;
        if (count > 0 && bytes + size > maxBytes) return { count, bytes };
        if (!out) {
          out = [];
          taken.set(s.partition, out);
        }
        out.push(r);
        s.head++;
        count++;
        bytes += size;
      }
      if (s.head >= s.buffer.length) {
        s.buffer = [];
        s.head = 0;
      }
      if (count >= maxRecords || bytes >= maxBytes) break;
    }
    return { count, bytes };
  }

  #assemble(taken: Map<number, SourceRecord[]>): SourceBatch | null {
    const slices: StreamSlice[] = [];
    let recordCount = 0;
    let byteCount = 0;
    for (const [partition, records] of [...taken].sort(([a], [b]) => a - b)) {
      const state = this.#owned.get(partition);
      // Revoked while this batch was being read: its records belong to the new owner now.
      if (!state || records.length === 0) continue;
      const slice: StreamSlice = {
        stream: state.stream,
        firstOffset: records[0]!.position.offset,
        lastOffset: records[records.length - 1]!.position.offset,
        records,
      };
      this.#sliceOwner.set(slice, { partition, token: state.token });
      slices.push(slice);
      recordCount += records.length;
      for (const r of records) byteCount += (r as SizedRecord).size;
    }
    return recordCount === 0 ? null : { slices, recordCount, byteCount };
  }

  /** One fetch round for the partitions whose buffer is empty; resolves to the records buffered. */
  async #fetch(waitMs: number, byteBudget: number): Promise<number> {
    const consumer = this.#requireConsumer();
    const wanted = [...this.#owned.values()].filter((s) => s.head >= s.buffer.length);
    if (wanted.length === 0) {
      if (this.#owned.size === 0 && waitMs > 0) await sleep(Math.min(waitMs, 200));
      return 0;
    }
    const metadata = await withDeadline(consumer.metadata({ topics: [this.topic] }), CONNECT_DEADLINE_MS, () =>
      unreachable(this.brokers, `read metadata of ${this.topic}`),
    ).catch((err) => {
      throw kafkaError(err, this.brokers, `read metadata of ${this.topic}`);
    });
    const info = metadata.topics.get(this.topic);
    if (!info) throw noSuchTopic(this.topic, this.brokers, undefined);
    const byLeader = new Map<number, PartitionState[]>();
    for (const s of wanted) {
      const leader = info.partitions[s.partition]?.leader ?? -1;
      if (leader < 0) continue;
      const list = byLeader.get(leader) ?? [];
      list.push(s);
      byLeader.set(leader, list);
    }
    if (byLeader.size === 0) {
      await sleep(Math.min(Math.max(waitMs, 50), 500));
      return 0;
    }
    const budget = Math.min(
      MAX_FETCH_BYTES,
      Math.max(MIN_FETCH_BYTES, Math.floor(Math.max(0, byteBudget) / byLeader.size)),
    );
    const rounds = [...byLeader].map(async ([node, states]) => {
      const requested = states.map((s) => ({ state: s, token: s.token, from: s.fetchOffset }));
      const action = `fetch from ${this.topic}`;
      try {
        const response = await withDeadline(
          consumer.fetch({
            node,
            maxWaitTime: waitMs,
            minBytes: 1,
            maxBytes: budget,
            isolationLevel: FetchIsolationLevels.READ_COMMITTED,
            topics: [
              {
                topicId: info.id,
                partitions: requested.map((r) => ({
                  partition: r.state.partition,
                  fetchOffset: r.from,
                  partitionMaxBytes: budget,
                  currentLeaderEpoch: -1,
                  lastFetchedEpoch: -1,
                })),
              },
            ],
          }),
          waitMs + CONNECT_DEADLINE_MS * 2,
          () => unreachable(this.brokers, `${action}: no answer`),
        );
        return this.#absorb(response, requested);
      } catch (err) {
        if (protocolErrorNames(err).includes('OFFSET_OUT_OF_RANGE')) {
          await this.#recoverOutOfRange(requested.map((r) => r.state));
          return 0;
        }
        throw kafkaError(err, this.brokers, action);
      }
    });
    const counts = await Promise.all(rounds);
    return counts.reduce((a, b) => a + b, 0);
  }

  #absorb(response: FetchResponse, requested: { state: PartitionState; token: number; from: bigint }[]): number {
    let added = 0;
    for (const topic of response.responses) {
      for (const part of topic.partitions) {
        const req = requested.find((r) => r.state.partition === part.partitionIndex);
        const state = req ? this.#owned.get(req.state.partition) : undefined;
        // Revoked (or revoked and regained) while the fetch was in flight: drop what came back.
        if (!req || !state || state.token !== req.token || state.fetchOffset !== req.from) continue;
        for (const batch of part.records ?? []) {
          const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
          if (last < state.fetchOffset) continue;
          if (!(batch.attributes & CONTROL_BATCH)) {
            const first = Number(batch.firstOffset);
            const from = Number(state.fetchOffset);
            const appendTime = batch.attributes & LOG_APPEND_TIME ? Number(batch.maxTimestamp) : undefined;
            const firstTimestamp = Number(batch.firstTimestamp);
            for (const record of batch.records) {
              const offset = first + record.offsetDelta;
              if (offset < from) continue;
              const timestamp = appendTime ?? firstTimestamp + Number(record.timestampDelta);
              state.buffer.push(toRecord(this.topic, state.stream, state.partition, record, offset, timestamp));
              added++;
            }
          }
          state.fetchOffset = last + 1n;
        }
      }
    }
    return added;
  }

  async #recoverOutOfRange(states: PartitionState[]): Promise<void> {
    const consumer = this.#requireConsumer();
    const partitions = states.map((s) => s.partition);
    const action = `list the offsets of ${this.topic}`;
    const query = (timestamp: bigint) =>
      consumer.listOffsets({
        topics: [this.topic],
        partitions: { [this.topic]: partitions },
        timestamp,
        isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
      });
    const [earliest, latest] = await withDeadline(
      Promise.all([query(ListOffsetTimestamps.EARLIEST), query(ListOffsetTimestamps.LATEST)]),
      CONNECT_DEADLINE_MS,
      () => unreachable(this.brokers, action),
    ).catch((err) => {
      throw kafkaError(err, this.brokers, action);
    });
    for (const s of states) {
      if (this.#owned.get(s.partition) !== s) continue;
      const logStart = earliest.get(this.topic)?.[s.partition] ?? 0n;
      const logEnd = latest.get(this.topic)?.[s.partition] ?? 0n;
      if (s.fetchOffset < logStart) {
        this.#log.warn(
          {
            event: 'kafka.retention.skipped',
            partition: s.partition,
            from: Number(s.fetchOffset),
            logStart: Number(logStart),
          },
          'records were deleted by retention before they were read; continuing at the log start',
        );
        s.fetchOffset = logStart;
      } else if (s.fetchOffset > logEnd) {
        throw pastTheEnd(s.stream, s.fetchOffset, logEnd);
      }
    }
  }

  /**
   * Commits, per partition, the offset after the slice's last record — only for partitions owned
   * without a break since the slice was read (see the class comment on rebalances).
   */
  async acknowledge(batch: SourceBatch): Promise<void> {
    const consumer = this.#requireConsumer();
    const offsets: { topic: string; partition: number; offset: bigint; leaderEpoch: number }[] = [];
    const skipped: string[] = [];
    for (const slice of batch.slices) {
      const owner = this.#sliceOwner.get(slice) ?? this.#ownerFromStream(slice.stream);
      const state = owner ? this.#owned.get(owner.partition) : undefined;
      if (!owner || !state || state.token !== owner.token) {
        skipped.push(slice.stream);
        continue;
      }
      const next = BigInt(slice.lastOffset) + 1n;
      if (next <= state.committed) continue;
      offsets.push({ topic: this.topic, partition: state.partition, offset: next, leaderEpoch: -1 });
    }
    if (skipped.length > 0)
      this.#log.info(
        { event: 'kafka.commit.skipped', streams: skipped },
        'not committing slices of partitions revoked since they were read',
      );
    if (offsets.length === 0) return;
    const action = `commit offsets of group ${this.groupId}`;
    try {
      await withDeadline(consumer.commit({ offsets }), CONNECT_DEADLINE_MS * 2, () =>
        unreachable(this.brokers, action),
      );
    } catch (err) {
      const names = protocolErrorNames(err);
      if (!(err instanceof MedallionError) && names.some((n) => REJOIN_ERRORS.has(n))) {
        // The group moved on: these partitions may belong to another member now. The records are
        // durable in bronze, and whoever reads them next starts after them through `resume`.
        this.#log.warn(
          { event: 'kafka.commit.rebalancing', errors: names },
          'offsets not committed: the consumer group is rebalancing',
        );
        return;
      }
      throw kafkaError(err, this.brokers, action);
    }
    for (const o of offsets) {
      const state = this.#owned.get(o.partition);
      if (state && o.offset > state.committed) state.committed = o.offset;
    }
  }

  /** Forgets a batch read ahead and not written: each partition still owned reads again from the slice's start. */
  rewind(batch: SourceBatch): void {
    for (const slice of batch.slices) {
      const owner = this.#sliceOwner.get(slice);
      const state = owner ? this.#owned.get(owner.partition) : undefined;
      if (!owner || !state || state.token !== owner.token) continue;
      const from = BigInt(slice.firstOffset);
      if (from < state.fetchOffset) {
        state.fetchOffset = from;
        state.buffer = [];
        state.head = 0;
      }
    }
  }

  #ownerFromStream(stream: string): { partition: number; token: number } | undefined {
    const prefix = `${this.topic}:`;
    if (!stream.startsWith(prefix)) return undefined;
    const partition = Number(stream.slice(prefix.length));
    const state = this.#owned.get(partition);
    return state ? { partition, token: state.token } : undefined;
  }

  /** True once every assigned partition was read up to its end offset at connect time. */
  caughtUp(): boolean {
    if (!this.#consumer || this.#fatal || this.#toPosition.size > 0) return false;
    for (const s of this.#owned.values()) {
      if (s.head < s.buffer.length) return false;
      if (s.fetchOffset < (this.#endAtConnect.get(s.partition) ?? 0n)) return false;
    }
    return true;
  }

  /** Partitions this member owns now (for status and tests). */
  assignedPartitions(): number[] {
    return [...new Set([...this.#owned.keys(), ...this.#toPosition])].sort((a, b) => a - b);
  }

  /** Leaves the group cleanly (so the others rebalance at once) and disconnects; safe to call twice. */
  async close(): Promise<void> {
    const consumer = this.#consumer;
    this.#consumer = undefined;
    this.#owned.clear();
    this.#toPosition.clear();
    if (!consumer) return;
    try {
      await withDeadline(consumer.close(), CLOSE_DEADLINE_MS, () => unreachable(this.brokers, 'leave the group'));
    } catch (err) {
      this.#log.warn(
        { event: 'kafka.group.leave_failed', err: err instanceof Error ? err.message : String(err) },
        'could not leave the group cleanly',
      );
      await consumer.close(true).catch(() => {});
    }
  }
}
