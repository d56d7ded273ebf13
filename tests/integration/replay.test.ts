import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { PipelineStatus } from '../../src/ops/status.ts';
import type { GroundTruth } from '../../src/simulate/index.ts';
import { medallion, medallionJson } from '../helpers/cli.ts';

const SILVER_BY_DATE = `SELECT event_date::VARCHAR AS d, count(*)::INT AS n, count(*) FILTER (WHERE is_late)::INT AS late,
  md5(string_agg(event_id || ':' || student_key || ':' || status || ':' || is_late::VARCHAR, ',' ORDER BY event_id)) AS digest
  FROM silver.attendance_events GROUP BY 1 ORDER BY 1`;
const GOLD_BY_DATE = `SELECT event_date::VARCHAR AS d, count(*)::INT AS schools, sum(enrolled)::INT AS enrolled, sum(present)::INT AS present,
  sum(absent)::INT AS absent, sum(late)::INT AS late, sum(excused)::INT AS excused FROM gold.fact_event_metrics GROUP BY 1 ORDER BY 1`;

test('replay rebuilds a lost silver partition from bronze with the same rows, and gold with it', async () => {
  const home = await mkdtemp(join(tmpdir(), 'medallion-replay-'));
  const env = { MEDALLION_HOME: home };
  try {
    const truth = await medallionJson<GroundTruth>(['simulate', '--days', '3', '--sample', '0.01', '--json'], env);
    assert.equal(truth.days, 3);
    const run = await medallion(['run', '--once'], env);
    assert.equal(run.code, 0, run.stderr);
    const silverBefore = await medallionJson<{ d: string; n: number; late: number; digest: string }[]>(
      ['query', SILVER_BY_DATE, '--json'],
      env,
    );
    const goldBefore = await medallionJson<unknown[]>(['query', GOLD_BY_DATE, '--json'], env);
    assert.equal(silverBefore.length, 3);
    assert.ok(
      silverBefore.some((r) => r.late > 0),
      'late events across days are part of what must be replayed',
    );
    const day = silverBefore[1]!.d;

    // Lose the second day's silver partition (its data files, not the Delta log).
    const dir = join(home, 'lake', 'silver', 'attendance_events', `event_date=${day}`);
    for (const f of await readdir(dir)) await rm(join(dir, f));
    const lost = await medallion(['query', SILVER_BY_DATE, '--json'], env);
    assert.equal(lost.code, 1);
    assert.match(lost.stderr, /MDL_DELTA_FILES_MISSING/, 'a silver table whose files are gone says so');

    const replay = await medallionJson<{ dates: string[]; silver: number }>(
      ['replay', '--from', day, '--to', day, '--json'],
      env,
    );
    assert.deepEqual(replay.dates, [day]);
    assert.equal(replay.silver, silverBefore[1]!.n);
    assert.deepEqual(await medallionJson(['query', SILVER_BY_DATE, '--json'], env), silverBefore);
    assert.deepEqual(await medallionJson(['query', GOLD_BY_DATE, '--json'], env), goldBefore);

    // Replaying the whole range again changes nothing, nor does a later run.
    await medallionJson(['replay', '--from', silverBefore[0]!.d, '--to', silverBefore[2]!.d, '--json'], env);
    assert.deepEqual(await medallionJson(['query', SILVER_BY_DATE, '--json'], env), silverBefore);
    assert.equal((await medallion(['run', '--once'], env)).code, 0);
    const s = await medallionJson<PipelineStatus>(['status', '--json'], env);
    assert.equal(s.silver.rows + s.quarantine.rows + s.duplicates.rows, truth.records);
    assert.deepEqual(await medallionJson(['query', GOLD_BY_DATE, '--json'], env), goldBefore);

    const bad = await medallion(['replay', '--from', '2018-10-05', '--to', '2018-10-01'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /MDL_USAGE: --from 2018-10-05 is after --to 2018-10-01/);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
