import { Admin, FetchIsolationLevels } from '@platformatic/kafka';
import { MedallionError } from '../../core/errors.ts';
import { logger } from '../../core/logger.ts';
import {
  CONNECT_DEADLINE_MS,
  clientOptions,
  kafkaError,
  protocolErrorNames,
  unreachable,
  withDeadline,
} from './kafka-errors.ts';

const log = logger.child({ component: 'kafka-admin' });

async function withAdmin<T>(
  brokers: readonly string[],
  action: string,
  ms: number,
  work: (admin: Admin) => Promise<T>,
): Promise<T> {
  const admin = new Admin(clientOptions(brokers, 'medallion-admin'));
  try {
    return await withDeadline(work(admin), ms, () => unreachable(brokers, `${action}: no answer within ${ms} ms`));
  } catch (err) {
    throw kafkaError(err, brokers, action);
  } finally {
    await admin.close().catch(() => {});
  }
}

/** True when a client error says the topic does not exist. */
export function missingTopic(err: unknown): boolean {
  return (
    protocolErrorNames(err).includes('UNKNOWN_TOPIC_OR_PARTITION') ||
    (err instanceof Error && /unknown topic/i.test(err.message))
  );
}

/** MDL_KAFKA_PROTOCOL for a topic that does not exist. */
export function noSuchTopic(topic: string, brokers: readonly string[], cause: unknown): MedallionError {
  return new MedallionError('MDL_KAFKA_PROTOCOL', `Kafka topic "${topic}" does not exist on ${brokers.join(',')}.`, {
    cause,
    hint: 'Create it (medallion simulate --kafka creates it when events.kafka.autoCreateTopic is on) or fix events.kafka.topic.',
    details: { topic },
  });
}

/** The topic's partition count, or undefined when the topic does not exist. */
async function describePartitions(admin: Admin, topic: string): Promise<number | undefined> {
  try {
    const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
    return metadata.topics.get(topic)?.partitionsCount;
  } catch (err) {
    if (missingTopic(err)) return undefined;
    throw err;
  }
}

/**
 * Creates `topic` with `partitions` partitions (the cluster's default replication factor) when it
 * does not exist, and waits until every partition has a leader. An existing topic is left as it is.
 * Resolves to the topic's actual partition count.
 */
export async function ensureTopic(brokers: readonly string[], topic: string, partitions: number): Promise<number> {
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new MedallionError('MDL_USAGE', `Invalid partition count ${partitions} for topic "${topic}".`, {
      hint: 'Use a whole number of partitions, 1 or more.',
    });
  return withAdmin(brokers, `create topic ${topic}`, CONNECT_DEADLINE_MS * 2, async (admin) => {
    const existing = await describePartitions(admin, topic);
    if (existing !== undefined) {
      if (existing !== partitions)
        log.info(
          { event: 'kafka.topic.mismatch', topic, partitions: existing, wanted: partitions },
          'topic exists with another partition count',
        );
      return existing;
    }
    try {
      await admin.createTopics({ topics: [topic], partitions, replicas: -1 });
      log.info({ event: 'kafka.topic.created', topic, partitions }, 'created topic');
    } catch (err) {
      if (!protocolErrorNames(err).includes('TOPIC_ALREADY_EXISTS')) throw err;
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
        const info = metadata.topics.get(topic);
        if (info && info.partitions.length === info.partitionsCount && info.partitions.every((p) => p.leader >= 0))
          return info.partitionsCount;
      } catch (err) {
        if (!missingTopic(err)) throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 500)));
    }
  });
}

/**
 * The end offset of each partition of `topic` (partition → next offset to be written, as a
 * read-committed consumer sees it: the last stable offset, which is the high watermark when no
 * transaction is open). Throws MDL_KAFKA_PROTOCOL when the topic does not exist.
 */
export async function endOffsets(brokers: readonly string[], topic: string): Promise<Map<number, number>> {
  return withAdmin(brokers, `list end offsets of ${topic}`, CONNECT_DEADLINE_MS, async (admin) => {
    const count = await describePartitions(admin, topic);
    if (count === undefined) throw noSuchTopic(topic, brokers, undefined);
    const listed = await admin.listOffsets({
      topics: [
        {
          name: topic,
          partitions: Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, timestamp: -1n })),
        },
      ],
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    });
    const out = new Map<number, number>();
    for (const t of listed)
      for (const p of t.partitions) if (t.name === topic) out.set(p.partitionIndex, Number(p.offset));
    return new Map([...out.entries()].sort(([a], [b]) => a - b));
  });
}

/** Deletes `topic`; a topic that does not exist is not an error. For tests and full resets. */
export async function deleteTopic(brokers: readonly string[], topic: string): Promise<void> {
  await withAdmin(brokers, `delete topic ${topic}`, CONNECT_DEADLINE_MS, async (admin) => {
    try {
      await admin.deleteTopics({ topics: [topic] });
    } catch (err) {
      if (!missingTopic(err)) throw err;
    }
  });
}

/**
 * The offsets a consumer group has committed on a topic (next offset to read, per partition);
 * partitions without a commit are absent. For lag monitoring: ingestion positions itself from
 * bronze, not from these.
 */
export async function committedOffsets(
  brokers: readonly string[],
  groupId: string,
  topic: string,
): Promise<Map<number, number>> {
  return withAdmin(brokers, `read the committed offsets of group ${groupId}`, CONNECT_DEADLINE_MS, async (admin) => {
    const groups = await admin.listConsumerGroupOffsets({ groups: [groupId] });
    const out = new Map<number, number>();
    for (const g of groups) {
      for (const t of g.topics) {
        if (t.name !== topic) continue;
        for (const p of t.partitions) if (p.committedOffset >= 0n) out.set(p.partitionIndex, Number(p.committedOffset));
      }
    }
    return out;
  });
}
