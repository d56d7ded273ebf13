import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadProject } from '../../../src/config/project.ts';
import { MedallionError } from '../../../src/core/errors.ts';
import { loadChecks, parseChecks } from '../../../src/quality/check-spec.ts';
import { evaluateChecks } from '../../../src/quality/run-checks.ts';
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.ts';

function rejects(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseChecks(text, 'checks/x.yml'),
    (e: unknown) => e instanceof MedallionError && e.code === 'MDL_CHECKS_INVALID' && pattern.test(e.message),
  );
}

test('check files are validated: unknown keys, bad durations and contradictions are rejected', () => {
  rejects(
    'dataset: a\nchecks:\n  - {name: f, type: freshness, column: t, warnAfter: 1h, colour: red}\n',
    /unknown key\(s\) colour/,
  );
  rejects('dataset: a\nchecks:\n  - {name: f, type: freshness, column: t, warnAfter: soon}\n', /duration like 90s/);
  rejects('dataset: a\nchecks:\n  - {name: f, type: freshness, column: t}\n', /needs warnAfter, failAfter or both/);
  rejects(
    'dataset: a\nchecks:\n  - {name: f, type: freshness, column: t, warnAfter: 2d, failAfter: 1h}\n',
    /warnAfter longer/,
  );
  rejects('dataset: a\nchecks:\n  - {name: v, type: volume, severity: error}\n', /checks\.0\.severity/);
  rejects('dataset: a\nchecks:\n  - {name: v, type: volume}\n  - {name: v, type: volume}\n', /two checks are named v/);
  rejects('dataset: a\nchecks:\n  - {name: v, type: volume, table: gold}\n', /schema\.table/);
  rejects('dataset: a\nchecks:\n  - {name: v, type: sparkle}\n', /checks\.0\.type/);
  const ok = parseChecks(
    'dataset: a\nchecks:\n  - {name: f, type: freshness, column: t, warnAfter: 90m, failAfter: 2d}\n',
    'x.yml',
  );
  assert.deepEqual(ok.checks[0], { name: 'f', type: 'freshness', column: 't', warnAfter: 5400, failAfter: 172_800 });
});

test("the flagship's check file loads", () => {
  const suites = loadChecks(loadProject());
  assert.deepEqual(
    suites.flatMap((s) => s.checks.map((c) => `${s.dataset}.${c.name}:${c.type}`)),
    [
      'attendance_events.ingest_freshness:freshness',
      'attendance_events.events_per_day:volume',
      'attendance_events.events_per_borough:volume',
      'attendance_events.required_columns_not_null:null_rate',
      'attendance_events.attendance_rate_drift:drift',
    ],
  );
});

const day = (i: number) => new Date(Date.UTC(2018, 9, 1 + i)).toISOString().slice(0, 10);

