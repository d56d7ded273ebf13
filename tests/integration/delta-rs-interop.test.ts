import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { optimizeTable, vacuumTable } from '../../src/lake/delta/delta-maintenance.ts';
import { DeltaTable } from '../../src/lake/delta/delta-table.ts';
import { deltaPythonOrSkip, normalizeRows, peerRead, peerVersions, peerWrite } from '../fixtures/delta/delta-peer.ts';
import { appendRows, EVENT_SCHEMA, eventsSql, readRows, tempLake } from '../fixtures/delta/table-fixture.ts';

const PATH = 'silver/attendance_events';

test('delta-rs reads a Medallion table with the same rows Medallion reads: latest, time travel, after a checkpoint and optimize', async (t) => {
  const python = deltaPythonOrSkip(t);
  if (!python) return;
  const lake = await tempLake();
  t.after(() => lake.cleanup());
  process.stderr.write(`delta-rs peer: ${JSON.stringify(await peerVersions(python))}\n`);
  const table = await DeltaTable.create(lake.storage, PATH, lake.engine, {
    schema: EVENT_SCHEMA,
    partitionColumns: ['event_date'],
  });
  const dir = join(lake.root, PATH);
  for (let i = 0; i < 11; i++) await appendRows(table, eventsSql(`b${i}`, 40), { appId: 'refine', version: i });
  assert.ok(await lake.storage.exists(`${PATH}/_delta_log/00000000000000000010.checkpoint.parquet`));
  const check = async (version?: number) => {
    const ours = normalizeRows(await readRows(table, version));
    const theirs = await peerRead(python, dir, version);
    assert.equal(theirs.version, version ?? (await table.latestVersion()));
    assert.equal(theirs.rows.length, ours.length);
    assert.deepEqual(theirs.rows, ours);
    return ours.length;
  };
  assert.equal(await check(), 440);
  assert.equal(await check(3), 120);
  assert.equal(await check(10), 400);
  const opt = await optimizeTable(table, { targetFileRows: 10_000 });
  assert.equal(opt.filesAdded, 3);
  assert.equal(await check(), 440);
  assert.equal((await peerRead(python, dir)).files, 3);
  await vacuumTable(table, { retentionHours: 0, force: true, now: Date.now() + 1000 });
  assert.equal(await check(), 440);
  // Without the JSON entries the checkpoint covers, both readers must rely on the checkpoint.
  for (let v = 0; v < 10; v++) await lake.storage.delete(`${PATH}/_delta_log/${String(v).padStart(20, '0')}.json`);
  assert.equal(await check(), 440);
});

test('Medallion reads a table written by delta-rs (appends and a delta-rs checkpoint) with the rows delta-rs reads', async (t) => {
  const python = deltaPythonOrSkip(t);
  if (!python) return;
  const lake = await tempLake();
  t.after(() => lake.cleanup());
  const dir = join(lake.root, 'silver', 'from_delta_rs');
  const { version } = await peerWrite(python, dir);
  assert.equal(version, 2);
  const table = await DeltaTable.open(lake.storage, 'silver/from_delta_rs', lake.engine);
  for (const v of [undefined, 0, 1]) {
    const snap = await table.snapshot(v);
    const ours = normalizeRows(await lake.engine.all(`SELECT * FROM ${await table.readSql(snap)}`));
    const theirs = await peerRead(python, dir, v);
    assert.deepEqual(theirs.rows, ours);
  }
  const snap = await table.snapshot();
  assert.deepEqual(snap.partitionColumns, ['event_date']);
  assert.equal(
    snap.columns.find((c) => c.name === 'seen_at')?.type,
    'TIMESTAMPTZ',
    'a foreign timestamp column reads as an instant',
  );
  // Medallion can append to it and delta-rs still reads everything.
  await lake.engine.exec(`SET TimeZone = 'UTC'`);
  const written = await appendRows(
    table,
    `SELECT 'm' || i AS event_id, i AS n, i / 2 AS score, TIMESTAMPTZ '2018-10-03 08:00:00+00' AS seen_at, DATE '2018-10-03' AS event_date FROM range(4) r(i)`,
  );
  assert.equal(written.version, 3);
  const all = await peerRead(python, dir);
  assert.equal(all.rows.length, 19);
  assert.deepEqual(
    all.rows,
    normalizeRows(await lake.engine.all(`SELECT * FROM ${await table.readSql(await table.snapshot())}`)),
  );
});

test('delta-rs reads an unpartitioned table and a null partition value as Medallion does', async (t) => {
  const python = deltaPythonOrSkip(t);
  if (!python) return;
  const lake = await tempLake();
  t.after(() => lake.cleanup());
  const q = await DeltaTable.create(lake.storage, 'quarantine/events', lake.engine, {
    schema: [
      { name: 'raw', type: 'VARCHAR' },
      { name: 'rules', type: 'VARCHAR[]' },
      { name: 'line', type: 'BIGINT' },
    ],
  });
  await q.append(`SELECT 'line ' || i AS raw, ['malformed_json'] AS rules, i AS line FROM range(9) r(i)`);
  const qRows = normalizeRows(await lake.engine.all(`SELECT * FROM ${await q.relation()}`));
  assert.deepEqual((await peerRead(python, join(lake.root, 'quarantine/events'))).rows, qRows);

  const table = await DeltaTable.create(lake.storage, PATH, lake.engine, {
    schema: EVENT_SCHEMA,
    partitionColumns: ['event_date'],
  });
  await table.append(
    `SELECT * REPLACE (CASE WHEN event_id LIKE '%1' THEN NULL ELSE event_date END AS event_date) FROM (${eventsSql('a', 30)})`,
  );
  const ours = normalizeRows(await readRows(table));
  assert.ok(ours.some((r) => r.event_date === null));
  assert.deepEqual((await peerRead(python, join(lake.root, PATH))).rows, ours);
});
