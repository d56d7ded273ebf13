import type { PipelineProject } from '../../config/project.ts';
import type { EventSink, SinkRecord } from '../../simulate/event-sink.ts';
import { ensureTopic, KafkaEventSink, parseBrokers } from './index.ts';

/**
 * The simulator's Kafka sink: produces each record to the config's topic, on the partition the
 * simulator chose (so each partition is one watermark stream), keyed by DBN. Creates the topic
 * with the configured partition count when allowed.
 */
export async function openKafkaSimulatorSink(project: PipelineProject, brokers: string): Promise<EventSink> {
  const { topic, partitions, autoCreateTopic, clientId } = project.config.events.kafka;
  const list = parseBrokers(brokers);
  const actual = autoCreateTopic ? await ensureTopic(list, topic, partitions) : partitions;
  const producer = new KafkaEventSink({ brokers: list, topic, clientId: `${clientId}-simulator` });
  await producer.connect();
  let closed = false;
  return {
    partitions: actual,
    async write(records: readonly SinkRecord[]) {
      await producer.send(records.map((r) => ({ key: r.key, value: r.value, partition: r.partition })));
    },
    async close() {
      if (closed) return;
      closed = true;
      await producer.close();
    },
  };
}
