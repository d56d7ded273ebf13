import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDuckDb } from '../../src/engine/duckdb.ts';
import { medallion, medallionJson } from '../helpers/cli.ts';
import { tempProject } from '../helpers/temp-project.ts';

// fact_event_metrics is incremental by event date: each build recomputes only the dates whose silver
// rows changed since the silver version it last saw. Whatever arrives — a new day, late events for an
// earlier day, a replay — the table must equal the aggregate computed from all of silver at once.
const FROM_SILVER = `
  SELECT dbn, event_date, count(*) AS enrolled,
         count(*) FILTER (WHERE status = 'present') AS present,
         count(*) FILTER (WHERE status = 'absent') AS absent,
         count(*) FILTER (WHERE status = 'late') AS late,
         count(*) FILTER (WHERE status = 'excused') AS excused,
         round((count(*) FILTER (WHERE status IN ('present', 'late')))::DOUBLE / count(*), 6) AS attendance_rate,
         count(*) FILTER (WHERE is_late) AS late_arriving_events,
         max(event_time) AS last_event_time
  FROM silver.attendance_events GROUP BY ALL`;
const FROM_GOLD = `
  SELECT dbn, event_date, enrolled, present, absent, late, excused, attendance_rate, late_arriving_events, last_event_time
  FROM gold.fact_event_metrics`;

test('incremental fact_event_metrics equals a full recomputation after new days, late events, a replay and an older table', {
  timeout: 300_000,
}, async () => {
  const p = await tempProject();
  const args = ['--project', p.dir];
  const env = { MEDALLION_HOME: p.home };
  const q = async (sql: string) => medallionJson<Record<string, unknown>[]>(['query', ...args, sql, '--json'], env);
  const diff = async () => {
    const [a] = await q(`SELECT count(*)::INT AS n FROM ((${FROM_GOLD}) EXCEPT ALL (${FROM_SILVER}))`);
    const [b] = await q(`SELECT count(*)::INT AS n FROM ((${FROM_SILVER}) EXCEPT ALL (${FROM_GOLD}))`);
    const [rows] = await q(`SELECT count(*)::INT AS n, count(DISTINCT event_date)::INT AS days FROM (${FROM_GOLD})`);
    return { goldOnly: a!.n, silverOnly: b!.n, rows: rows!.n, days: rows!.days };
  };
  const step = async (what: string, cmd: string[]) => {
    const r = await medallion([...cmd, ...args], env);
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  };
  /** Simulates a day of events (seed n), runs the pipeline once, and checks gold equals silver over `days` dates. */
  const runDay = async (n: number, date: string, what: string, days: number) => {
    await step(`day ${n}`, ['simulate', '--events', '4000', '--seed', String(n), '--start-date', date]);
    await step(what, ['run', '--once', '--no-metrics']);
    const d = await diff();
    assert.deepEqual(
      { goldOnly: d.goldOnly, silverOnly: d.silverOnly, days: d.days },
      { goldOnly: 0, silverOnly: 0, days },
    );
    return d;
  };
  const versionsByDate = () =>
    q(
      'SELECT event_date::VARCHAR AS d, max(silver_version)::INT AS v FROM gold.fact_event_metrics GROUP BY 1 ORDER BY 1',
    );
  try {
    await runDay(1, '2018-10-01', 'first run', 1);
    const [v1] = await q(
      'SELECT max(silver_version)::INT AS v, count(DISTINCT silver_version)::INT AS k FROM gold.fact_event_metrics',
    );

    // Day 2, with the default faults: duplicates, and late events that belong to day 1.
    const second = await runDay(2, '2018-10-02', 'second run', 2);
    const [v2] = await q('SELECT max(silver_version)::INT AS v FROM gold.fact_event_metrics');
    assert.ok(Number(v2!.v) > Number(v1!.v), 'the second build saw a newer silver version');

    // A run with nothing new recomputes nothing: every row keeps the version that last computed its date.
    const before = await versionsByDate();
    await step('idle build', ['build']);
    assert.deepEqual(await versionsByDate(), before);

    // A replay of day 1 rewrites its partition: load reloads it and the build recomputes that date.
    await step('replay', ['replay', '--from', '2018-10-01', '--to', '2018-10-01']);
    const third = await diff();
    assert.deepEqual({ goldOnly: third.goldOnly, silverOnly: third.silverOnly }, { goldOnly: 0, silverOnly: 0 });
    assert.equal(third.rows, second.rows);
    const after = await versionsByDate();
    assert.ok(Number(after[0]!.v) > Number(before[0]!.v), 'day 1 was recomputed after its replay');
    assert.equal(after[1]!.v, before[1]!.v, 'day 2 was left as it was');

    // A warehouse whose table was made before silver_version existed (an older Medallion): the next
    // build adds the column and recomputes every date once, instead of failing on the missing column.
    const warehouse = await openDuckDb(join(p.home, 'warehouse', 'medallion.duckdb'));
    try {
      await warehouse.exec('ALTER TABLE gold.fact_event_metrics DROP COLUMN silver_version');
    } finally {
      await warehouse.close();
    }
    await runDay(3, '2018-10-03', 'run over an older table', 3);
    const [upgraded] = await q(
      'SELECT count(*) FILTER (WHERE silver_version IS NULL)::INT AS missing, count(DISTINCT silver_version)::INT AS k FROM gold.fact_event_metrics',
    );
    assert.deepEqual(upgraded, { missing: 0, k: 1 }, 'every date recomputed by the one build that added the column');
  } finally {
    await p.cleanup();
  }
});
