import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { MedallionError } from '../../src/core/errors.ts';
import {
  committedOffsets,
  deleteTopic,
  endOffsets,
  ensureTopic,
  type KafkaEventMessage,
  KafkaEventSink,
  KafkaSource,
  parseBrokers,
} from '../../src/sources/kafka/index.ts';
import type { SourceBatch, SourceRecord } from '../../src/sources/source.ts';
import { kafkaBrokersOrSkip } from '../helpers/services.ts';

const PARTITIONS = 3;
const INVALID_UTF8 = new Uint8Array([0x7b, 0xff, 0xfe, 0x41, 0xc3]);

/** A fresh topic (3 partitions) for one test, deleted when the test ends. */
async function freshTopic(t: TestContext, brokers: string[]): Promise<string> {
  const topic = `medallion-test-${randomUUID().slice(0, 8)}`;
  assert.equal(await ensureTopic(brokers, topic, PARTITIONS), PARTITIONS);
  t.after(() => deleteTopic(brokers, topic));
  return topic;
}

async function produce(brokers: string[], topic: string, messages: KafkaEventMessage[]): Promise<void> {
  const sink = new KafkaEventSink({ brokers, topic, clientId: 'medallion-test-sink' });
  await sink.connect();
  try {
    for (let i = 0; i < messages.length; i += 1000) await sink.send(messages.slice(i, i + 1000));
  } finally {
    await sink.close();
  }
}

function source(brokers: string[], topic: string, groupId: string): KafkaSource {
  return new KafkaSource({ brokers, topic, groupId, clientId: 'medallion-test', sessionTimeoutMs: 10_000 });
}

/** Reads until the source is caught up, acknowledging each batch when `ack` says so. */
async function drain(
  src: KafkaSource,
  opts: { maxRecords?: number; ack?: boolean } = {},
): Promise<{ records: SourceRecord[]; batches: SourceBatch[] }> {
  const records: SourceRecord[] = [];
  const batches: SourceBatch[] = [];
  for (let i = 0; i < 1000 && !src.caughtUp(); i++) {
    const batch = await src.readBatch({ maxRecords: opts.maxRecords ?? 700, maxBytes: 1 << 20, maxWaitMs: 2000 });
    if (!batch) continue;
    batches.push(batch);
    for (const slice of batch.slices) records.push(...slice.records);
    if (opts.ack ?? true) await src.acknowledge(batch);
  }
  assert.ok(src.caughtUp(), 'source did not catch up');
  return { records, batches };
}

const key = (partition: number, offset: number) => `${partition}:${offset}`;

function recordsByPosition(records: SourceRecord[]): Map<string, SourceRecord> {
  const out = new Map<string, SourceRecord>();
  for (const r of records) {
    const k = key(r.kafka!.partition, r.kafka!.offset);
    assert.ok(!out.has(k), `record ${k} delivered twice`);
    out.set(k, r);
  }
  return out;
}

