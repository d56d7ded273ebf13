import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { MedallionError } from '../../../src/core/errors.ts';
import { commitKey } from '../../../src/lake/delta/delta-log.ts';
import { MIN_RETENTION_HOURS, optimizeTable, vacuumTable } from '../../../src/lake/delta/delta-maintenance.ts';
import { columnsOfSchemaString, schemaStringOf } from '../../../src/lake/delta/delta-schema.ts';
import { DeltaTable } from '../../../src/lake/delta/delta-table.ts';
import { writeDeltaFiles } from '../../../src/lake/delta/delta-writer.ts';
import { appendRows, EVENT_SCHEMA, eventsSql, readRows, tempLake } from '../../fixtures/delta/table-fixture.ts';

const PATH = 'silver/attendance_events';
const create = (lake: Awaited<ReturnType<typeof tempLake>>) =>
  DeltaTable.create(lake.storage, PATH, lake.engine, { schema: EVENT_SCHEMA, partitionColumns: ['event_date'] });

async function rejectsWith(p: Promise<unknown>, code: string): Promise<MedallionError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof MedallionError, `expected a MedallionError, got ${err}`);
    assert.equal(err.code, code, err.message);
    assert.ok(err.hint, 'a hint sentence');
    return err;
  }
  assert.fail(`expected ${code}`);
}

