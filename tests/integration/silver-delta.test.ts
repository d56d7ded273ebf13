import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { GroundTruth } from '../../src/simulate/index.ts';
import { deltaPythonOrSkip, normalizeRows, peerRead } from '../fixtures/delta/delta-peer.ts';
import { medallion, medallionJson } from '../helpers/cli.ts';
import { tempContext } from '../helpers/temp-context.ts';

test('delta-rs reads every silver table with the same rows; time travel, optimize and vacuum behave', async (t) => {
  const python = deltaPythonOrSkip(t);
  if (!python) return;
  const { dataDir, cleanup } = await tempContext();
  const env = { MEDALLION_HOME: dataDir };
  const rows = (sql: string) => medallionJson<Record<string, unknown>[]>(['query', sql, '--json'], env);
  try {
    const first = await medallionJson<GroundTruth>(
      ['simulate', '--events', '5000', '--schema-v2', '0.3', '--json'],
      env,
    );
    assert.equal((await medallion(['run', '--once'], env)).code, 0);
    const v1 = await medallionJson<GroundTruth>(
      ['simulate', '--events', '3000', '--seed', '3', '--start-date', '2018-10-02', '--json'],
      env,
    );
    assert.equal((await medallion(['run', '--once'], env)).code, 0);
    const v2 = await medallionJson<GroundTruth>(
      ['simulate', '--events', '2000', '--seed', '4', '--start-date', '2018-10-02', '--json'],
      env,
    );
    assert.equal((await medallion(['run', '--once'], env)).code, 0);

    for (const layer of ['silver', 'quarantine', 'duplicates']) {
      const peer = await peerRead(python, join(dataDir, 'lake', layer, 'attendance_events'));
      const ours = normalizeRows(await rows(`SELECT * FROM ${layer}.attendance_events`));
      assert.equal(peer.rows.length, ours.length, `${layer}: row count`);
      assert.deepEqual(peer.rows, ours, `${layer}: delta-rs reads the same rows`);
    }
    const silverRows = first.events + v1.events + v2.events;
    assert.deepEqual(await rows('SELECT count(*)::INT AS n FROM silver.attendance_events'), [{ n: silverRows }]);

    // Time travel: version 1 is the first chunk (version 0 created the table).
    const atV1 = await rows('SELECT count(*)::INT AS n FROM silver."attendance_events@v1"');
    assert.deepEqual(atV1, [{ n: first.events }]);
    const peerV1 = await peerRead(python, join(dataDir, 'lake', 'silver', 'attendance_events'), 1);
    assert.equal(peerV1.rows.length, first.events);

    // Compaction: fewer files, the same rows (for delta-rs too).
    const before = await peerRead(python, join(dataDir, 'lake', 'silver', 'attendance_events'));
    const opt = await medallionJson<{ silver: { filesRemoved: number; filesAdded: number } }>(
      ['optimize', '--target-rows', '1000000', '--json'],
      env,
    );
    assert.ok(opt.silver.filesRemoved > opt.silver.filesAdded);
    const after = await peerRead(python, join(dataDir, 'lake', 'silver', 'attendance_events'));
    assert.ok(after.files < before.files);
    assert.deepEqual(after.rows, before.rows);
    assert.equal((await medallion(['run', '--once'], env)).code, 0, 'load follows a compaction without doubling rows');
    assert.deepEqual(await rows('SELECT sum(enrolled)::INT AS n FROM gold.fact_event_metrics'), [{ n: silverRows }]);

    // Vacuum with no retention removes the compacted files: version 2 (which read the first file of
    // the second day, compacted since) can no longer be read; version 1 still can.
    const refused = await medallion(['vacuum', '--retention-hours', '0'], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /MDL_DELTA_UNSAFE_RETENTION/);
    const vac = await medallionJson<{ silver: { deleted: string[] } }>(
      ['vacuum', '--retention-hours', '0', '--force', '--json'],
      env,
    );
    assert.ok(vac.silver.deleted.length >= before.files - after.files);
    const gone = await medallion(['query', 'SELECT count(*) FROM silver."attendance_events@v2"'], env);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /MDL_DELTA_FILES_MISSING/);
    assert.deepEqual(await rows('SELECT count(*)::INT AS n FROM silver."attendance_events@v1"'), [{ n: first.events }]);
    assert.deepEqual(await rows('SELECT count(*)::INT AS n FROM silver.attendance_events'), [{ n: silverRows }]);
  } finally {
    await cleanup();
  }
});