test('KafkaSource reads every produced message once, in bounded batches, and commits on acknowledge', async (t) => {
  const text = kafkaBrokersOrSkip(t);
  if (!text) return;
  const brokers = parseBrokers(text);
  const topic = await freshTopic(t, brokers);

  const N = 5000;
  const messages: KafkaEventMessage[] = [];
  for (let i = 0; i < N; i++) {
    const partition = i % PARTITIONS;
    if (i === 1234) messages.push({ key: 'raw', value: INVALID_UTF8, partition });
    else if (i === 77) messages.push({ key: 'hdr', value: '{"i":77}', partition, headers: { source: 'test', é: 'ü' } });
    else messages.push({ key: `k${i}`, value: JSON.stringify({ i, school: '01M015', note: 'présent ✓' }), partition });
  }
  await produce(brokers, topic, messages);

  // Ground truth: a fresh topic, so the j-th message sent to partition p has offset j.
  const expected = new Map<string, KafkaEventMessage>();
  const perPartition = [0, 0, 0];
  for (const m of messages) expected.set(key(m.partition, perPartition[m.partition]!++), m);
  const ends = await endOffsets(brokers, topic);
  assert.deepEqual(
    [...ends.entries()],
    perPartition.map((n, p) => [p, n]),
  );

  const groupId = `g-${randomUUID()}`;
  const a = source(brokers, topic, groupId);
  await a.connect(async () => undefined);
  t.after(() => a.close());
  assert.equal(a.caughtUp(), false);
  const { records, batches } = await drain(a, { maxRecords: 700 });

  for (const batch of batches) {
    assert.ok(batch.recordCount <= 700);
    assert.equal(
      batch.recordCount,
      batch.slices.reduce((n, s) => n + s.records.length, 0),
    );
    for (const slice of batch.slices) {
      const partition = Number(slice.stream.slice(topic.length + 1));
      assert.equal(slice.stream, `${topic}:${partition}`);
      assert.equal(slice.firstOffset, slice.records[0]!.position.offset);
      assert.equal(slice.lastOffset, slice.records.at(-1)!.position.offset);
      slice.records.forEach((r, i) => {
        assert.equal(r.position.offset, slice.firstOffset + i, 'offsets are contiguous within a slice');
        assert.equal(r.position.stream, slice.stream);
        assert.deepEqual(r.kafka, { topic, partition, offset: r.position.offset });
      });
    }
  }

  const got = recordsByPosition(records);
  assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
  for (const [k, m] of expected) {
    const r = got.get(k)!;
    assert.equal(r.key, m.key);
    assert.equal(typeof r.timestampMs, 'number');
    if (m.value instanceof Uint8Array) {
      assert.equal(r.value, null);
      assert.deepEqual(r.valueBytes, m.value);
    } else {
      assert.equal(r.value, m.value);
      assert.ok(!r.valueBytes);
    }
    assert.deepEqual(r.headers ? JSON.parse(r.headers) : null, m.headers ?? null);
  }

  assert.equal(await a.readBatch({ maxRecords: 10, maxBytes: 1 << 20, maxWaitMs: 200 }), null);
  await a.close();

  // Acknowledging committed the next offset of every partition (for lag monitoring).
  assert.deepEqual(
    [...(await committedOffsets(brokers, groupId, topic)).entries()].sort(),
    perPartition.map((n, p) => [p, n]),
  );

  // The same group again, with bronze holding everything: nothing more to read, caught up at once.
  const durable = new Map<string, number>();
  for (const r of records)
    durable.set(r.position.stream, Math.max(durable.get(r.position.stream) ?? -1, r.position.offset));
  const b = source(brokers, topic, groupId);
  await b.connect(async (stream) => durable.get(stream));
  t.after(() => b.close());
  assert.deepEqual(b.assignedPartitions(), [0, 1, 2]);
  assert.equal(b.caughtUp(), true);
  assert.equal(await b.readBatch({ maxRecords: 100, maxBytes: 1 << 20, maxWaitMs: 500 }), null);
  await b.close();
});

test('KafkaSource starts right after what bronze holds (resume), whatever the group committed', async (t) => {
  const text = kafkaBrokersOrSkip(t);
  if (!text) return;
  const brokers = parseBrokers(text);
  const topic = await freshTopic(t, brokers);
  const send = (from: number, count: number) =>
    produce(
      brokers,
      topic,
      Array.from({ length: count * PARTITIONS }, (_, i) => ({
        key: null,
        value: `m${from + Math.floor(i / PARTITIONS)}`,
        partition: i % PARTITIONS,
      })),
    );
  const offsets = (records: SourceRecord[]) => {
    const out: number[][] = [[], [], []];
    for (const r of records) out[r.kafka!.partition]!.push(r.kafka!.offset);
    return out.map((o) => o.sort((x, y) => x - y));
  };
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  await send(0, 100);
  const groupId = `g-${randomUUID()}`;

  // Nothing committed yet: resume alone decides (offsets up to 89 are durable, up to 49 on partition 1).
  const first = source(brokers, topic, groupId);
  await first.connect(async (stream) => (stream === `${topic}:1` ? 49 : 89));
  t.after(() => first.close());
  const one = await drain(first);
  assert.deepEqual(offsets(one.records), [range(90, 99), range(50, 99), range(90, 99)]);
  await first.close();

  // Committed 100 everywhere now; bronze (resume) holding only up to 94 decides: nothing is skipped.
  await send(100, 10);
  const second = source(brokers, topic, groupId);
  await second.connect(async () => 94);
  t.after(() => second.close());
  const two = await drain(second, { ack: false });
  assert.deepEqual(offsets(two.records), [range(95, 109), range(95, 109), range(95, 109)]);
  assert.ok(two.records.every((r) => r.value === `m${r.kafka!.offset}`));
  await second.close();

  // A data directory whose bronze holds nothing of partitions 1 and 2 (reset, or a second lake on
  // the same group) reads them from the log start; partition 0 starts after its durable 104.
  const third = source(brokers, topic, groupId);
  await third.connect(async (stream) => (stream === `${topic}:0` ? 104 : undefined));
  t.after(() => third.close());
  const three = await drain(third);
  assert.deepEqual(offsets(three.records), [range(105, 109), range(0, 109), range(0, 109)]);
  await third.close();

  // Bronze durable beyond the end of the log: the topic was recreated under the lake's feet.
  const stale = source(brokers, topic, `g-${randomUUID()}`);
  await assert.rejects(
    stale.connect(async () => 5000),
    (err: unknown) =>
      err instanceof MedallionError && err.code === 'MDL_KAFKA_PROTOCOL' && /past the end/.test(err.message),
  );
  await stale.close();
});

