import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { runDbt } from '../../../src/build/dbt/index.ts';
import { injectCtes } from '../../../src/build/dbt/run/node-runner.ts';
import { inferSeedType, parseCsv } from '../../../src/build/dbt/run/seed.ts';
import { FEATURE_LAB, loadFeatureLabInput } from './feature-lab.ts';
import { tempDir, tempWarehouse } from './helpers.ts';

test('seed CSV: quoted fields, CRLF, and dbt’s type inference order', () => {
  const t = parseCsv(
    'a,b,c,d,e,f\r\n1,"x, y",2024-01-01,true,1.5,\r\n02,"say ""hi""",2024-01-02,FALSE,2,null\r\n',
    's.csv',
  );
  assert.deepEqual(t.columns, ['a', 'b', 'c', 'd', 'e', 'f']);
  assert.deepEqual(t.rows[1], ['02', 'say "hi"', '2024-01-02', 'FALSE', '2', 'null']);
  assert.deepEqual(
    t.columns.map((_, i) => inferSeedType(t.rows, i)),
    ['integer', 'varchar', 'date', 'boolean', 'double', 'integer'],
  );
  assert.equal(inferSeedType([['2024-01-01 10:00:00'], ['2024-01-01T10:00:00Z']], 0), 'timestamp');
  assert.throws(() => parseCsv('a,b\n1\n', 's.csv'), /s\.csv:2: 1 fields where the header has 2/);
});

test('ephemeral CTEs go in front of the SQL, or into its leading with (after comments)', () => {
  const ctes = new Map([['__dbt__cte__a', 'select 1 as x']]);
  assert.equal(
    injectCtes('select * from __dbt__cte__a', ctes),
    'with __dbt__cte__a as (\nselect 1 as x\n)\nselect * from __dbt__cte__a',
  );
  assert.equal(
    injectCtes('-- note\nWITH b as (select 2) select * from b, __dbt__cte__a', ctes),
    '-- note\nWITH __dbt__cte__a as (\nselect 1 as x\n), b as (select 2) select * from b, __dbt__cte__a',
  );
  assert.equal(injectCtes('select 1', new Map()), 'select 1');
});

test('incremental models build fully, then incrementally; --full-refresh rebuilds; target/run holds what ran', async (t) => {
  const { warehouse } = await tempWarehouse(t);
  await loadFeatureLabInput(warehouse, 1);
  const target = join(await tempDir(t), 'target');
  const run = (fullRefresh = false) =>
    runDbt({
      command: 'build',
      projectDir: FEATURE_LAB,
      targetPath: target,
      warehouse,
      select: ['tag:incremental', 'stg_orders'],
      fullRefresh,
      onEvent: () => {},
    });
  const first = await run();
  assert.equal(first.results.find((r) => r.name === 'orders_append')?.status, 'success');
  await loadFeatureLabInput(warehouse, 2);
  await run();
  const count = async (table: string) =>
    Number((await warehouse.query<{ n: unknown }>(`select count(*) as n from main.${table}`))[0]!.n);
  // append adds only orders newer than the newest kept (6 and 7, and 3 re-stamped): 5 + 3.
  assert.equal(await count('orders_append'), 8);
  // merge keeps order 5 (deleted upstream) and adds 6 and 7: 7 rows.
  assert.equal(await count('orders_merge'), 7);
  await run(true);
  assert.equal(await count('orders_append'), 6);
  assert.equal(await count('orders_merge'), 6);
  const { readFile } = await import('node:fs/promises');
  const ran = await readFile(join(target, 'run', 'feature_lab', 'models', 'incremental', 'orders_merge.sql'), 'utf8');
  assert.match(ran, /create table "main"\."orders_merge__dbt_tmp"/);
});

test('packages.yml is reported by name', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'dbt_project.yml'), 'name: p\nprofile: p\nconfig-version: 2\n');
  await writeFile(
    join(dir, 'profiles.yml'),
    'p:\n  target: d\n  outputs:\n    d:\n      type: duckdb\n      path: ":memory:"\n',
  );
  await writeFile(join(dir, 'packages.yml'), 'packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n');
  const r = await runDbt({ command: 'parse', projectDir: dir, targetPath: join(dir, 'target'), onEvent: () => {} });
  assert.match(
    r.notes.join('\n'),
    /packages\.yml lists 1 package\(s\) \(dbt-labs\/dbt_utils\); packages are not supported/,
  );
});

test('--threads: nodes run concurrently on their own connections and build what one thread builds', async (t) => {
  const dir = await tempDir(t);
  const statuses: Record<string, string>[] = [];
  for (const threads of [1, 3]) {
    const { DuckDbWarehouse } = await import('../../../src/warehouse/duckdb/duckdb-warehouse.ts');
    const warehouse = await DuckDbWarehouse.open(join(dir, `t${threads}.duckdb`));
    try {
      await loadFeatureLabInput(warehouse, 1);
      const lines: string[] = [];
      const r = await runDbt({
        command: 'build',
        projectDir: FEATURE_LAB,
        targetPath: join(dir, `target-${threads}`),
        warehouse,
        threads,
        onEvent: (l) => lines.push(l),
      });
      statuses.push(Object.fromEntries(r.results.map((x) => [x.uniqueId, x.status])));
      if (threads > 1) {
        // Some node starts before the one started just before it has finished.
        const starts = lines.filter((l) => / START /.test(l)).length;
        assert.equal(starts, r.results.filter((x) => x.status !== 'skipped').length);
        const overlapped = lines.some((l, i) => / START /.test(l) && i > 0 && / START /.test(lines[i - 1]!));
        assert.ok(overlapped, lines.join('\n'));
      }
    } finally {
      await warehouse.close();
    }
  }
  assert.deepEqual(statuses[1], statuses[0]);
  const { compareWarehouses } = await import('./compare-warehouses.ts');
  const { FEATURE_LAB_SCHEMAS } = await import('./feature-lab.ts');
  const compared = await compareWarehouses(
    join(dir, 't1.duckdb'),
    join(dir, 't3.duckdb'),
    FEATURE_LAB_SCHEMAS,
    (rel) => (rel.startsWith('snapshots.') ? ['dbt_scd_id', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to'] : []),
  );
  assert.ok(compared.length >= 15);
  for (const c of compared) assert.equal(c.onlyInA + c.onlyInB, 0, c.relation);
});
