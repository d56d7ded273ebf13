import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { type DbtRunOptions, type DbtRunResult, runDbt } from '../../../src/build/dbt/index.ts';
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.ts';
import {
  CLEAN_ATTENDANCE,
  CLEAN_SCHOOLS,
  loadSchools,
  loadTable,
  SCHOOL_COLUMNS,
  SCHOOL_GOLD,
  tempDir,
  tempWarehouse,
} from './helpers.ts';

async function dbt(
  warehouse: DuckDbWarehouse,
  dir: string,
  command: DbtRunOptions['command'],
  extra: Partial<DbtRunOptions> = {},
): Promise<DbtRunResult & { lines: string[] }> {
  const lines: string[] = [];
  const result = await runDbt({
    command,
    projectDir: SCHOOL_GOLD,
    targetPath: join(dir, 'target'),
    warehouse,
    onEvent: (l) => lines.push(l),
    ...extra,
  });
  return { ...result, lines };
}

function byName(result: DbtRunResult): Map<string, DbtRunResult['results'][number]> {
  return new Map(result.results.map((r) => [r.name, r]));
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

test('build on clean data: views, tables, snapshot and tests succeed, each test right after its model', async (t) => {
  const { warehouse, dir } = await tempWarehouse(t);
  await loadSchools(warehouse);
  const result = await dbt(warehouse, dir, 'build');

  assert.equal(result.success, true, result.lines.join('\n'));
  assert.deepEqual(result.totals, { pass: 18, warn: 0, error: 0, skip: 0, total: 18 });
  for (const r of result.results) assert.ok(r.status === 'success' || r.status === 'pass', `${r.name}: ${r.status}`);

  const kinds = await warehouse.query<{ table_schema: string; table_name: string; table_type: string }>(
    `select table_schema, table_name, table_type from information_schema.tables
     where table_schema in ('main', 'main_gold', 'snapshots') order by 1, 2`,
  );
  assert.deepEqual(
    kinds.map((k) => `${k.table_schema}.${k.table_name}:${k.table_type}`),
    [
      'main.stg_attendance:VIEW',
      'main.stg_schools:VIEW',
      'main_gold.dim_school:BASE TABLE',
      'main_gold.fact_attendance:BASE TABLE',
      'main_gold.school_summary:BASE TABLE',
      'snapshots.school_snapshot:BASE TABLE',
    ],
  );
  assert.deepEqual(await warehouse.query('select dbn, borough from main_gold.dim_school order by dbn'), [
    { dbn: '01M015', borough: 'Manhattan' },
    { dbn: '07X001', borough: 'Bronx' },
    { dbn: '13K003', borough: 'Brooklyn' },
  ]);
  assert.deepEqual(
    await warehouse.query('select school_year, schools, present, enrolled from main_gold.school_summary'),
    [{ school_year: '2018-19', schools: 3, present: 720, enrolled: 800 }],
  );

  const order = result.results.map((r) => r.name);
  const pos = (name: string) => order.indexOf(name);
  assert.ok(pos('unique_stg_schools_dbn') > pos('stg_schools'));
  assert.ok(pos('unique_stg_schools_dbn') < pos('dim_school'), 'a model waits for the tests of its parents');
  assert.ok(pos('unique_dim_school_dbn') < pos('fact_attendance'));
  assert.ok(pos('relationships_fact_attendance_dbn__dbn__ref_dim_school_') < pos('school_summary'));

  const text = result.lines.join('\n');
  assert.match(text, /^Found 5 models, 1 snapshot, 12 data tests, 2 sources, \d+ macros$/m);
  assert.match(text, /^\d+ of 18 START sql view model main\.stg_schools \.+ \[RUN\]$/m);
  assert.match(text, /^\d+ of 18 OK created sql table model main_gold\.dim_school \.+ \[OK in \d+\.\d\ds\]$/m);
  assert.match(text, /^\d+ of 18 PASS unique_dim_school_dbn \.+ \[PASS in \d+\.\d\ds\]$/m);
  assert.match(text, /^\d+ of 18 OK snapshotted snapshots\.school_snapshot \.+ \[OK in /m);
  assert.match(text, /^Done\. PASS=18 WARN=0 ERROR=0 SKIP=0 TOTAL=18$/m);

  const runResults = JSON.parse(await readFile(join(dir, 'target', 'run_results.json'), 'utf8'));
  assert.equal(runResults.results.length, 18);
  assert.equal(runResults.args.which, 'build');
  const manifest = JSON.parse(await readFile(join(dir, 'target', 'manifest.json'), 'utf8'));
  assert.equal(manifest.nodes['model.school_gold.dim_school'].schema, 'main_gold');
  assert.deepEqual(manifest.nodes['model.school_gold.dim_school'].depends_on.nodes, ['model.school_gold.stg_schools']);
  assert.deepEqual(manifest.nodes['model.school_gold.dim_school'].tags, ['marts']);
  assert.deepEqual(manifest.nodes['model.school_gold.stg_schools'].tags, ['staging', 'schools']);
  assert.ok(manifest.sources['source.school_gold.raw.schools']);
  const compiled = await readFile(
    join(dir, 'target', 'compiled', 'school_gold', 'models', 'marts', 'dim_school.sql'),
    'utf8',
  );
  assert.match(compiled, /from "main"\."stg_schools"/);
  assert.match(compiled, /when 'R' then 'Staten Island'/);
  assert.ok(
    existsSync(
      join(dir, 'target', 'compiled', 'school_gold', 'models', 'staging', 'schema.yml', 'unique_stg_schools_dbn.sql'),
    ),
  );
});

test('snapshot (timestamp strategy): first run inserts all rows, later runs close changed rows and add versions', async (t) => {
  const { warehouse, dir } = await tempWarehouse(t);
  await loadSchools(warehouse);
  const first = await dbt(warehouse, dir, 'snapshot');
  assert.equal(first.success, true, first.lines.join('\n'));
  assert.deepEqual(
    first.results.map((r) => [r.name, r.status, r.relation]),
    [['school_snapshot', 'success', 'snapshots.school_snapshot']],
  );
  const snapshotRows = () =>
    warehouse.query(
      `select dbn, name, strftime(updated_at, '%Y-%m-%d %H:%M:%S') as updated_at, dbt_scd_id,
              strftime(dbt_updated_at, '%Y-%m-%d %H:%M:%S') as dbt_updated_at,
              strftime(dbt_valid_from, '%Y-%m-%d %H:%M:%S') as dbt_valid_from,
              strftime(dbt_valid_to, '%Y-%m-%d %H:%M:%S') as dbt_valid_to
       from snapshots.school_snapshot order by dbn, dbt_valid_from`,
    );
  const v = (dbn: string, name: string, at: string, to: string | null) => ({
    dbn,
    name,
    updated_at: at,
    dbt_scd_id: md5(`${dbn}|${at}`),
    dbt_updated_at: at,
    dbt_valid_from: at,
    dbt_valid_to: to,
  });
  const jan = '2024-01-01 00:00:00';
  assert.deepEqual(await snapshotRows(), [
    v('01M015', 'P.S. 015 Roberto Clemente', jan, null),
    v('07X001', 'P.S. 001 Courtlandt School', jan, null),
    v('13K003', 'P.S. 003 The Bedford Village', jan, null),
  ]);
  const cols = await warehouse.columns('snapshots', 'school_snapshot');
  assert.deepEqual(
    cols?.map((c) => c.name),
    ['dbn', 'name', 'borough_code', 'updated_at', 'dbt_scd_id', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to'],
  );

  const feb = '2024-02-01 10:30:00';
  await loadTable(warehouse, 'schools', SCHOOL_COLUMNS, [
    CLEAN_SCHOOLS[0]!,
    ['07X001', 'P.S. 001 Courtlandt School (renamed)', 'X', 7, feb],
    ['13K003', 'Renamed without a newer updated_at', 'K', 13, jan],
    ['24Q010', 'P.S. 010 Queens', 'Q', 24, feb],
  ]);
  const second = await dbt(warehouse, dir, 'snapshot');
  assert.equal(second.success, true, second.lines.join('\n'));
  const expected = [
    v('01M015', 'P.S. 015 Roberto Clemente', jan, null),
    v('07X001', 'P.S. 001 Courtlandt School', jan, feb),
    v('07X001', 'P.S. 001 Courtlandt School (renamed)', feb, null),
    v('13K003', 'P.S. 003 The Bedford Village', jan, null),
    v('24Q010', 'P.S. 010 Queens', feb, null),
  ];
  assert.deepEqual(await snapshotRows(), expected);

  const third = await dbt(warehouse, dir, 'snapshot');
  assert.equal(third.success, true);
  assert.deepEqual(await snapshotRows(), expected, 'a run without newer rows changes nothing');
});

test('failing tests report their failure count, warn-severity tests warn, and the downstream of a failure is skipped', async (t) => {
  const { warehouse, dir } = await tempWarehouse(t);
  await loadSchools(
    warehouse,
    [
      ...CLEAN_SCHOOLS,
      ['07X001', 'Duplicate of 07X001', 'X', 7, '2024-01-01 00:00:00'],
      ['99Z001', 'Bad borough', 'Z', 99, null],
    ],
    [...CLEAN_ATTENDANCE, ['01M015', '2019-20', null, 200], ['07X001', '2019-20', -5, 500]],
  );
  const result = await dbt(warehouse, dir, 'build', { select: ['tag:staging', 'tag:marts'] });
  const r = byName(result);
  assert.equal(result.success, false);
  assert.equal(r.get('stg_schools')?.status, 'success');
  assert.equal(r.get('stg_attendance')?.status, 'success');
  assert.deepEqual([r.get('unique_stg_schools_dbn')?.status, r.get('unique_stg_schools_dbn')?.failures], ['fail', 1]);
  assert.equal(r.get('unique_stg_schools_dbn')?.message, 'Got 1 result, configured to fail if != 0');
  const warn = r.get('accepted_values_stg_schools_borough_code__M__X__K__Q__R');
  assert.deepEqual(
    [warn?.status, warn?.failures, warn?.message],
    ['warn', 1, 'Got 1 result, configured to warn if != 0'],
  );
  assert.deepEqual(
    [r.get('not_null_stg_attendance_present')?.status, r.get('not_null_stg_attendance_present')?.failures],
    ['fail', 1],
  );
  assert.deepEqual(
    [r.get('at_least_stg_attendance_present__0')?.status, r.get('at_least_stg_attendance_present__0')?.failures],
    ['fail', 1],
  );
  for (const skipped of [
    'dim_school',
    'unique_dim_school_dbn',
    'fact_attendance',
    'school_summary',
    'assert_attendance_rate_at_most_one',
  ]) {
    assert.equal(r.get(skipped)?.status, 'skipped', skipped);
  }
  assert.equal(r.has('school_snapshot'), false, 'not selected');
  assert.equal(r.has('source_unique_raw_schools_dbn'), false, 'not selected: its source is not');
  assert.equal(
    await warehouse
      .query("select 1 from information_schema.tables where table_name = 'dim_school'")
      .then((x) => x.length),
    0,
  );
  const text = result.lines.join('\n');
  assert.match(text, /^\d+ of \d+ FAIL 1 unique_stg_schools_dbn \.+ \[FAIL 1 in /m);
  assert.match(text, /^\d+ of \d+ WARN 1 accepted_values_stg_schools_borough_code__M__X__K__Q__R \.+ \[WARN 1 in /m);
  assert.match(text, /^\d+ of \d+ SKIP relation main_gold\.dim_school \.+ \[SKIP\]$/m);
  assert.match(text, /^Failure in test unique_stg_schools_dbn \(models\/staging\/schema\.yml:\d+\)$/m);
  assert.match(text, /^Done\. PASS=3 WARN=1 ERROR=3 SKIP=8 TOTAL=15$/m);
  assert.deepEqual(result.totals, { pass: 3, warn: 1, error: 3, skip: 8, total: 15 });
  assert.equal(r.get('not_null_stg_schools_dbn')?.status, 'pass');
});

test('a failing relationships or singular test on a mart skips its children; a model SQL error skips its downstream', async (t) => {
  const { warehouse, dir } = await tempWarehouse(t);
  await loadSchools(warehouse, CLEAN_SCHOOLS, [
    ...CLEAN_ATTENDANCE,
    ['99X999', '2018-19', 10, 20],
    ['13K003', '2019-20', 120, 100],
  ]);
  const built = await dbt(warehouse, dir, 'build');
  const r = byName(built);
  assert.equal(r.get('fact_attendance')?.status, 'success');
  assert.deepEqual(
    [
      r.get('relationships_fact_attendance_dbn__dbn__ref_dim_school_')?.status,
      r.get('relationships_fact_attendance_dbn__dbn__ref_dim_school_')?.failures,
    ],
    ['fail', 1],
  );
  assert.deepEqual(
    [r.get('assert_attendance_rate_at_most_one')?.status, r.get('assert_attendance_rate_at_most_one')?.failures],
    ['fail', 1],
  );
  assert.equal(r.get('not_null_fact_attendance_attendance_rate')?.status, 'pass');
  assert.equal(r.get('school_summary')?.status, 'skipped');
  assert.equal(r.get('school_snapshot')?.status, 'success', 'not downstream of the failures');

  const broken = await dbt(warehouse, dir, 'run', { vars: { rate_numerator: 'no_such_column' } });
  const b = byName(broken);
  assert.equal(b.get('fact_attendance')?.status, 'error');
  assert.match(b.get('fact_attendance')!.message, /no_such_column/);
  assert.equal(b.get('school_summary')?.status, 'skipped');
  assert.equal(b.get('dim_school')?.status, 'success');
  assert.match(
    broken.lines.join('\n'),
    /^\d+ of 5 ERROR creating sql table model main_gold\.fact_attendance \.+ \[ERROR in /m,
  );
  assert.match(broken.lines.join('\n'), /^Error in model fact_attendance \(models\/marts\/fact_attendance\.sql\)$/m);
});

test('run, test, compile, ls and parse, with selection by name and tag', async (t) => {
  const { warehouse, dir } = await tempWarehouse(t);
  await loadSchools(warehouse);

  const compiled = await dbt(warehouse, dir, 'compile');
  assert.equal(compiled.success, true);
  assert.equal(compiled.results.length, 18);
  assert.equal(
    (await warehouse.query("select 1 from information_schema.tables where table_schema <> 'raw'")).length,
    0,
  );
  const singular = await readFile(
    join(dir, 'target', 'compiled', 'school_gold', 'tests', 'assert_attendance_rate_at_most_one.sql'),
    'utf8',
  );
  assert.match(singular, /from "main_gold"\."fact_attendance"/);

  const one = await dbt(warehouse, dir, 'run', { select: ['stg_schools'] });
  assert.deepEqual(
    one.results.map((r) => [r.name, r.status]),
    [['stg_schools', 'success']],
  );

  const staging = await dbt(warehouse, dir, 'run', { select: ['tag:staging'] });
  assert.deepEqual(staging.results.map((r) => r.name).sort(), ['stg_attendance', 'stg_schools']);

  const tests = await dbt(warehouse, dir, 'test', { select: ['stg_schools'] });
  assert.deepEqual(tests.results.map((r) => r.name).sort(), [
    'accepted_values_stg_schools_borough_code__M__X__K__Q__R',
    'not_null_stg_schools_dbn',
    'unique_stg_schools_dbn',
  ]);
  assert.ok(tests.results.every((r) => r.status === 'pass'));

  const listed = await dbt(warehouse, dir, 'ls');
  assert.ok(listed.listed.includes('school_gold.staging.stg_schools'));
  assert.ok(listed.listed.includes('school_gold.school_snapshot.school_snapshot'));
  assert.ok(listed.listed.includes('source:school_gold.raw.schools'));
  assert.ok(listed.listed.includes('school_gold.marts.unique_dim_school_dbn'));

  const parsed = await dbt(warehouse, dir, 'parse');
  assert.equal(parsed.results.length, 0);
  const manifest = JSON.parse(await readFile(join(dir, 'target', 'manifest.json'), 'utf8'));
  assert.deepEqual(manifest.parent_map['model.school_gold.fact_attendance'], [
    'model.school_gold.dim_school',
    'model.school_gold.stg_attendance',
  ]);
});

test('opens the DuckDB file named in profiles.yml (env_var with default) when no warehouse is given', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'from-profile.duckdb');
  const setup = await DuckDbWarehouse.open(path);
  await loadSchools(setup);
  await setup.close();
  const before = process.env['MEDALLION_TEST_DBT_PATH'];
  process.env['MEDALLION_TEST_DBT_PATH'] = path;
  t.after(() => {
    if (before === undefined) delete process.env['MEDALLION_TEST_DBT_PATH'];
    else process.env['MEDALLION_TEST_DBT_PATH'] = before;
  });
  const lines: string[] = [];
  const result = await runDbt({
    command: 'run',
    projectDir: SCHOOL_GOLD,
    targetPath: join(dir, 'target'),
    select: ['tag:staging'],
    onEvent: (l) => lines.push(l),
  });
  assert.equal(result.success, true, lines.join('\n'));
  const check = await DuckDbWarehouse.open(path, { readOnly: true });
  t.after(() => check.close());
  assert.equal((await check.query('select * from main.stg_schools')).length, 3);
});