test('KafkaSource does not commit slices of partitions revoked by a rebalance', async (t) => {
  const text = kafkaBrokersOrSkip(t);
  if (!text) return;
  const brokers = parseBrokers(text);
  const topic = await freshTopic(t, brokers);
  await produce(
    brokers,
    topic,
    Array.from({ length: 60 }, (_, i) => ({ key: null, value: `v${i}`, partition: i % PARTITIONS })),
  );
  const groupId = `g-${randomUUID()}`;

  const a = source(brokers, topic, groupId);
  await a.connect(async () => undefined);
  t.after(() => a.close());
  assert.deepEqual(a.assignedPartitions(), [0, 1, 2]);
  // Read everything (one slice per partition per batch), acknowledged only after the rebalance.
  let batch: SourceBatch = { slices: [], recordCount: 0, byteCount: 0 };
  while (batch.recordCount < 60) {
    const more = await a.readBatch({ maxRecords: 1000, maxBytes: 1 << 20, maxWaitMs: 2000 });
    assert.ok(more, 'expected the rest of the records');
    batch = {
      slices: [...batch.slices, ...more.slices],
      recordCount: batch.recordCount + more.recordCount,
      byteCount: batch.byteCount + more.byteCount,
    };
  }

  // A second member joins: the group rebalances and `a` loses some partitions.
  const b = source(brokers, topic, groupId);
  await b.connect(async () => undefined);
  t.after(() => b.close());
  for (let i = 0; i < 200 && a.assignedPartitions().length === PARTITIONS; i++)
    await new Promise((r) => setTimeout(r, 100));
  const kept = a.assignedPartitions();
  const taken = b.assignedPartitions();
  assert.ok(kept.length > 0 && kept.length < PARTITIONS, `a kept ${kept}`);
  assert.deepEqual([...kept, ...taken].sort(), [0, 1, 2]);

  await a.acknowledge(batch);
  await a.close();
  await b.close();

  // The group holds commits only for the partitions `a` still owned.
  const commits = await committedOffsets(brokers, groupId, topic);
  assert.deepEqual([...commits.keys()].sort(), kept);
  for (const p of kept) assert.equal(commits.get(p), 20);
});

test('an unreachable broker fails with MDL_KAFKA_UNREACHABLE, not a hang', { timeout: 60_000 }, async () => {
  const brokers = parseBrokers('127.0.0.1:1');
  const isUnreachable = (err: unknown) =>
    err instanceof MedallionError &&
    err.code === 'MDL_KAFKA_UNREACHABLE' &&
    err.retriable &&
    /MEDALLION_KAFKA_BROKERS/.test(err.hint ?? '');
  const src = source(brokers, 'medallion-nowhere', 'g-nowhere');
  await assert.rejects(
    src.connect(async () => undefined),
    isUnreachable,
  );
  await src.close();
  const sink = new KafkaEventSink({ brokers, topic: 'medallion-nowhere' });
  await assert.rejects(sink.connect(), isUnreachable);
  await sink.close();
  await assert.rejects(ensureTopic(brokers, 'medallion-nowhere', 3), isUnreachable);
  await assert.rejects(endOffsets(brokers, 'medallion-nowhere'), isUnreachable);
});

test('a missing topic is MDL_KAFKA_PROTOCOL with a hint', async (t) => {
  const text = kafkaBrokersOrSkip(t);
  if (!text) return;
  const brokers = parseBrokers(text);
  const topic = `medallion-missing-${randomUUID().slice(0, 8)}`;
  const isMissing = (err: unknown) =>
    err instanceof MedallionError && err.code === 'MDL_KAFKA_PROTOCOL' && err.message.includes(topic);
  const src = source(brokers, topic, `g-${randomUUID()}`);
  await assert.rejects(
    src.connect(async () => undefined),
    isMissing,
  );
  await src.close();
  await assert.rejects(endOffsets(brokers, topic), isMissing);
  const sink = new KafkaEventSink({ brokers, topic });
  await assert.rejects(sink.connect(), isMissing);
});
