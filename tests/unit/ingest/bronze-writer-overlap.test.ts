import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDuckDb } from '../../../src/engine/duckdb.ts';
import { addRange, BronzeWriter, uncoveredRuns } from '../../../src/ingest/bronze-writer.ts';
import type { SourceBatch, SourceRecord, StreamSlice } from '../../../src/sources/source.ts';
import { LocalStorage } from '../../../src/storage/local/local-storage.ts';

const STREAM = 'topic:3';

function record(offset: number): SourceRecord {
  return {
    position: { stream: STREAM, offset },
    value: `{"o":${offset}}`,
    key: null,
    timestampMs: 1_700_000_000_000 + offset,
    headers: null,
    kafka: { topic: 'topic', partition: 3, offset },
  };
}

function slice(first: number, last: number, skip: readonly number[] = []): StreamSlice {
  const records: SourceRecord[] = [];
  for (let o = first; o <= last; o++) if (!skip.includes(o)) records.push(record(o));
  return {
    stream: STREAM,
    firstOffset: records[0]!.position.offset,
    lastOffset: records.at(-1)!.position.offset,
    records,
  };
}

const batch = (...slices: StreamSlice[]): SourceBatch => ({
  slices,
  recordCount: slices.reduce((n, s) => n + s.records.length, 0),
  byteCount: 0,
});

test('addRange merges touching ranges; uncoveredRuns keeps only what no range holds', () => {
  let c = addRange([], 10, 19);
  c = addRange(c, 30, 39);
  c = addRange(c, 20, 25);
  assert.deepEqual(c, [
    [10, 25],
    [30, 39],
  ]);
  assert.deepEqual(addRange(c, 0, 100), [[0, 100]]);
  const runs = uncoveredRuns(slice(5, 45, [41]), c);
  assert.deepEqual(
    runs.map((r) => [r.firstOffset, r.lastOffset, r.records.length]),
    [
      [5, 9, 5],
      [26, 29, 4],
      [40, 45, 5],
    ],
  );
  assert.deepEqual(uncoveredRuns(slice(12, 20), c), []);
  const whole = slice(50, 60);
  assert.equal(uncoveredRuns(whole, c)[0], whole);
});

