import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MedallionError } from '../core/errors.ts';
import { quoteIdent, quoteLiteral } from '../engine/duckdb.ts';
import { DuckDbWarehouse } from '../warehouse/duckdb/duckdb-warehouse.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import { SUPPRESSED } from './suppression.ts';

/** File formats `medallion export` writes. */
export type ExportFormat = 'parquet' | 'csv' | 'both';

/** What was written for one gold table. */
export interface ExportedTable {
  readonly table: string;
  readonly rows: number;
  /** Cells published as `s` (figures resting on fewer than the minimum group size). */
  readonly suppressedCells: number;
  readonly files: readonly string[];
}

/** Options of {@link exportGold}. */
export interface ExportOptions {
  readonly warehousePath: string;
  readonly outDir: string;
  readonly format: ExportFormat;
  readonly minGroupSize: number;
}

/**
 * Suppression rules of the published files: for each gold table, which column holds a group's
 * student count and which columns rest on it. A table not listed gets the generic rule: every
 * integer count column named after students or attendance statuses is its own group size.
 */
const RULES: Record<string, readonly { readonly size: string; readonly columns: readonly string[] }[]> = {
  fact_event_metrics: [
    {
      size: 'enrolled',
      columns: ['enrolled', 'present', 'absent', 'late', 'excused', 'attendance_rate', 'late_arriving_events'],
    },
  ],
  // A week's group is its largest day; a district's day is its students reporting that day.
  fact_school_week: [{ size: 'max_enrolled', columns: ['max_enrolled', 'student_days', 'attended'] }],
  fact_district_day: [{ size: 'student_days', columns: ['student_days', 'attended'] }],
  fact_equity_metrics: [
    {
      size: 'students',
      columns: [
        'students',
        'student_days',
        'streaming_attendance_rate',
        'official_attendance_rate',
        'attendance_rate_difference',
        'streaming_chronic_absence_rate',
        'official_chronic_absence_rate',
        'economic_need_index',
        'share_temporary_housing',
        'share_ell',
        'share_swd',
      ],
    },
  ],
  dim_school: [
    {
      size: 'enrollment',
      columns: [
        'enrollment',
        'economic_need_index',
        'share_poverty',
        'share_ell',
        'share_swd',
        'share_temporary_housing',
      ],
    },
    {
      size: 'official_students_contributing',
      columns: [
        'official_attendance_rate',
        'official_chronic_absence_rate',
        'official_total_days',
        'official_days_present',
        'official_students_contributing',
        'official_chronically_absent',
      ],
    },
  ],
  dim_district: [],
  dim_borough: [],
  school_snapshot: [],
};

const COUNT_NAME = /(^|_)(students?|enrolled|enrollment|present|absent|late|excused|chronically_absent)($|_)/;
const INTEGER_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$/;

/** The SELECT list publishing `table`: suppressed columns become text holding a figure or `s`. */
function publishedColumns(
  table: string,
  columns: readonly { name: string; type: string }[],
  min: number,
): { select: string; suppressedCount: string } {
  const names = new Set(columns.map((c) => c.name));
  const sizeOf = new Map<string, string>();
  const rules =
    RULES[table] ??
    columns
      .filter((c) => COUNT_NAME.test(c.name) && INTEGER_TYPES.test(c.type))
      .map((c) => ({ size: c.name, columns: [c.name] }));
  for (const rule of rules) {
    if (!names.has(rule.size)) continue;
    for (const c of rule.columns) if (names.has(c) && !sizeOf.has(c)) sizeOf.set(c, rule.size);
  }
  const hidden = (size: string) => `(${quoteIdent(size)} IS NOT NULL AND ${quoteIdent(size)} < ${min})`;
  const select = columns
    .map((c) => {
      const size = sizeOf.get(c.name);
      const col = quoteIdent(c.name);
      return size
        ? `CASE WHEN ${hidden(size)} AND ${col} IS NOT NULL THEN ${quoteLiteral(SUPPRESSED)} ELSE CAST(${col} AS VARCHAR) END AS ${col}`
        : col;
    })
    .join(', ');
  const counted = [...sizeOf.entries()].map(
    ([c, size]) => `count(*) FILTER (WHERE ${hidden(size)} AND ${quoteIdent(c)} IS NOT NULL)`,
  );
  return { select, suppressedCount: counted.length ? counted.join(' + ') : '0' };
}

async function gold(wh: Warehouse): Promise<string[]> {
  const rows = await wh.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
     WHERE table_schema = 'gold' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  return rows.map((r) => r.table_name);
}

/**
 * Writes every gold table (the marts and the snapshot; not the staging views) of the warehouse as
 * Parquet and/or CSV files in `outDir`, named after the table, for Power BI or any other tool.
 * Figures resting on fewer than `minGroupSize` students are published as `s`, as NYC DOE does, so
 * those columns are text. Each file is written under a temporary name and renamed when complete.
 */
export async function exportGold(options: ExportOptions): Promise<ExportedTable[]> {
  const exists = await stat(options.warehousePath).catch(() => undefined);
  if (!exists) {
    throw new MedallionError('MDL_NOTHING_TO_SERVE', 'There is no warehouse to export: gold is not built yet.', {
      hint: 'Run `medallion run --once` (or load, then build) first.',
      details: { warehouse: options.warehousePath },
    });
  }
  const wh = await DuckDbWarehouse.openWithRetry(options.warehousePath, { readOnly: true });
  try {
    const tables = await gold(wh);
    if (tables.length === 0) {
      throw new MedallionError('MDL_NOTHING_TO_SERVE', 'The warehouse has no gold tables to export.', {
        hint: 'Run `medallion build` (or `medallion run --once`) first.',
      });
    }
    const outDir = resolve(options.outDir);
    await mkdir(outDir, { recursive: true });
    const formats = options.format === 'both' ? (['parquet', 'csv'] as const) : ([options.format] as const);
    const out: ExportedTable[] = [];
    for (const table of tables) {
      const columns = (await wh.columns('gold', table)) ?? [];
      const { select, suppressedCount } = publishedColumns(table, columns, options.minGroupSize);
      const source = `gold.${quoteIdent(table)}`;
      const [counts] = await wh.query<{ n: number; s: number }>(
        `SELECT count(*)::BIGINT AS n, (${suppressedCount})::BIGINT AS s FROM ${source}`,
      );
      const files: string[] = [];
      for (const format of formats) {
        const file = join(outDir, `${table}.${format}`);
        const tmp = `${file}.tmp`;
        const opts = format === 'parquet' ? "FORMAT parquet, COMPRESSION 'zstd'" : 'FORMAT csv, HEADER true';
        await rm(tmp, { force: true });
        await wh.exec(`COPY (SELECT ${select} FROM ${source}) TO ${quoteLiteral(tmp)} (${opts})`);
        await rename(tmp, file);
        files.push(file);
      }
      out.push({ table, rows: counts?.n ?? 0, suppressedCells: counts?.s ?? 0, files });
    }
    return out;
  } finally {
    await wh.close();
  }
}
