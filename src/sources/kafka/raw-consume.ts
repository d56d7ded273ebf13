import { Consumer, MessagesStreamModes } from '@platformatic/kafka';
import { clientOptions } from './kafka-errors.ts';

/**
 * A reference point for the ingest benchmark: @platformatic/kafka's own consumer stream reading a
 * topic from the start in a fresh consumer group, each message dropped as it arrives (no decoding
 * beyond the client's, no storage), until `expected` messages were seen. Resolves to the count and
 * the time from creating the consumer to the last message.
 */
export async function rawConsume(
  brokers: readonly string[],
  topic: string,
  expected: number,
): Promise<{ records: number; ms: number }> {
  const t0 = performance.now();
  const consumer = new Consumer({
    ...clientOptions(brokers, 'medallion-bench-raw'),
    groupId: `medallion-bench-raw-${process.pid}-${Date.now().toString(36)}`,
  });
  let records = 0;
  try {
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
    await new Promise<void>((resolve, reject) => {
      stream.on('data', () => {
        if (++records >= expected) resolve();
      });
      stream.on('error', reject);
    });
    const ms = performance.now() - t0;
    await stream.close();
    return { records, ms };
  } finally {
    await consumer.close(true).catch(() => {});
  }
}