for (const order of ['race', 'owner first'] as const)
  test(`two writers of one stream (a zombie and the new owner) never write an offset twice (${order})`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'medallion-bronze-'));
    const engine = await openDuckDb(':memory:');
    try {
      const storage = new LocalStorage(join(dir, 'lake'));
      const stateDir = join(dir, 'state');
      const zombie = new BronzeWriter(storage, 'events', engine, { stateDir });
      const owner = new BronzeWriter(storage, 'events', engine, { stateDir });
      await zombie.write(batch(slice(0, 99)));
      // Both believe they own the stream from offset 100 on and write overlapping batches at once.
      // The owner's read has a gap at 120 (as a compacted or transactional partition has): a range it
      // wrote counts as held, gap included, so 120 is in bronze only when the zombie's write of it
      // came first. Which slice takes the stream's lock first is up to the race.
      // "owner first" pins the order a loaded machine sometimes gives the race.
      const zombieWrite = () => zombie.write(batch(slice(100, 199)));
      const ownerWrite = () => owner.write(batch(slice(100, 149, [120]), slice(150, 260)));
      const [z, o] =
        order === 'race'
          ? await Promise.all([zombieWrite(), ownerWrite()])
          : await ownerWrite().then(async (ow) => [await zombieWrite(), ow] as const);
      if (order === 'owner first') assert.deepEqual(z, [], 'everything the zombie read is held by the owner');
      const written = [...z, ...o].map((f) => [f.firstOffset, f.lastOffset] as const);
      // The later one kept only what the first had not written.
      const zombieWonFirst = z.length === 1 && z[0]!.firstOffset === 100;
      assert.ok(written.length >= 2, JSON.stringify(written));
      // A zombie that comes back later writes nothing already held.
      assert.deepEqual(await zombie.write(batch(slice(150, 180))), []);
      const rows = await engine.all<{ o: number; n: number }>(
        `SELECT stream_offset::INT AS o, count(*)::INT AS n FROM read_parquet('${storage.uri('bronze/events')}/**/*.parquet')
       GROUP BY 1 HAVING count(*) > 1`,
      );
      assert.deepEqual(rows, [], `offsets written twice (zombie first: ${zombieWonFirst})`);
      const all = await engine.all<{ n: number; lo: number; hi: number }>(
        `SELECT count(*)::INT AS n, min(stream_offset)::INT AS lo, max(stream_offset)::INT AS hi
       FROM read_parquet('${storage.uri('bronze/events')}/**/*.parquet')`,
      );
      const zombieWrote120 = z.some((f) => f.firstOffset <= 120 && f.lastOffset >= 120);
      assert.deepEqual(all, [{ n: zombieWrote120 ? 261 : 260, lo: 0, hi: 260 }], JSON.stringify(written));
      const [gap] = await engine.all<{ n: number }>(
        `SELECT count(*)::INT AS n FROM read_parquet('${storage.uri('bronze/events')}/**/*.parquet') WHERE stream_offset = 120`,
      );
      assert.equal(gap!.n, zombieWrote120 ? 1 : 0);
      assert.equal(await owner.lastDurable(STREAM, 0), 260);
      assert.deepEqual([...(await owner.coverage())], [[STREAM, [[0, 260]]]]);
    } finally {
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

test('bronze keeps values exactly as received: text, raw bytes (invalid UTF-8, NUL), keys, headers, timestamps', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'medallion-bronze-'));
  const engine = await openDuckDb(':memory:');
  try {
    const storage = new LocalStorage(join(dir, 'lake'));
    const writer = new BronzeWriter(storage, 'events', engine, { stateDir: join(dir, 'state') });
    const garbage = new Uint8Array([0xff, 0x00, 0xfe, 0x7b, 0xc3]);
    const big = 'x'.repeat(3 * 1024 * 1024);
    const records: SourceRecord[] = [
      { ...record(0), value: ' {"a":1}\r\n\t ', key: 'k', headers: '{"h":"v"}' },
      { ...record(1), value: null, valueBytes: garbage, key: null, timestampMs: null },
      { ...record(2), value: '\uFEFFprésent ✓ 😀', key: 'é' },
      { ...record(3), value: big },
      { ...record(4), value: null, valueBytes: null },
    ];
    await writer.write(batch({ stream: STREAM, firstOffset: 0, lastOffset: 4, records }));
    const rows = await engine.all<Record<string, unknown>>(
      `SELECT kafka_offset::INT AS o, value, hex(value) AS vhex, hex(value_bytes) AS bytes, kafka_key AS k, kafka_headers AS h,
              epoch_ms(kafka_timestamp)::BIGINT AS ts, kafka_topic AS t, kafka_partition::INT AS p, stream
       FROM read_parquet('${storage.uri('bronze/events')}/**/*.parquet') ORDER BY kafka_offset`,
    );
    assert.deepEqual(
      rows.map((r) => [r['o'], r['value'] === big ? 'BIG' : r['value'], r['bytes'], r['k'], r['h'], r['ts']]),
      [
        [0, ' {"a":1}\r\n\t ', null, 'k', '{"h":"v"}', 1_700_000_000_000],
        [1, null, 'FF00FE7BC3', null, null, null],
        [2, rows[2]!['value'], null, 'é', null, 1_700_000_000_002],
        [3, 'BIG', null, null, null, 1_700_000_000_003],
        [4, null, null, null, null, 1_700_000_000_004],
      ],
    );
    // Compared as bytes too: the BOM must survive (a JS decoder on the way out may drop it).
    assert.equal(rows[2]!['vhex'], Buffer.from('\uFEFFprésent ✓ 😀').toString('hex').toUpperCase());
    assert.ok(rows.every((r) => r['t'] === 'topic' && r['p'] === 3 && r['stream'] === STREAM));
  } finally {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  }
});
