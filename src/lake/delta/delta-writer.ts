import { randomUUID } from 'node:crypto';
import { MedallionError } from '../../core/errors.ts';
import { quoteIdent, quoteLiteral, type SqlSession } from '../../engine/duckdb.ts';
import type { Storage } from '../../storage/storage.ts';
import type { AddAction } from './delta-log.ts';
import { encodePath } from './delta-log.ts';
import { type DeltaColumn, hasMinMaxStats, isNaiveTimestamp } from './delta-schema.ts';
import type { DeltaSnapshot } from './delta-table.ts';

/** Data files written for one batch, ready to commit. */
export interface WrittenFiles {
  readonly add: AddAction[];
  readonly rows: number;
}

/** Options of `writeDeltaFiles`. */
export interface WriteFilesOptions {
  /** False for files that only rearrange existing rows (compaction). Defaults to true. */
  readonly dataChange?: boolean;
  /** Splits a partition's rows into files of at most this many rows (default: one file per partition). */
  readonly maxRowsPerFile?: number;
}

const BATCH_TABLE = '__medallion_delta_batch';
/** Above this many files in one batch, the batch is sorted by partition before the files are written. */
const SORT_ABOVE_GROUPS = 4;
const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';

/** A partition value as a folder name segment (Hive escaping of characters unsafe in paths). */
function escapePartitionValue(value: string | null): string {
  if (value === null) return HIVE_NULL;
  return value.replace(/[^A-Za-z0-9_.-]/g, (ch) =>
    [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/** SQL for a column's value as written to a data file (naive timestamps become UTC instants, as Delta's `timestamp`). */
function storedExpr(column: DeltaColumn): string {
  const ref = quoteIdent(column.name);
  return isNaiveTimestamp(column.type) ? `timezone('UTC', ${ref}) AS ${ref}` : ref;
}

/** SQL for a statistic value in the JSON form the protocol uses (dates `YYYY-MM-DD`, timestamps RFC 3339 UTC). */
function statExpr(agg: 'min' | 'max', column: DeltaColumn): string {
  const ref = `${agg}(${quoteIdent(column.name)})`;
  const t = column.type.trim().toUpperCase();
  if (t === 'DATE') return `CAST(${ref} AS VARCHAR)`;
  if (isNaiveTimestamp(t)) return `strftime(${ref}, '%Y-%m-%dT%H:%M:%S.%fZ')`;
  if (t === 'TIMESTAMPTZ' || t === 'TIMESTAMP WITH TIME ZONE') {
    return `strftime(timezone('UTC', ${ref}), '%Y-%m-%dT%H:%M:%S.%fZ')`;
  }
  if (t.startsWith('DECIMAL') || t.startsWith('NUMERIC')) return `CAST(${ref} AS DOUBLE)`;
  return ref;
}

function jsonSafe(v: unknown, type: string): unknown {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number' && !Number.isFinite(v)) return undefined;
  const t = type.trim().toUpperCase();
  if (typeof v === 'string' && /INT/.test(t)) return undefined;
  return v;
}

/**
 * Delta protocol, "Data Files" and "Per-file Statistics": writes the rows of `selectSql` as new
 * Parquet data files of `snapshot`'s table — one file per partition (or per `maxRowsPerFile` rows of it), in Hive-style folders
 * (`event_date=2018-10-01/part-00000-<uuid>-c000.snappy.parquet`), partition columns left out of
 * the files (their values live in the log), every column cast to its table type. Each file gets a
 * fresh name (files are never overwritten: a crashed attempt leaves orphans for vacuum, never a
 * changed committed file). Returns the add actions (size, partitionValues, modificationTime,
 * dataChange and stats: numRecords, minValues, maxValues, nullCount per column) to pass to
 * `DeltaTable.commit`. Nothing is visible to readers until that commit.
 */
export async function writeDeltaFiles(
  engine: SqlSession,
  storage: Storage,
  snapshot: DeltaSnapshot,
  selectSql: string,
  options: WriteFilesOptions = {},
): Promise<WrittenFiles> {
  const partitions = snapshot.partitionColumns;
  const partSet = new Set(partitions);
  const dataColumns = snapshot.columns.filter((c) => !partSet.has(c.name));
  const typed = snapshot.columns.map((c) => `CAST(q.${quoteIdent(c.name)} AS ${c.type}) AS ${quoteIdent(c.name)}`);
  const partList = partitions.map((p) => quoteIdent(p)).join(', ');
  const maxRows = options.maxRowsPerFile;
  const chunk =
    maxRows !== undefined && maxRows > 0
      ? `(row_number() OVER (${partitions.length > 0 ? `PARTITION BY ${partList}` : ''}) - 1) // ${Math.floor(maxRows)}`
      : '0';
  // The batch is materialized once, in arrival order (no sort: a window ranking every row by partition
  // cost more than writing the files). Groups (partition values × file chunk) come from one hash
  // aggregate with the per-file statistics; each file is then one filtered scan of the batch. When a
  // batch spans many partitions (replay, compaction), it is sorted first, so those scans skip by zone map.
  await engine.exec(
    `CREATE OR REPLACE TEMP TABLE ${BATCH_TABLE} AS
     SELECT ${typed.join(', ')}, ${chunk} AS __chunk FROM (${selectSql}) AS q`,
  );
  try {
    const aggs = [
      'count(*)::BIGINT AS __rows',
      'any_value(__chunk) AS __chunk',
      ...partitions.map((p, i) => `CAST(any_value(${quoteIdent(p)}) AS VARCHAR) AS __pv${i}`),
      ...dataColumns.flatMap((c, i) => [
        `(count(*) - count(${quoteIdent(c.name)}))::BIGINT AS __nulls${i}`,
        ...(hasMinMaxStats(c.type) ? [`${statExpr('min', c)} AS __min${i}`, `${statExpr('max', c)} AS __max${i}`] : []),
      ]),
    ];
    const groupBy = [...partitions.map((p) => quoteIdent(p)), '__chunk'].join(', ');
    const groups = await engine.all(
      `SELECT ${aggs.join(', ')} FROM ${BATCH_TABLE} GROUP BY ${groupBy} ORDER BY ${groupBy}`,
    );
    if (groups.length > SORT_ABOVE_GROUPS) {
      await engine.exec(
        `CREATE OR REPLACE TEMP TABLE ${BATCH_TABLE}_sorted AS SELECT * FROM ${BATCH_TABLE} ORDER BY ${groupBy};
         DROP TABLE ${BATCH_TABLE};
         ALTER TABLE ${BATCH_TABLE}_sorted RENAME TO ${BATCH_TABLE};`,
      );
    }
    const typeOf = new Map(snapshot.columns.map((c) => [c.name, c.type]));
    const groupFilter = (g: Record<string, unknown>) =>
      [
        ...partitions.map((p, i) => {
          const v = g[`__pv${i}`] as string | null;
          return v === null
            ? `${quoteIdent(p)} IS NULL`
            : `${quoteIdent(p)} = CAST(${quoteLiteral(v)} AS ${typeOf.get(p) ?? 'VARCHAR'})`;
        }),
        `__chunk = ${Number(g['__chunk'] ?? 0)}`,
      ].join(' AND ');
    const add: AddAction[] = [];
    let rows = 0;
    for (const g of groups) {
      const partitionValues: Record<string, string | null> = {};
      partitions.forEach((p, i) => {
        partitionValues[p] = (g[`__pv${i}`] as string | null) ?? null;
      });
      const dir = partitions.map((p) => `${p}=${escapePartitionValue(partitionValues[p] ?? null)}`).join('/');
      const name = `part-${String(Number(g['__chunk'] ?? 0)).padStart(5, '0')}-${randomUUID()}-c000.snappy.parquet`;
      const relative = dir ? `${dir}/${name}` : name;
      const key = `${snapshot.tablePath}/${relative}`;
      const stored = dataColumns.length > 0 ? dataColumns.map(storedExpr).join(', ') : '1 AS __empty';
      await storage.putAtomic(key, async (tmp) => {
        await engine.exec(
          `COPY (SELECT ${stored} FROM ${BATCH_TABLE} WHERE ${groupFilter(g)})
           TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION snappy)`,
        );
      });
      const folder = key.slice(0, key.lastIndexOf('/'));
      const size = (await storage.list(folder)).find((f) => f.key === key)?.size;
      if (size === undefined) {
        throw new MedallionError('MDL_STORAGE_IO', `Data file ${key} was written but cannot be found.`, {
          hint: 'Check the lake storage (disk full, permissions) and run the job again.',
        });
      }
      const numRecords = Number(g['__rows']);
      rows += numRecords;
      const minValues: Record<string, unknown> = {};
      const maxValues: Record<string, unknown> = {};
      const nullCount: Record<string, number> = {};
      dataColumns.forEach((c, i) => {
        nullCount[c.name] = Number(g[`__nulls${i}`]);
        if (!hasMinMaxStats(c.type)) return;
        const lo = jsonSafe(g[`__min${i}`], c.type);
        const hi = jsonSafe(g[`__max${i}`], c.type);
        if (lo !== undefined) minValues[c.name] = lo;
        if (hi !== undefined) maxValues[c.name] = hi;
      });
      add.push({
        path: encodePath(relative),
        partitionValues,
        size,
        modificationTime: Date.now(),
        dataChange: options.dataChange ?? true,
        stats: JSON.stringify({ numRecords, minValues, maxValues, nullCount }),
      });
    }
    return { add, rows };
  } finally {
    await engine.exec(`DROP TABLE IF EXISTS ${BATCH_TABLE}`);
  }
}
