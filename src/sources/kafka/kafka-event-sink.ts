import { type MessageToProduce, Producer } from '@platformatic/kafka';
import { MedallionError } from '../../core/errors.ts';
import { logger } from '../../core/logger.ts';
import { missingTopic, noSuchTopic } from './kafka-admin.ts';
import { CONNECT_DEADLINE_MS, clientOptions, kafkaError, unreachable, withDeadline } from './kafka-errors.ts';

const log = logger.child({ component: 'kafka-sink' });

/** One message for `KafkaEventSink.send`. */
export interface KafkaEventMessage {
  /** Message key (the simulator uses the school's DBN); null for none. */
  readonly key: string | null;
  /** The value: text (sent as UTF-8) or raw bytes (used to simulate undecodable messages). */
  readonly value: string | Uint8Array;
  /** Partition to write to: the caller chooses, so each partition is one ordered stream. */
  readonly partition: number;
  /** Optional headers, sent as UTF-8. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Options of `KafkaEventSink`. */
export interface KafkaEventSinkOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly clientId?: string;
}

/** Most records in one produce request. */
const CHUNK_RECORDS = 5_000;
/** Most value+key bytes in one produce request: under the broker's default 1 MiB per-partition batch limit. */
const CHUNK_BYTES = 768 * 1024;
/** Longest a produce request may take before the sink reports the broker unreachable. */
const SEND_DEADLINE_MS = 60_000;

/**
 * Produces events to one topic with an idempotent producer (acks=all, so a send resolves only when
 * every in-sync replica has the records, and the broker drops duplicates a retry would create).
 * Messages go to the partition the caller names. `send` splits large arrays into produce requests
 * of bounded size and sends them one after the other, which keeps per-partition order.
 */
export class KafkaEventSink {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly clientId: string;
  #producer: Producer | undefined;
  #partitions = 0;
  #broken: MedallionError | undefined;

  constructor(options: KafkaEventSinkOptions) {
    this.brokers = [...options.brokers];
    this.topic = options.topic;
    this.clientId = options.clientId ?? 'medallion-sink';
  }

  /**
   * Connects, checks the topic exists and initialises the idempotent producer (bounded in time).
   * After a failed send, calling it again starts a fresh producer.
   */
  async connect(): Promise<void> {
    if (this.#producer && !this.#broken) return;
    if (this.#producer) await this.close();
    const producer = new Producer({ ...clientOptions(this.brokers, this.clientId), idempotent: true, timeout: 30_000 });
    const deadline = () => unreachable(this.brokers, `connect: no answer within ${CONNECT_DEADLINE_MS} ms`);
    try {
      let metadata: Awaited<ReturnType<Producer['metadata']>>;
      try {
        metadata = await withDeadline(producer.metadata({ topics: [this.topic] }), CONNECT_DEADLINE_MS, deadline);
      } catch (err) {
        if (missingTopic(err)) throw noSuchTopic(this.topic, this.brokers, err);
        throw err;
      }
      this.#partitions = metadata.topics.get(this.topic)?.partitionsCount ?? 0;
      await withDeadline(producer.initIdempotentProducer({}), CONNECT_DEADLINE_MS, deadline);
    } catch (err) {
      await producer.close(true).catch(() => {});
      throw kafkaError(err, this.brokers, `connect a producer for ${this.topic}`);
    }
    this.#producer = producer;
    this.#broken = undefined;
  }

  /** Partition count of the topic, known after `connect`. */
  get partitions(): number {
    return this.#partitions;
  }

  /** Sends the messages and resolves when the broker acknowledged all of them (acks=all). */
  async send(messages: readonly KafkaEventMessage[]): Promise<void> {
    const producer = this.#producer;
    if (!producer)
      throw new MedallionError('MDL_INTERNAL', 'KafkaEventSink.send called before connect().', {
        hint: 'This is a bug in Medallion; report it.',
      });
    if (this.#broken) throw this.#broken;
    const timestamp = BigInt(Date.now());
    let chunk: MessageToProduce[] = [];
    let bytes = 0;
    for (const m of messages) {
      if (
        !Number.isInteger(m.partition) ||
        m.partition < 0 ||
        (this.#partitions > 0 && m.partition >= this.#partitions)
      )
        throw new MedallionError(
          'MDL_USAGE',
          `Partition ${m.partition} does not exist in topic "${this.topic}" (${this.#partitions} partitions).`,
          { hint: 'Send to a partition between 0 and the partition count - 1.' },
        );
      const value = typeof m.value === 'string' ? Buffer.from(m.value, 'utf8') : Buffer.from(m.value);
      const key = m.key === null ? undefined : Buffer.from(m.key, 'utf8');
      const size = value.length + (key?.length ?? 0);
      if (chunk.length > 0 && (chunk.length >= CHUNK_RECORDS || bytes + size > CHUNK_BYTES)) {
        await this.#produce(producer, chunk);
        chunk = [];
        bytes = 0;
      }
      const message: MessageToProduce = { topic: this.topic, partition: m.partition, key, value, timestamp };
      if (m.headers) {
        // A Map of Buffers: the client's plain-object header path stalls with its default serialisers.
        message.headers = new Map(
          Object.entries(m.headers).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')]),
        );
      }
      chunk.push(message);
      bytes += size;
    }
    if (chunk.length > 0) await this.#produce(producer, chunk);
  }

  async #produce(producer: Producer, messages: MessageToProduce[]): Promise<void> {
    try {
      await withDeadline(producer.send({ messages }), SEND_DEADLINE_MS, () =>
        unreachable(this.brokers, `produce to ${this.topic}: no acknowledgement within ${SEND_DEADLINE_MS} ms`),
      );
    } catch (err) {
      const error = kafkaError(err, this.brokers, `produce to ${this.topic}`);
      // After a failed or timed-out produce the producer's sequence state is uncertain: reconnect.
      this.#broken = error;
      log.warn({ event: 'kafka.produce.failed', err: error.message }, 'produce failed; the sink must be reconnected');
      throw error;
    }
  }

  /** Flushes nothing (sends are synchronous) and disconnects; safe to call twice. */
  async close(): Promise<void> {
    const producer = this.#producer;
    this.#producer = undefined;
    if (!producer) return;
    try {
      await withDeadline(producer.close(), CONNECT_DEADLINE_MS, () => unreachable(this.brokers, 'close the producer'));
    } catch {
      await producer.close(true).catch(() => {});
    }
  }
}
