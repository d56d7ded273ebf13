import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadProject, type PipelineProject } from '../../../src/config/project.ts';
import { openDuckDb, quoteLiteral, type Row } from '../../../src/engine/duckdb.ts';
import { exportGold } from '../../../src/serve/gold-export.ts';
import { medallion } from '../../helpers/cli.ts';
import { buildGoldFixture, FIXTURE_LATEST } from './gold-fixture.ts';

async function read<T extends Row>(text: string): Promise<T[]> {
  const db = await openDuckDb(':memory:');
  try {
    return await db.all<T>(text);
  } finally {
    await db.close();
  }
}

describe('medallion export', () => {
  let dir: string;
  let project: PipelineProject;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'medallion-export-'));
    project = loadProject({ dataDir: join(dir, 'data') });
    await buildGoldFixture(project.paths.warehouse);
  });

  after(async () => rm(dir, { recursive: true, force: true }));

  test('writes every gold table as Parquet and CSV, with counts under 10 students published as s', async () => {
    const out = join(dir, 'out');
    const tables = await exportGold({
      warehousePath: project.paths.warehouse,
      outDir: out,
      format: 'both',
      minGroupSize: 10,
    });
    assert.deepEqual(
      tables.map((t) => t.table),
      [
        'dim_school',
        'fact_district_day',
        'fact_equity_metrics',
        'fact_event_metrics',
        'fact_school_week',
        'school_snapshot',
      ],
    );
    assert.deepEqual((await readdir(out)).sort(), [
      'dim_school.csv',
      'dim_school.parquet',
      'fact_district_day.csv',
      'fact_district_day.parquet',
      'fact_equity_metrics.csv',
      'fact_equity_metrics.parquet',
      'fact_event_metrics.csv',
      'fact_event_metrics.parquet',
      'fact_school_week.csv',
      'fact_school_week.parquet',
      'school_snapshot.csv',
      'school_snapshot.parquet',
    ]);
    const events = join(out, 'fact_event_metrics.parquet');
    const rows = await read<{ dbn: string; enrolled: string; present: string; attendance_rate: string }>(
      `SELECT dbn, enrolled, present, attendance_rate FROM read_parquet(${quoteLiteral(events)})
       WHERE event_date = DATE '${FIXTURE_LATEST}' ORDER BY dbn`,
    );
    assert.equal(rows.length, 7);
    const si = rows.find((r) => r.dbn === '31R030')!;
    assert.deepEqual([si.enrolled, si.present, si.attendance_rate], ['s', 's', 's']);
    const bronx = rows.find((r) => r.dbn === '07X005')!;
    assert.deepEqual([bronx.enrolled, bronx.present], ['150', '125']);
    assert.equal(tables.find((t) => t.table === 'fact_event_metrics')!.suppressedCells, 2 * 7);
    // The aggregate marts: Staten Island's one school (7 students a day) is its week and its district's days.
    const week = await read<{ dbn: string; max_enrolled: string; student_days: string; attended: string }>(
      `SELECT dbn, max_enrolled, student_days, attended FROM read_parquet(${quoteLiteral(join(out, 'fact_school_week.parquet'))})
       WHERE dbn IN ('31R030', '07X005') ORDER BY dbn`,
    );
    assert.deepEqual(
      week.map((r) => [r.dbn, r.max_enrolled, r.student_days, r.attended]),
      [
        ['07X005', '150', '300', '256'], // (120 + 6) + (125 + 5) attended
        ['31R030', 's', 's', 's'],
      ],
    );
    assert.equal(tables.find((t) => t.table === 'fact_school_week')!.suppressedCells, 3);
    const districtDays = await read<{ district: number; student_days: string }>(
      `SELECT district, student_days FROM read_parquet(${quoteLiteral(join(out, 'fact_district_day.parquet'))})
       WHERE district = 31`,
    );
    assert.deepEqual(
      districtDays.map((r) => r.student_days),
      ['s', 's'],
    );
    assert.equal(tables.find((t) => t.table === 'fact_district_day')!.suppressedCells, 2 * 2);

    const csvRows = await read<Record<string, string>>(
      `SELECT * FROM read_csv(${quoteLiteral(join(out, 'dim_school.csv'))}, all_varchar = true)`,
    );
    const line = (dbn: string) => csvRows.find((r) => r['dbn'] === dbn)!;
    assert.match(await readFile(join(out, 'dim_school.csv'), 'utf8'), /^dbn,school_name,/);
    assert.equal(line('31R030')['share_ell'], 's', 'enrollment 9');
    assert.equal(line('31R030')['enrollment'], 's');
    assert.equal(line('84X099')['official_attendance_rate'], 's', '8 official students');
    assert.equal(line('13K010')['share_ell'], '0.13');
    const equity = await read<{ group_key: string; students: string; streaming_attendance_rate: string }>(
      `SELECT group_key, students, streaming_attendance_rate
       FROM read_parquet(${quoteLiteral(join(out, 'fact_equity_metrics.parquet'))}) WHERE group_type = 'eni_quintile'
       ORDER BY group_key`,
    );
    assert.deepEqual(
      equity.map((e) => [e.group_key, e.students]),
      [
        ['Q1', '120'],
        ['Q2', '87'],
        ['Q3', '200'],
        ['Q4', 's'],
        ['Q5', '150'],
        ['unknown', '40'],
      ],
    );
  });

  test('the CLI writes CSV only when asked and reports JSON; a bad format is a usage error', async () => {
    const out = join(dir, 'cli-out');
    const env = { MEDALLION_HOME: join(dir, 'data') };
    const r = await medallion(['export', '--out', out, '--format', 'csv', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout) as { format: string; tables: { table: string; files: string[] }[] };
    assert.equal(body.format, 'csv');
    assert.ok(body.tables.every((t) => t.files.length === 1 && t.files[0]!.endsWith('.csv')));
    assert.ok((await readdir(out)).every((f) => f.endsWith('.csv')));
    const bad = await medallion(['export', '--format', 'xlsx'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /MDL_USAGE/);
    const none = await medallion(['export'], { MEDALLION_HOME: join(dir, 'nothing') });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /MDL_NOTHING_TO_SERVE/);
  });
});
