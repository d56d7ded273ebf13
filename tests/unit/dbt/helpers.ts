import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { quoteLiteral } from '../../../src/engine/duckdb.ts';
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.ts';

export const SCHOOL_GOLD = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'dbt', 'school_gold');

/** A temporary folder removed after the test. */
export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'medallion-dbt-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A DuckDB warehouse file in a temporary folder, closed after the test. */
export async function tempWarehouse(t: TestContext): Promise<{ warehouse: DuckDbWarehouse; dir: string }> {
  const dir = await tempDir(t);
  const warehouse = await DuckDbWarehouse.open(join(dir, 'warehouse.duckdb'));
  t.after(() => warehouse.close());
  return { warehouse, dir };
}

type Value = string | number | null;

function literal(v: Value): string {
  if (v === null) return 'null';
  return typeof v === 'number' ? String(v) : quoteLiteral(v);
}

/** (Re)creates `raw.<table>` with `columns` ("name type") and `rows`. */
export async function loadTable(
  warehouse: DuckDbWarehouse,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly Value[])[],
): Promise<void> {
  await warehouse.exec('create schema if not exists raw');
  await warehouse.exec(`create or replace table raw.${table} (${columns.join(', ')})`);
  if (rows.length > 0) {
    await warehouse.exec(
      `insert into raw.${table} values ${rows.map((r) => `(${r.map(literal).join(', ')})`).join(', ')}`,
    );
  }
}

export const SCHOOL_COLUMNS = [
  'dbn varchar',
  'name varchar',
  'borough_code varchar',
  'district integer',
  'updated_at timestamp',
];
export const ATTENDANCE_COLUMNS = ['dbn varchar', 'school_year varchar', 'present integer', 'enrolled integer'];

export const CLEAN_SCHOOLS: Value[][] = [
  ['01M015', 'P.S. 015 Roberto Clemente', 'M', 1, '2024-01-01 00:00:00'],
  ['07X001', 'P.S. 001 Courtlandt School', 'X', 7, '2024-01-01 00:00:00'],
  ['13K003', 'P.S. 003 The Bedford Village', 'K', 13, '2024-01-01 00:00:00'],
];

export const CLEAN_ATTENDANCE: Value[][] = [
  ['01M015', '2018-19', 180, 200],
  ['07X001', '2018-19', 450, 500],
  ['13K003', '2018-19', 90, 100],
];

export async function loadSchools(
  warehouse: DuckDbWarehouse,
  schools: Value[][] = CLEAN_SCHOOLS,
  attendance: Value[][] = CLEAN_ATTENDANCE,
): Promise<void> {
  await loadTable(warehouse, 'schools', SCHOOL_COLUMNS, schools);
  await loadTable(warehouse, 'attendance', ATTENDANCE_COLUMNS, attendance);
}

/** Writes a small dbt project (dbt_project.yml and profiles.yml included unless given) into a temp folder. */
export async function writeProject(t: TestContext, files: Record<string, string>): Promise<string> {
  const dir = await tempDir(t);
  const all: Record<string, string> = {
    'dbt_project.yml': 'name: p\nprofile: p\n',
    'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: ":memory:"\n',
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}
