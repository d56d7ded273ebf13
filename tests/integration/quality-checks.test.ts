import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { MedallionError } from '../../src/core/errors.ts';
import { readRuns } from '../../src/ops/run-log.ts';
import { formatStatus, readStatus } from '../../src/ops/status.ts';
import { openContext } from '../../src/pipeline/context.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { checkStep, runChecks } from '../../src/quality/check-step.ts';
import { readQualityReport } from '../../src/quality/quality-store.ts';
import type { CheckResult, QualityReport } from '../../src/quality/run-checks.ts';
import { simulateToLanding } from '../../src/simulate/simulate.ts';
import { medallion } from '../helpers/cli.ts';
import { tempContext } from '../helpers/temp-context.ts';
import { tempProject } from '../helpers/temp-project.ts';

/**
 * The flagship's checks (pipelines/nyc-schools/checks) on simulated streams run through the real
 * pipeline (landing → bronze → silver Delta → DuckDB warehouse → gold), a sample of 0.1% of the
 * students (about 1,070 a day) so each run takes seconds.
 */
const SAMPLE = 0.001;
const HOUR_MS = 3_600_000;

function result(report: QualityReport | null, name: string): CheckResult {
  const r = report?.results.find((x) => x.name === name);
  assert.ok(r, `no result for check ${name}`);
  return r;
}

test('a borough that stops sending raises the per-borough volume check to warn; a normal week passes', async () => {
  const { ctx, cleanup } = await tempContext();
  try {
    // Four normal weeks: 2018-10-01 … 2018-10-26 (19 school days; 2018-10-08 is a holiday).
    const normal = await simulateToLanding(ctx.project, { days: 19, sample: SAMPLE, startDate: '2018-10-01' });
    assert.equal(normal.truth.lastDate, '2018-10-26');
    await runPipeline(ctx, { once: true });
    const before = await readQualityReport(ctx.project.paths);
    const ok = result(before, 'events_per_borough');
    // Newest complete day: Thursday 2018-10-25 (Friday is the newest day, maybe still arriving),
    // against Thursdays 10-18, 10-11 and 10-04 (10-04 − 7 is before the stream began).
    assert.equal(ok.status, 'pass');
    assert.equal(ok.day, '2018-10-25');
    const wh = await ctx.warehouse();
    const perBorough = async (day: string) =>
      Object.fromEntries(
        (
          await wh.query<{ b: string; n: number }>(
            `SELECT substr(dbn, 3, 1) AS b, count(*) AS n FROM silver.attendance_events WHERE event_date = DATE '${day}' GROUP BY 1`,
          )
        ).map((r) => [r.b, Number(r.n)]),
      );
    const thursday = await perBorough('2018-10-25');
    assert.deepEqual(Object.keys(thursday).sort(), ['K', 'M', 'Q', 'R', 'X']);
    assert.deepEqual(
      Object.fromEntries(ok.details.map((d) => [d.key, d.observed])),
      thursday,
      'observed per borough equals the silver rows of that day',
    );
    const bronx = ok.details.find((d) => d.key === 'X')!;
    const baselineX = await Promise.all(['2018-10-18', '2018-10-11', '2018-10-04'].map(perBorough));
    assert.equal(bronx.expected, baselineX.reduce((s, m) => s + m['X']!, 0) / 3);
    assert.equal(bronx.breach, false);
    assert.equal(result(before, 'events_per_day').status, 'pass');
    assert.equal(result(before, 'ingest_freshness').status, 'pass');
    assert.equal(result(before, 'required_columns_not_null').status, 'pass');
    await ctx.releaseWarehouse();

    // The fifth week, with the Bronx (X) silent from Monday 2018-10-29 on.
    const dropped = await simulateToLanding(ctx.project, {
      days: 5,
      sample: SAMPLE,
      startDate: '2018-10-29',
      dropBorough: 'X',
      dropFrom: '2018-10-29',
    });
    assert.equal(dropped.truth.lastDate, '2018-11-02');
    const cycles = await runPipeline(ctx, { once: true });
    assert.equal(cycles[0]?.quality?.status, 'warn', 'a warning does not fail the run');
    assert.ok(cycles[0]?.quality?.flagged.includes('attendance_events.events_per_borough'));

    const after = await readQualityReport(ctx.project.paths);
    const drop = result(after, 'events_per_borough');
    assert.equal(drop.status, 'warn');
    assert.equal(drop.severity, 'warn');
    assert.equal(drop.day, '2018-11-01');
    const x = drop.details.find((d) => d.key === 'X')!;
    assert.equal(x.observed, 0);
    assert.equal(x.breach, true);
    assert.equal(drop.observed, 1, 'the worst borough lost 100% of its events');
    assert.deepEqual(
      drop.details.filter((d) => d.breach).map((d) => d.key),
      ['X'],
      'only the Bronx is out of tolerance',
    );
    const wh2 = await ctx.warehouse();
    const bronxBefore = await wh2.query<{ n: number }>(
      `SELECT count(*) AS n FROM silver.attendance_events
       WHERE substr(dbn, 3, 1) = 'X' AND event_date IN (DATE '2018-10-25', DATE '2018-10-18', DATE '2018-10-11', DATE '2018-10-04')`,
    );
    assert.equal(x.expected, Number(bronxBefore[0]!.n) / 4, 'the baseline is four previous Thursdays');
    assert.equal(after?.status, 'warn');

    // status (JSON shape and human text) shows the same stored report.
    const status = await readStatus(ctx.project, ctx.storage, ctx.engine);
    assert.deepEqual(status.quality, after);
    assert.match(
      formatStatus(status),
      /WARN {2}attendance_events\.events_per_borough +2018-11-01: borough X 0 against/,
    );
  } finally {
    await cleanup();
  }
});

