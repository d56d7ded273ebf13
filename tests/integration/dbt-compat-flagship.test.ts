import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runDbt } from '../../src/build/dbt/index.ts';
import { FLAGSHIP_PROJECT_DIR } from '../../src/config/project.ts';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.ts';
import { medallion } from '../helpers/cli.ts';
import { compareWarehouses } from '../unit/dbt/compare-warehouses.ts';
import { dbtOrSkip, nodeOutcomes, profilesCopy, runDbtCore, testOutcomes } from '../unit/dbt/dbt-core.ts';

const GOLD = join(FLAGSHIP_PROJECT_DIR, 'gold');

test('flagship gold: dbt-core and Medallion build the same tables, snapshot rows and test outcomes from the same silver', async (t) => {
  const dbt = dbtOrSkip(t);
  if (!dbt) return;
  const dir = await mkdtemp(join(tmpdir(), 'medallion-dbt-compat-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const home = join(dir, 'home');
  const env = { MEDALLION_HOME: home };
  for (const args of [['simulate', '--events', '3000', '--json'], ['ingest', '--once'], ['refine'], ['load']]) {
    const r = await medallion(args, env);
    assert.equal(r.code, 0, `medallion ${args.join(' ')}: ${r.stderr}`);
  }
  const silver = join(home, 'warehouse', 'medallion.duckdb');
  const withDbt = join(dir, 'dbt.duckdb');
  const withMedallion = join(dir, 'medallion.duckdb');
  await copyFile(silver, withDbt);
  await copyFile(silver, withMedallion);

  const dbtTarget = join(dir, 'dbt-target');
  const core = await runDbtCore(
    dbt,
    ['build', '--project-dir', GOLD, '--profiles-dir', await profilesCopy(GOLD, dir), '--target-path', dbtTarget],
    { MEDALLION_WAREHOUSE_PATH: withDbt, DBT_LOG_PATH: join(dir, 'dbt-logs') },
  );
  assert.equal(core.code, 0, core.output);

  const medTarget = join(dir, 'medallion-target');
  const warehouse = await DuckDbWarehouse.open(withMedallion);
  try {
    const r = await runDbt({ command: 'build', projectDir: GOLD, targetPath: medTarget, warehouse, onEvent: () => {} });
    assert.equal(r.success, true);
  } finally {
    await warehouse.close();
  }

  const compared = await compareWarehouses(withDbt, withMedallion, ['gold']);
  process.stderr.write(
    `dbt-core vs Medallion (flagship): ${compared.map((c) => `${c.relation} ${c.rowsA}/${c.rowsB} rows, diff ${c.onlyInA}/${c.onlyInB}`).join('; ')}\n`,
  );
  assert.ok(compared.length >= 11, `relations compared: ${compared.map((c) => c.relation).join(', ')}`);
  for (const c of compared) {
    assert.deepEqual(c.columnsB, c.columnsA, `${c.relation}: columns`);
    assert.equal(c.rowsB, c.rowsA, `${c.relation}: rows`);
    assert.equal(
      c.onlyInA + c.onlyInB,
      0,
      `${c.relation}: ${c.onlyInA} rows only in dbt-core's, ${c.onlyInB} only in Medallion's`,
    );
    assert.ok(c.rowsA > 0, `${c.relation}: empty`);
  }
  assert.deepEqual(await testOutcomes(medTarget), await testOutcomes(dbtTarget));
  assert.deepEqual(await nodeOutcomes(medTarget), await nodeOutcomes(dbtTarget));
});