test('version 0 holds protocol 1/2, metaData with the Delta schema and partition columns, and commitInfo', async (t) => {
  const lake = await tempLake();
  t.after(() => lake.cleanup());
  assert.equal(await DeltaTable.exists(lake.storage, PATH), false);
  await rejectsWith(DeltaTable.open(lake.storage, PATH, lake.engine), 'MDL_DELTA_TABLE_NOT_FOUND');
  await create(lake);
  assert.equal(await DeltaTable.exists(lake.storage, PATH), true);
  await rejectsWith(create(lake), 'MDL_DELTA_TABLE_EXISTS');
  const lines = (await readFile(join(lake.root, PATH, '_delta_log', '00000000000000000000.json'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => Object.keys(l)[0]).sort(), ['commitInfo', 'metaData', 'protocol']);
  const protocol = lines.find((l) => l.protocol).protocol;
  assert.deepEqual(protocol, { minReaderVersion: 1, minWriterVersion: 2 });
  const meta = lines.find((l) => l.metaData).metaData;
  assert.deepEqual(meta.partitionColumns, ['event_date']);
  assert.equal(meta.format.provider, 'parquet');
  const schema = JSON.parse(meta.schemaString);
  assert.equal(schema.type, 'struct');
  const types = Object.fromEntries(schema.fields.map((f: { name: string; type: unknown }) => [f.name, f.type]));
  assert.equal(types.event_id, 'string');
  assert.equal(types.minutes, 'integer');
  assert.equal(types.event_time, 'timestamp');
  assert.equal(types.event_date, 'date');
  assert.deepEqual(types.warnings, { type: 'array', elementType: 'string', containsNull: true });
  const snap = await (await DeltaTable.open(lake.storage, PATH, lake.engine)).snapshot();
  assert.equal(snap.version, 0);
  assert.equal(snap.activeFiles.length, 0);
  assert.deepEqual(
    await lake.engine.all(
      `SELECT count(*)::INTEGER AS n FROM ${await (await DeltaTable.open(lake.storage, PATH, lake.engine)).readSql(snap)}`,
    ),
    [{ n: 0 }],
  );
});

test('schema types round-trip through schemaString', () => {
  const cols = columnsOfSchemaString(schemaStringOf(EVENT_SCHEMA));
  assert.deepEqual(
    cols.map((c) => [c.name, c.type]),
    EVENT_SCHEMA.map((c) => [c.name, c.type]),
  );
  const foreign = columnsOfSchemaString(
    JSON.stringify({
      type: 'struct',
      fields: [
        { name: 'a', type: 'long', nullable: true, metadata: {} },
        { name: 'b', type: 'timestamp', nullable: true, metadata: {} },
        { name: 'c', type: 'decimal(9,2)', nullable: true, metadata: {} },
      ],
    }),
  );
  assert.deepEqual(
    foreign.map((c) => c.type),
    ['BIGINT', 'TIMESTAMPTZ', 'DECIMAL(9,2)'],
  );
});

test('appends write hive-style partition files with stats; readSql gives exactly the rows; time travel', async (t) => {
  const lake = await tempLake();
  t.after(() => lake.cleanup());
  const table = await create(lake);
  const r1 = await appendRows(table, eventsSql('a', 300));
  assert.deepEqual(r1, { version: 1, committed: true, attempts: 1 });
  await appendRows(table, eventsSql('b', 30, 1));
  const snap = await table.snapshot();
  assert.equal(snap.version, 2);
  assert.equal(snap.activeFiles.length, 4);
  for (const f of snap.activeFiles) {
    assert.match(f.path, /^event_date=2018-10-0[1-3]\/part-00000-[0-9a-f-]{36}-c000\.snappy\.parquet$/);
    assert.equal(f.partitionValues.event_date, f.path.slice(11, 21));
    const stats = JSON.parse(f.stats!);
    assert.equal(stats.numRecords, f.numRecords);
    assert.ok(stats.minValues.event_id && stats.maxValues.event_time.endsWith('Z'));
    assert.equal(typeof stats.nullCount.status, 'number');
    assert.equal(stats.minValues.event_date, undefined, 'partition columns have no stats');
    assert.ok(f.size > 0 && f.dataChange);
  }
  const day1 = snap.activeFiles.filter((f) => f.partitionValues.event_date === '2018-10-01');
  assert.deepEqual(day1.map((f) => f.numRecords).sort(), [100, 30]);
  const expected = await lake.engine.all(
    `SELECT * FROM (${eventsSql('a', 300)} UNION ALL ${eventsSql('b', 30, 1)}) ORDER BY event_id`,
  );
  const rows = await readRows(table);
  assert.equal(rows.length, 330);
  assert.deepEqual(rows, expected);
  const nulls = await lake.engine.all(
    `SELECT count(*) FILTER (WHERE status IS NULL)::INTEGER AS n FROM ${await table.readSql(snap)}`,
  );
  assert.deepEqual(
    nulls,
    await lake.engine.all(
      `SELECT count(*) FILTER (WHERE status IS NULL)::INTEGER AS n FROM (${eventsSql('a', 300)} UNION ALL ${eventsSql('b', 30, 1)})`,
    ),
  );
  assert.equal((await readRows(table, 1)).length, 300);
  assert.equal((await readRows(table, 0)).length, 0);
  await rejectsWith(table.snapshot(3), 'MDL_DELTA_VERSION_NOT_FOUND');
  const history = await table.history();
  assert.deepEqual(
    history.map((h) => [h.version, h.operation]),
    [
      [2, 'WRITE'],
      [1, 'WRITE'],
      [0, 'CREATE TABLE'],
    ],
  );
});

test('txn makes a batch idempotent: the same appId/version commits once', async (t) => {
  const lake = await tempLake();
  t.after(() => lake.cleanup());
  const table = await create(lake);
  assert.equal(await table.txnVersion('refine'), -1);
  assert.equal((await appendRows(table, eventsSql('a', 10), { appId: 'refine', version: 0 })).committed, true);
  const again = await appendRows(table, eventsSql('a', 10), { appId: 'refine', version: 0 });
  assert.deepEqual(again, { version: 1, committed: false, attempts: 0 });
  assert.equal(await table.txnVersion('refine'), 0);
  assert.equal((await appendRows(table, eventsSql('b', 10), { appId: 'refine', version: 1 })).version, 2);
  assert.equal(await table.txnVersion('refine'), 1);
  assert.equal((await readRows(table)).length, 20);
});

test('two interleaved writers never both win a version: the loser retries at the next one', async (t) => {
  const lake = await tempLake();
  t.after(() => lake.cleanup());
  const a = await create(lake);
  const b = await DeltaTable.open(lake.storage, PATH, lake.engine);
  const snapA = await a.snapshot();
  const snapB = await b.snapshot();
  const wa = await writeDeltaFiles(lake.engine, lake.storage, snapA, eventsSql('a', 20));
  const wb = await writeDeltaFiles(lake.engine, lake.storage, snapB, eventsSql('b', 20));
  const [ra, rb] = await Promise.all([
    a.commit({ add: wa.add, operation: 'WRITE', readVersion: 0 }),
    b.commit({ add: wb.add, operation: 'WRITE', readVersion: 0 }),
  ]);
  assert.deepEqual([ra.version, rb.version].sort(), [1, 2]);
  assert.deepEqual([ra.attempts, rb.attempts].sort(), [1, 2]);
  assert.equal((await readRows(a)).length, 40);

  // Same batch from two writers at once: one commits it, the other sees it is done.
  const snap = await a.snapshot();
  const w1 = await writeDeltaFiles(lake.engine, lake.storage, snap, eventsSql('c', 5));
  const w2 = await writeDeltaFiles(lake.engine, lake.storage, snap, eventsSql('c', 5));
  const results = await Promise.all([
    a.commit({ add: w1.add, operation: 'WRITE', txn: { appId: 'job', version: 7 }, readVersion: snap.version }),
    b.commit({ add: w2.add, operation: 'WRITE', txn: { appId: 'job', version: 7 }, readVersion: snap.version }),
  ]);
  assert.deepEqual(results.map((r) => r.committed).sort(), [false, true]);
  assert.equal((await readRows(a)).length, 45);

  // Two writers removing the same file: the second is a conflict.
  const base = await a.snapshot();
  const victim = base.activeFiles[0]!;
  await a.commit({ remove: [{ path: victim.path }], operation: 'DELETE', readVersion: base.version });
  await rejectsWith(
    b.commit({ remove: [{ path: victim.path }], operation: 'DELETE', readVersion: base.version }),
    'MDL_DELTA_CONFLICT',
  );
  await rejectsWith(b.commit({ remove: [{ path: victim.path }], operation: 'DELETE' }), 'MDL_DELTA_CONFLICT');
});

test('LocalStorage.putIfAbsent: of many racing creators exactly one wins, and the file is whole', async (t) => {
  const lake = await tempLake();
  t.after(() => lake.cleanup());
  const texts = Array.from({ length: 25 }, (_, i) => `writer ${i}\n`.repeat(1000));
  const wins = await Promise.all(texts.map((text) => lake.storage.putIfAbsent('x/_delta_log/0.json', text)));
  assert.equal(wins.filter(Boolean).length, 1);
  assert.equal(await lake.storage.readText('x/_delta_log/0.json'), texts[wins.indexOf(true)]);
  assert.deepEqual(
    (await lake.storage.list('x')).map((f) => f.key),
    ['x/_delta_log/0.json'],
    'no temporary files left',
  );
});

test('a checkpoint every 10 commits; readers start from it; _last_checkpoint points at it', async (t) => {
  const lake = await tempLake();
  t.after(() => lake.cleanup());
  const table = await create(lake);
  for (let i = 0; i < 12; i++) await appendRows(table, eventsSql(`b${i}`, 6), { appId: 'refine', version: i });
  const last = JSON.parse((await lake.storage.readText(`${PATH}/_delta_log/_last_checkpoint`))!);
  assert.equal(last.version, 10);
  assert.ok(last.size > 0);
  assert.ok(await lake.storage.exists(`${PATH}/_delta_log/00000000000000000010.checkpoint.parquet`));
  const cp = await lake.engine.all(
    `SELECT count(add) AS adds, count(metaData) AS meta, count(protocol) AS proto, count(txn) AS txns
     FROM read_parquet('${lake.storage.uri(`${PATH}/_delta_log/00000000000000000010.checkpoint.parquet`)}')`,
  );
  assert.deepEqual(cp, [{ adds: 30, meta: 1, proto: 1, txns: 1 }]);
  const before = await readRows(table);
  // Damage an entry the checkpoint covers: a reader that uses the checkpoint never reads it.
  await writeFile(lake.storage.uri(commitKey(PATH, 5)), 'not json\n');
  const snap = await table.snapshot();
  assert.equal(snap.version, 12);
  assert.equal(snap.txns.get('refine'), 11);
  assert.deepEqual(await readRows(table), before);
  assert.equal((await readRows(table, 10)).length, 60);
  await rejectsWith(table.snapshot(7), 'MDL_DELTA_PROTOCOL');
});

test('optimize compacts small files per partition with dataChange=false, rows unchanged', async (t) => {
  const lake = await tempLake();
  t.after(() => lake.cleanup());
  const table = await create(lake);
  for (let i = 0; i < 5; i++) await appendRows(table, eventsSql(`b${i}`, 30));
  const before = await readRows(table);
  assert.equal((await table.snapshot()).activeFiles.length, 15);
  const result = await optimizeTable(table, { targetFileRows: 1000 });
  assert.deepEqual(result, { version: 6, filesRemoved: 15, filesAdded: 3, partitionsOptimized: 3 });
  const snap = await table.snapshot();
  assert.equal(snap.activeFiles.length, 3);
  assert.ok(snap.activeFiles.every((f) => f.dataChange === false && f.numRecords === 50));
  const log = (await lake.storage.readText(commitKey(PATH, 6)))!
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(log.filter((l) => l.remove).every((l) => l.remove.dataChange === false));
  assert.deepEqual(await readRows(table), before);
  assert.equal((await table.history())[0]!.operation, 'OPTIMIZE');
  assert.equal((await optimizeTable(table, { targetFileRows: 1000 })).version, undefined, 'nothing left to do');
});

test('vacuum: refuses an unsafe retention, deletes expired removed files and old orphans, time travel then fails clearly', async (t) => {
  const lake = await tempLake();
  t.after(() => lake.cleanup());
  const table = await create(lake);
  await appendRows(table, eventsSql('a', 30));
  await appendRows(table, eventsSql('b', 30));
  const orphan = await writeDeltaFiles(lake.engine, lake.storage, await table.snapshot(), eventsSql('x', 3, 1));
  await optimizeTable(table, { targetFileRows: 1000 });
  await rejectsWith(vacuumTable(table, { retentionHours: 1 }), 'MDL_DELTA_UNSAFE_RETENTION');
  const kept = await vacuumTable(table, { retentionHours: MIN_RETENTION_HOURS });
  assert.deepEqual(kept.deleted, [], 'nothing is old enough');
  await writeFile(lake.storage.uri(`${PATH}/event_date=2018-10-01/part-killed.parquet.1.ab.tmp`), 'half a file');
  const dry = await vacuumTable(table, { retentionHours: 0, force: true, dryRun: true, now: Date.now() + 1000 });
  assert.equal(dry.deleted.length, 8);
  assert.ok(dry.deleted.includes(`${PATH}/event_date=2018-10-01/part-killed.parquet.1.ab.tmp`));
  assert.equal((await readRows(table, 2)).length, 60, 'a dry run deletes nothing');
  const done = await vacuumTable(table, { retentionHours: 0, force: true, now: Date.now() + 1000 });
  assert.deepEqual(done.deleted, dry.deleted);
  assert.ok(done.deleted.includes(`${PATH}/${orphan.add[0]!.path}`), 'the never-committed file is gone');
  assert.ok(done.bytes > 0);
  assert.equal((await readRows(table)).length, 60);
  assert.ok(await lake.storage.exists(commitKey(PATH, 0)), 'the log is kept');
  await rejectsWith(readRows(table, 2), 'MDL_DELTA_FILES_MISSING');
});

test('append skips a batch already in before writing; unpartitioned tables and null partition values', async (t) => {
  const lake = await tempLake();
  t.after(() => lake.cleanup());
  const q = await DeltaTable.create(lake.storage, 'quarantine/events', lake.engine, {
    schema: [
      { name: 'raw', type: 'VARCHAR' },
      { name: 'rules', type: 'VARCHAR[]' },
    ],
  });
  const r = await q.append(`SELECT 'line ' || i AS raw, ['malformed_json'] AS rules FROM range(7) r(i)`, {
    txn: { appId: 'refine', version: 3 },
  });
  assert.deepEqual(r, { version: 1, committed: true, attempts: 1, rows: 7 });
  const files = (await lake.storage.list('quarantine/events')).length;
  const again = await q.append(`SELECT 'x' AS raw, [] AS rules`, { txn: { appId: 'refine', version: 3 } });
  assert.equal(again.committed, false);
  assert.equal((await lake.storage.list('quarantine/events')).length, files, 'nothing written for a done batch');
  assert.match((await q.snapshot()).activeFiles[0]!.path, /^part-00000-/);
  assert.deepEqual(await lake.engine.all(`SELECT count(*)::INTEGER AS n FROM ${await q.relation()}`), [{ n: 7 }]);

  const table = await create(lake);
  await table.append(
    `SELECT * REPLACE (CASE WHEN event_id = 'a-1' THEN NULL ELSE event_date END AS event_date) FROM (${eventsSql('a', 6)})`,
  );
  const snap = await table.snapshot();
  const nullFile = snap.activeFiles.find((f) => f.partitionValues.event_date === null);
  assert.ok(nullFile);
  assert.match(nullFile.path, /^event_date=__HIVE_DEFAULT_PARTITION__\//);
  const rows = await readRows(table);
  assert.equal(rows.length, 6);
  assert.equal(rows.find((r) => r.event_id === 'a-1')!.event_date, null);
});

test('a table needing a newer reader is refused with MDL_DELTA_PROTOCOL', async (t) => {
  const lake = await tempLake();
  t.after(() => lake.cleanup());
  await create(lake);
  await lake.storage.putIfAbsent(
    commitKey(PATH, 1),
    `${JSON.stringify({ protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['deletionVectors'], writerFeatures: ['deletionVectors'] } })}\n`,
  );
  const table = await DeltaTable.open(lake.storage, PATH, lake.engine);
  await rejectsWith(table.snapshot(), 'MDL_DELTA_PROTOCOL');
  assert.equal((await table.snapshot(0)).version, 0, 'older versions stay readable');
});

test('maxRowsPerFile splits a partition into files; versionAsOf finds the version current at a time', async (t) => {
  const lake = await tempLake();
  t.after(() => lake.cleanup());
  const table = await create(lake);
  const snapshot = await table.snapshot();
  const written = await writeDeltaFiles(lake.engine, lake.storage, snapshot, eventsSql('a', 250, 1), {
    maxRowsPerFile: 100,
  });
  assert.deepEqual(
    written.add.map((a) => JSON.parse(a.stats!).numRecords),
    [100, 100, 50],
  );
  await table.commit({ add: written.add, operation: 'WRITE' });
  assert.equal((await readRows(table)).length, 250);
  const history = await table.history();
  assert.equal(await table.versionAsOf(history[0]!.timestamp!), 1);
  assert.equal(
    await table.versionAsOf(history[1]!.timestamp!),
    history[1]!.timestamp! < history[0]!.timestamp! ? 0 : 1,
  );
  await rejectsWith(table.versionAsOf(history[1]!.timestamp! - 1), 'MDL_DELTA_VERSION_NOT_FOUND');
});

test('writer version 2 rules: an append-only table refuses data-changing removes', async (t) => {
  const lake = await tempLake();
  t.after(() => lake.cleanup());
  const table = await DeltaTable.create(lake.storage, PATH, lake.engine, {
    schema: EVENT_SCHEMA,
    partitionColumns: ['event_date'],
    configuration: { 'delta.appendOnly': 'true' },
  });
  await appendRows(table, eventsSql('a', 6));
  await appendRows(table, eventsSql('b', 6));
  const victim = (await table.snapshot()).activeFiles[0]!;
  await rejectsWith(table.commit({ remove: [{ path: victim.path }], operation: 'DELETE' }), 'MDL_DELTA_PROTOCOL');
  assert.equal((await optimizeTable(table, { targetFileRows: 100 })).filesAdded, 3, 'compaction is allowed');
  assert.equal((await readRows(table)).length, 12);
});