test('freshness warns, then fails, as the stream stays silent past its thresholds (injected clock)', async () => {
  const { ctx, cleanup } = await tempContext();
  try {
    await simulateToLanding(ctx.project, { days: 2, sample: SAMPLE });
    await runPipeline(ctx, { once: true });
    const fresh = result(await readQualityReport(ctx.project.paths), 'ingest_freshness');
    assert.equal(fresh.status, 'pass');
    const wh = await ctx.warehouse();
    const newest = (await wh.query<{ t: string }>('SELECT max(ingested_at) AS t FROM silver.attendance_events'))[0]!.t;
    assert.equal(fresh.newest, newest);
    const lastIngest = Date.parse(newest);

    // The flagship declares warnAfter 18h and failAfter 4d on ingested_at.
    const at = (hours: number) => new Date(lastIngest + hours * HOUR_MS);
    const quiet = result(await runChecks(ctx, { now: at(17) }), 'ingest_freshness');
    assert.deepEqual([quiet.status, quiet.observed], ['pass', 17 * 3600]);
    const night = result(await runChecks(ctx, { now: at(19) }), 'ingest_freshness');
    assert.deepEqual([night.status, night.observed, night.threshold], ['warn', 19 * 3600, 18 * 3600]);

    const stopped = at(4 * 24 + 1);
    const err = await checkStep(ctx, { now: stopped }).then(
      () => assert.fail('a failed freshness check must fail the check job'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof MedallionError);
    assert.equal(err.code, 'MDL_CHECK_FAILED');
    assert.match(err.message, /ingest_freshness — newest ingested_at is 4\.0 d old \(over 4\.0 d\)/);
    const stored = await readQualityReport(ctx.project.paths);
    assert.equal(stored?.status, 'fail');
    assert.equal(stored?.now, stopped.toISOString());
    assert.deepEqual(
      [result(stored, 'ingest_freshness').status, result(stored, 'ingest_freshness').observed],
      ['fail', (4 * 24 + 1) * 3600],
    );
    await ctx.releaseWarehouse();

    // The CLI: exit 1 on a failed check, 0 when nothing fails; the JSON report on stdout.
    const args = ['check', '--data-dir', ctx.project.paths.root, '--json'];
    const failed = await medallion([...args, '--now', stopped.toISOString()]);
    assert.equal(failed.code, 1, failed.stderr);
    assert.equal(result(JSON.parse(failed.stdout) as QualityReport, 'ingest_freshness').status, 'fail');
    const passed = await medallion([...args, '--now', at(1).toISOString()]);
    assert.equal(passed.code, 0, passed.stderr);
    assert.equal((JSON.parse(passed.stdout) as QualityReport).counts.fail, 0);
  } finally {
    await cleanup();
  }
});

test('a failing check fails run --once after everything is committed, and the report says why', async () => {
  const p = await tempProject();
  await mkdir(join(p.dir, 'checks'), { recursive: true });
  // Schema version 1 events have no device_id: a zero-null rule on it fails.
  await writeFile(
    join(p.dir, 'checks', 'attendance_events.yml'),
    `dataset: attendance_events
checks:
  - {name: device_ids, type: null_rate, columns: [dbn, device_id], maxRate: 0, severity: fail}
  - {name: per_day, type: volume}
`,
  );
  const ctx = await openContext({ projectDir: p.dir, dataDir: p.home });
  try {
    const sim = await simulateToLanding(ctx.project, { days: 1, sample: SAMPLE, faults: 'none' });
    await assert.rejects(
      runPipeline(ctx, { once: true }),
      (e: unknown) =>
        e instanceof MedallionError &&
        e.code === 'MDL_CHECK_FAILED' &&
        /attendance_events\.device_ids — 2018-10-01: device_id 100\.0% null/.test(e.message),
    );
    const report = await readQualityReport(ctx.project.paths);
    assert.deepEqual(
      report?.results.map((r) => [r.name, r.status]),
      [
        ['device_ids', 'fail'],
        ['per_day', 'skip'],
      ],
    );
    const status = await readStatus(ctx.project, ctx.storage, ctx.engine);
    assert.equal(status.silver.rows, sim.truth.events, 'silver committed');
    const wh = await ctx.warehouse();
    const gold = await wh.query<{ n: number }>('SELECT sum(enrolled) AS n FROM gold.fact_event_metrics');
    assert.equal(Number(gold[0]!.n), sim.truth.events, 'gold built before the checks ran');
    const runs = await readRuns(ctx.project.paths);
    const check = runs.find((r) => r.job === 'check')!;
    assert.deepEqual([check.status, check.error?.code], ['failed', 'MDL_CHECK_FAILED']);
    assert.equal(runs.find((r) => r.job === 'build')?.status, 'success');
    assert.equal(runs.at(-1)?.job, 'run');
    assert.equal(runs.at(-1)?.status, 'failed');
  } finally {
    await ctx.close();
    await p.cleanup();
  }
});
