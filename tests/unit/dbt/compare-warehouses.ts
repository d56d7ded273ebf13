import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quoteIdent, quoteLiteral } from '../../../src/engine/duckdb.ts';
import { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.ts';

/** One relation compared between two DuckDB files. */
export interface RelationComparison {
  readonly relation: string;
  readonly columnsA: readonly string[];
  readonly columnsB: readonly string[];
  /** Row counts; -1 when the relation is missing on that side. */
  readonly rowsA: number;
  readonly rowsB: number;
  /** Rows of A missing from B and rows of B missing from A (multiset difference, order-insensitive). */
  readonly onlyInA: number;
  readonly onlyInB: number;
}

async function exportRelations(file: string, schemas: readonly string[], dir: string): Promise<Map<string, string[]>> {
  // Each file is opened on its own so that views written with the file's catalog name (dbt-duckdb
  // writes three-part names) resolve; every relation is exported to Parquet and compared from there.
  const db = await DuckDbWarehouse.open(file, { readOnly: true });
  try {
    const rels = await db.query<{ s: string; t: string }>(
      `select table_schema as s, table_name as t from information_schema.tables
       where table_catalog = current_database() and table_schema in (${schemas.map(quoteLiteral).join(', ')})`,
    );
    const out = new Map<string, string[]>();
    for (const { s, t } of rels) {
      const cols = (
        await db.query<{ c: string }>(
          `select column_name as c from information_schema.columns
           where table_catalog = current_database() and table_schema = ? and table_name = ? order by ordinal_position`,
          [s, t],
        )
      ).map((r) => r.c);
      await db.exec(
        `copy (select * from ${quoteIdent(s)}.${quoteIdent(t)}) to ${quoteLiteral(join(dir, `${s}.${t}.parquet`))} (format parquet)`,
      );
      out.set(`${s}.${t}`, cols);
    }
    return out;
  } finally {
    await db.close();
  }
}

/**
 * Compares every table and view of `schemas` in two DuckDB files row for row, order-insensitively
 * (`except all` both ways over the columns both have, in A's column order). `clockColumns` names
 * columns that hold the wall clock of the run (snapshot times of check snapshots and hard deletes):
 * for them only whether they are null is compared.
 */
export async function compareWarehouses(
  fileA: string,
  fileB: string,
  schemas: readonly string[],
  clockColumns: (relation: string) => readonly string[] = () => [],
): Promise<RelationComparison[]> {
  const dir = await mkdtemp(join(tmpdir(), 'medallion-compare-'));
  try {
    const dirA = join(dir, 'a');
    const dirB = join(dir, 'b');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dirA);
    await mkdir(dirB);
    const inA = await exportRelations(fileA, schemas, dirA);
    const inB = await exportRelations(fileB, schemas, dirB);
    const db = await DuckDbWarehouse.open(':memory:');
    try {
      const out: RelationComparison[] = [];
      for (const rel of [...new Set([...inA.keys(), ...inB.keys()])].sort()) {
        const columnsA = inA.get(rel) ?? [];
        const columnsB = inB.get(rel) ?? [];
        const src = (d: string) => `read_parquet(${quoteLiteral(join(d, `${rel}.parquet`))})`;
        const count = async (d: string) =>
          Number((await db.query<{ n: unknown }>(`select count(*) as n from ${src(d)}`))[0]!.n);
        const rowsA = inA.has(rel) ? await count(dirA) : -1;
        const rowsB = inB.has(rel) ? await count(dirB) : -1;
        let onlyInA = rowsA;
        let onlyInB = rowsB;
        if (rowsA >= 0 && rowsB >= 0) {
          const clock = new Set(clockColumns(rel));
          const shared = columnsA
            .filter((c) => columnsB.includes(c))
            .map((c) => (clock.has(c) ? `(${quoteIdent(c)} is null) as ${quoteIdent(c)}` : quoteIdent(c)));
          const from = (d: string) => `select ${shared.join(', ')} from ${src(d)}`;
          const diff = async (x: string, y: string) =>
            Number(
              (await db.query<{ n: unknown }>(`select count(*) as n from (${from(x)} except all ${from(y)})`))[0]!.n,
            );
          onlyInA = await diff(dirA, dirB);
          onlyInB = await diff(dirB, dirA);
        }
        out.push({ relation: rel, columnsA, columnsB, rowsA, rowsB, onlyInA, onlyInB });
      }
      return out;
    } finally {
      await db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
