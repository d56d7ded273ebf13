import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deleteTopic, ensureTopic, KafkaEventSink, parseBrokers } from '../../src/sources/kafka/index.ts';
import { medallion, medallionJson } from '../helpers/cli.ts';
import { kafkaBrokersOrSkip } from '../helpers/services.ts';
import { tempProject } from '../helpers/temp-project.ts';

test('ingest --once against an unreachable broker retries with backoff, then fails with MDL_KAFKA_UNREACHABLE', {
  timeout: 120_000,
}, async () => {
  const p = await tempProject();
  try {
    const r = await medallion(['ingest', '--project', p.dir, '--once', '--kafka', '127.0.0.1:1'], {
      MEDALLION_HOME: p.home,
      MEDALLION_QUIET: '0',
    });
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.match(/Retrying in \d+\.\d s/g)?.length, 4, r.stderr);
    assert.match(r.stderr, /medallion ingest: MDL_KAFKA_UNREACHABLE: .*MEDALLION_KAFKA_BROKERS/);
  } finally {
    await p.cleanup();
  }
});

test('bad start positions are usage errors', async () => {
  const p = await tempProject();
  try {
    const env = { MEDALLION_HOME: p.home };
    const notTime = await medallion(['ingest', '--project', p.dir, '--once', '--from-timestamp', 'soon'], env);
    assert.equal(notTime.code, 2);
    assert.match(notTime.stderr, /MDL_USAGE: --from-timestamp soon is not a time/);
    const landing = await medallion(['ingest', '--project', p.dir, '--once', '--from-timestamp', '2026-01-01'], env);
    assert.notEqual(landing.code, 0);
    assert.match(landing.stderr, /MDL_USAGE: Starting from a timestamp needs a Kafka source/);
  } finally {
    await p.cleanup();
  }
});

test('poison messages (large, invalid UTF-8, garbage, empty) land in bronze exactly as received and do not stop ingest', async (t) => {
  const brokers = kafkaBrokersOrSkip(t);
  if (!brokers) return;
  const p = await tempProject();
  const list = parseBrokers(brokers);
  try {
    await ensureTopic(list, p.topic, 1);
    const large = `{"pad":"${'é'.repeat(400_000)}"}`;
    const garbage = Uint8Array.from({ length: 4096 }, (_, i) => (i * 97 + 13) % 256);
    const sink = new KafkaEventSink({ brokers: list, topic: p.topic });
    await sink.connect();
    await sink.send([
      { key: 'a', value: '{"ok":1}', partition: 0 },
      { key: 'b', value: large, partition: 0 },
      { key: null, value: new Uint8Array([0x7b, 0xff, 0xfe, 0x00, 0x7d]), partition: 0 },
      { key: 'c', value: garbage, partition: 0 },
      { key: 'd', value: '', partition: 0, headers: { trace: 'x' } },
      { key: 'e', value: '{"ok":2}', partition: 0 },
    ]);
    await sink.close();
    const env = { MEDALLION_HOME: p.home };
    const r = await medallion(['ingest', '--project', p.dir, '--once', '--kafka', brokers], env);
    assert.equal(r.code, 0, r.stderr);
    const rows = await medallionJson<{ o: number; len: number | null; hex: string | null; h: string | null }[]>(
      [
        'query',
        '--project',
        p.dir,
        `SELECT kafka_offset::INT AS o, octet_length(encode(value))::INT AS len, hex(value_bytes) AS hex, kafka_headers AS h
         FROM bronze.attendance_events ORDER BY kafka_offset`,
        '--json',
      ],
      env,
    );
    assert.deepEqual(rows, [
      { o: 0, len: 8, hex: null, h: null },
      { o: 1, len: Buffer.byteLength(large), hex: null, h: null },
      { o: 2, len: null, hex: '7BFFFE007D', h: null },
      { o: 3, len: null, hex: Buffer.from(garbage).toString('hex').toUpperCase(), h: null },
      { o: 4, len: 0, hex: null, h: '{"trace":"x"}' },
      { o: 5, len: 8, hex: null, h: null },
    ]);
  } finally {
    await deleteTopic(list, p.topic).catch(() => {});
    await p.cleanup();
  }
});