test('drift: the weighted mean absolute change per group over the newest complete days against the days before', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'medallion-quality-'));
  const wh = await DuckDbWarehouse.open(join(dir, 'w.duckdb'));
  try {
    await wh.exec('CREATE SCHEMA gold');
    await wh.exec('CREATE TABLE gold.m (dbn VARCHAR, event_date DATE, attendance_rate DOUBLE, enrolled INTEGER)');
    // 26 days: 20 baseline, 5 current, and the newest (incomplete) day, which must be ignored.
    const rows: string[] = [];
    for (let i = 0; i < 26; i++) {
      const current = i >= 20 && i < 25;
      const newest = i === 25;
      rows.push(`('A', DATE '${day(i)}', ${newest ? 0 : 0.9}, 100)`);
      rows.push(`('B', DATE '${day(i)}', ${newest ? 0 : current ? 0.6 : 0.8}, 300)`);
      rows.push(`('C', DATE '${day(i)}', 0.1, 5)`); // below minWeight in each window: left out
    }
    await wh.exec(`INSERT INTO gold.m VALUES ${rows.join(', ')}`);
    const suite = parseChecks(
      `dataset: e
checks:
  - {name: d, type: drift, table: gold.m, column: attendance_rate, groupBy: dbn, weight: enrolled,
     days: 5, baselineDays: 20, minWeight: 50, maxChange: 0.05, severity: warn}
`,
      'x.yml',
    );
    const r = (await evaluateChecks(wh, [suite])).results[0]!;
    assert.equal(r.status, 'warn');
    // (100 × |0.9 − 0.9| + 1500 × |0.6 − 0.8|) / (500 + 1500) = 0.15
    assert.ok(Math.abs(r.observed! - 0.15) < 1e-9, `observed ${r.observed}`);
    assert.equal(r.day, day(20));
    assert.deepEqual(
      r.details.map((d) => [d.key, Number(d.observed!.toFixed(9)), Number(d.expected!.toFixed(9)), d.breach]),
      [
        ['B', 0.6, 0.8, true],
        ['A', 0.9, 0.9, false],
      ],
    );
    await wh.exec(`UPDATE gold.m SET attendance_rate = 0.8 WHERE dbn = 'B' AND event_date < DATE '${day(25)}'`);
    const stable = (await evaluateChecks(wh, [suite])).results[0]!;
    assert.deepEqual([stable.status, stable.observed], ['pass', 0]);
  } finally {
    await wh.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('null rate is measured on the newest day; a missing column is an error, a missing table a skip', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'medallion-quality-'));
  const wh = await DuckDbWarehouse.open(join(dir, 'w.duckdb'));
  try {
    await wh.exec('CREATE SCHEMA silver');
    await wh.exec('CREATE TABLE silver.e (event_date DATE, a VARCHAR, b VARCHAR)');
    const rows = Array.from({ length: 10 }, (_, i) => `(DATE '${day(1)}', ${i < 2 ? 'NULL' : "'x'"}, 'y')`);
    rows.push(`(DATE '${day(0)}', NULL, NULL)`, `(DATE '${day(0)}', NULL, NULL)`); // older day: not judged
    await wh.exec(`INSERT INTO silver.e VALUES ${rows.join(', ')}`);
    const suite = parseChecks(
      `dataset: e
checks:
  - {name: n, type: null_rate, columns: [a, b], maxRate: 0.1, severity: fail}
  - {name: missing, type: null_rate, columns: [zzz]}
  - {name: later, type: volume, table: gold.not_built}
`,
      'x.yml',
    );
    const report = await evaluateChecks(wh, [suite]);
    const [n, missing, later] = report.results;
    assert.deepEqual([n!.status, n!.observed, n!.day], ['fail', 0.2, day(1)]);
    assert.deepEqual(
      n!.details.map((d) => [d.key, d.observed, d.breach]),
      [
        ['a', 0.2, true],
        ['b', 0, false],
      ],
    );
    assert.equal(missing!.status, 'error');
    assert.match(missing!.message, /no column zzz/);
    assert.equal(later!.status, 'skip');
    assert.deepEqual([report.status, report.counts], ['fail', { pass: 0, warn: 0, fail: 1, skip: 1, error: 1 }]);
  } finally {
    await wh.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('freshness on an event-time column with offsets: age from the newest instant, warn and fail thresholds', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'medallion-quality-'));
  const wh = await DuckDbWarehouse.open(join(dir, 'w.duckdb'));
  try {
    await wh.exec('CREATE SCHEMA silver');
    await wh.exec('CREATE TABLE silver.e (event_time TIMESTAMPTZ)');
    await wh.exec(
      `INSERT INTO silver.e VALUES (TIMESTAMPTZ '2018-10-26 15:30:00-04:00'), (TIMESTAMPTZ '2018-10-26 09:00:00-04:00')`,
    );
    const suite = parseChecks(
      'dataset: e\nchecks:\n  - {name: f, type: freshness, column: event_time, warnAfter: 2h, failAfter: 3d}\n',
      'x.yml',
    );
    const newest = Date.parse('2018-10-26T19:30:00Z');
    const at = async (hours: number) =>
      (await evaluateChecks(wh, [suite], { now: new Date(newest + hours * 3_600_000) })).results[0]!;
    const ok = await at(1);
    assert.deepEqual([ok.status, ok.observed, ok.newest], ['pass', 3600, '2018-10-26T19:30:00.000Z']);
    assert.deepEqual([(await at(3)).status, (await at(3)).threshold], ['warn', 7200]);
    const failed = await at(73);
    assert.deepEqual(
      [failed.status, failed.observed, failed.threshold, failed.severity],
      ['fail', 73 * 3600, 259_200, 'fail'],
    );
  } finally {
    await wh.close();
    await rm(dir, { recursive: true, force: true });
  }
});
