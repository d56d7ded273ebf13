import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { runDbt } from '../../src/build/dbt/index.ts';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.ts';
import { validateArtifact } from '../unit/dbt/artifact-schemas.ts';
import { compareWarehouses } from '../unit/dbt/compare-warehouses.ts';
import { dbtOrSkip, nodeOutcomes, profilesCopy, runDbtCore } from '../unit/dbt/dbt-core.ts';
import { clockColumns, FEATURE_LAB, FEATURE_LAB_SCHEMAS, loadFeatureLabInput } from '../unit/dbt/feature-lab.ts';

test('feature lab: seeds, ephemeral chains, incremental strategies and schema changes over two runs, check and timestamp snapshots with hard deletes, hooks, custom tests — same tables and outcomes as dbt-core', async (t) => {
  const dbt = dbtOrSkip(t);
  if (!dbt) return;
  const dir = await mkdtemp(join(tmpdir(), 'medallion-dbt-lab-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const files = { dbt: join(dir, 'dbt.duckdb'), medallion: join(dir, 'medallion.duckdb') };
  for (const version of [1, 2] as const) {
    for (const f of Object.values(files)) {
      const w = await DuckDbWarehouse.open(f);
      await loadFeatureLabInput(w, version);
      await w.close();
    }
    // The second run also changes the incremental models' columns (on_schema_change).
    const vars = version === 2 ? { with_channel: true } : {};
    const dbtTarget = join(dir, `dbt-target-${version}`);
    const core = await runDbtCore(
      dbt,
      [
        'build',
        '--project-dir',
        FEATURE_LAB,
        '--profiles-dir',
        await profilesCopy(FEATURE_LAB, dir),
        '--target-path',
        dbtTarget,
        '--vars',
        JSON.stringify(vars),
      ],
      { FEATURE_LAB_PATH: files.dbt, DBT_LOG_PATH: join(dir, 'dbt-logs') },
    );
    assert.match(core.output, /Done\. PASS=/, core.output);
    const medTarget = join(dir, `medallion-target-${version}`);
    const warehouse = await DuckDbWarehouse.open(files.medallion);
    try {
      await runDbt({
        command: 'build',
        projectDir: FEATURE_LAB,
        targetPath: medTarget,
        warehouse,
        vars,
        onEvent: () => {},
      });
    } finally {
      await warehouse.close();
    }
    // The schemas themselves are checked against dbt-core's own artifacts.
    for (const [schema, file] of [
      ['manifest-v12.json', 'manifest.json'],
      ['run-results-v6.json', 'run_results.json'],
    ] as const) {
      const doc = JSON.parse(await readFile(join(dbtTarget, file), 'utf8')) as unknown;
      assert.deepEqual(await validateArtifact(schema, doc), [], `dbt-core's ${file}`);
      const ours = JSON.parse(await readFile(join(medTarget, file), 'utf8')) as unknown;
      assert.deepEqual(await validateArtifact(schema, ours), [], `Medallion's ${file}`);
    }
    const expected = await nodeOutcomes(dbtTarget);
    assert.deepEqual(await nodeOutcomes(medTarget), expected, `run ${version}: node outcomes`);
    // The project is built to exercise failures too: a failing test, warnings, an on_schema_change='fail' error.
    if (version === 2) {
      assert.equal(expected['model.feature_lab.orders_strict'], 'error');
      assert.equal(expected['model.feature_lab.after_strict'], 'skipped');
    }
    const compared = await compareWarehouses(files.dbt, files.medallion, FEATURE_LAB_SCHEMAS, clockColumns);
    process.stderr.write(
      `dbt-core vs Medallion (feature lab, run ${version}): ${compared.map((c) => `${c.relation} ${c.rowsA}/${c.rowsB} rows, diff ${c.onlyInA}/${c.onlyInB}`).join('; ')}\n`,
    );
    assert.equal(compared.length, 18, compared.map((c) => c.relation).join(', '));
    for (const c of compared) {
      assert.deepEqual(c.columnsB, c.columnsA, `run ${version}, ${c.relation}: columns`);
      assert.equal(c.rowsB, c.rowsA, `run ${version}, ${c.relation}: rows`);
      assert.equal(
        c.onlyInA + c.onlyInB,
        0,
        `run ${version}, ${c.relation}: ${c.onlyInA} rows only in dbt-core's, ${c.onlyInB} only in Medallion's`,
      );
    }
  }

  // source freshness: the same status per source table (orders are years old: warn; events are new: pass).
  const freshTarget = join(dir, 'dbt-freshness');
  const fresh = await runDbtCore(
    dbt,
    [
      'source',
      'freshness',
      '--project-dir',
      FEATURE_LAB,
      '--profiles-dir',
      await profilesCopy(FEATURE_LAB, dir),
      '--target-path',
      freshTarget,
    ],
    { FEATURE_LAB_PATH: files.dbt, DBT_LOG_PATH: join(dir, 'dbt-logs') },
  );
  assert.equal(fresh.code, 0, fresh.output);
  const sourcesJson = JSON.parse(await readFile(join(freshTarget, 'sources.json'), 'utf8')) as {
    results: { unique_id: string; status: string }[];
  };
  const dbtFresh = Object.fromEntries(sourcesJson.results.map((r) => [r.unique_id, r.status]));
  const warehouse = await DuckDbWarehouse.open(files.medallion);
  try {
    const r = await runDbt({
      command: 'freshness',
      projectDir: FEATURE_LAB,
      targetPath: join(dir, 'medallion-freshness'),
      warehouse,
      onEvent: () => {},
    });
    assert.deepEqual(Object.fromEntries(r.results.map((x) => [x.uniqueId, x.status])), dbtFresh);
    assert.deepEqual(dbtFresh, { 'source.feature_lab.raw.events': 'pass', 'source.feature_lab.raw.orders': 'warn' });
  } finally {
    await warehouse.close();
  }
});

const SELECTIONS: readonly (readonly [string, string?])[] = [
  ['+customer_orders'],
  ['stg_orders+'],
  ['tag:incremental'],
  ['path:models/marts'],
  ['source:raw+'],
  ['@orders_append'],
  ['1+after_strict'],
  ['tag:marts,config.materialized:table'],
  ['marts'],
  ['customers_check+ order_status'],
  ['test_type:singular'],
  ['resource_type:seed'],
  ['orders_*', 'orders_strict'],
  ['+snapshot_current', 'resource_type:test'],
];

test('selection: `ls` picks the same resources as dbt-core for graph operators, methods, unions, intersections and --exclude', async (t) => {
  const dbt = dbtOrSkip(t);
  if (!dbt) return;
  const dir = await mkdtemp(join(tmpdir(), 'medallion-dbt-ls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // One Python process runs every `dbt ls` through dbt's programmatic entry point (dbtRunner).
  const script = `
import json, sys
from dbt.cli.main import dbtRunner
out = []
for sel, exc in json.loads(sys.argv[1]):
    args = ['--quiet', 'ls', '--project-dir', sys.argv[2], '--profiles-dir', sys.argv[4], '--target-path', sys.argv[3], '--select', *sel.split()]
    if exc: args += ['--exclude', *exc.split()]
    res = dbtRunner().invoke(args)
    out.append(sorted(res.result))
print(json.dumps(out))
`;
  const py = spawnSync(
    join(dirname(dbt), 'python'),
    [
      '-c',
      script,
      JSON.stringify(SELECTIONS.map(([s, e]) => [s, e ?? ''])),
      FEATURE_LAB,
      join(dir, 'target'),
      await profilesCopy(FEATURE_LAB, dir),
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, DBT_SEND_ANONYMOUS_USAGE_STATS: 'false', DBT_LOG_PATH: join(dir, 'logs') },
    },
  );
  assert.equal(py.status, 0, py.stderr);
  const expected = JSON.parse(py.stdout.trim().split('\n').at(-1)!) as string[][];
  for (const [i, [select, exclude]] of SELECTIONS.entries()) {
    const r = await runDbt({
      command: 'ls',
      projectDir: FEATURE_LAB,
      targetPath: join(dir, 'medallion-target'),
      select: select.split(' '),
      exclude: exclude ? exclude.split(' ') : [],
      onEvent: () => {},
    });
    assert.deepEqual([...r.listed].sort(), expected[i], `--select ${select}${exclude ? ` --exclude ${exclude}` : ''}`);
    assert.ok(expected[i]!.length > 0, `--select ${select}: dbt selected nothing`);
  }
});
