import type { PipelineProject } from '../config/project.ts';
import { MedallionError } from '../core/errors.ts';
import { openDuckDb } from '../engine/duckdb.ts';
import type { Storage } from '../storage/storage.ts';
import { attachLayers } from './layer-catalog.ts';

/** Result of a read-only query over every layer. */
export interface QueryResult {
  readonly columns: string[];
  readonly rows: unknown[][];
}

/**
 * Runs one read-only SQL statement over every layer (`bronze.*`, `silver.*`, `quarantine.*`,
 * `duplicates.*`, `gold.*`). Anything but a single SELECT (or EXPLAIN) is refused before it runs.
 */
export async function runQuery(project: PipelineProject, storage: Storage, sql: string): Promise<QueryResult> {
  const engine = await openDuckDb(':memory:');
  try {
    const { goldUnavailable } = await attachLayers(engine, project, storage, sql);
    const check = await engine.all<{ ast: string }>(`SELECT json_serialize_sql(?::VARCHAR)::VARCHAR AS ast`, [sql]);
    const ast = JSON.parse(check[0]!.ast) as { error?: boolean; error_message?: string; statements?: unknown[] };
    if (ast.error && /only select/i.test(ast.error_message ?? '')) {
      throw new MedallionError('MDL_QUERY_READ_ONLY', 'query runs read-only SELECT statements only.', {
        hint: 'Pass a single SELECT; use the pipeline commands (ingest, refine, load, build) to change data.',
      });
    }
    if (ast.error) {
      throw new MedallionError('MDL_QUERY_INVALID', `The query does not parse: ${ast.error_message}`, {
        hint: 'Fix the SQL (DuckDB dialect); `medallion query "SELECT table_schema, table_name FROM information_schema.tables"` lists what can be read.',
      });
    }
    if ((ast.statements?.length ?? 0) !== 1) {
      throw new MedallionError(
        'MDL_QUERY_READ_ONLY',
        `query runs exactly one SELECT; got ${ast.statements?.length ?? 0} statements.`,
        {
          hint: 'Pass one SELECT statement at a time.',
        },
      );
    }
    try {
      return await engine.table(sql);
    } catch (err) {
      const msg = (err as Error).message;
      if (/Table with name .* does not exist|Catalog Error/i.test(msg)) {
        throw new MedallionError('MDL_QUERY_INVALID', msg, {
          hint: `Layers without data have no tables yet${goldUnavailable ? ` (gold: ${goldUnavailable})` : ''}; run \`medallion run --once\` first, or list tables with "SELECT table_schema, table_name FROM information_schema.tables".`,
        });
      }
      throw new MedallionError('MDL_QUERY_INVALID', msg, { hint: 'Fix the SQL (DuckDB dialect) and run it again.' });
    }
  } finally {
    await engine.close();
  }
}

/** Formats a result as an aligned text table. */
export function formatTable(result: QueryResult, maxRows = 200): string {
  const cell = (v: unknown) =>
    v === null || v === undefined ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  const rows = result.rows.slice(0, maxRows).map((r) => r.map(cell));
  const widths = result.columns.map((c, i) => Math.min(60, Math.max(c.length, ...rows.map((r) => r[i]!.length))));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (c.length > widths[i]! ? `${c.slice(0, widths[i]! - 1)}…` : c.padEnd(widths[i]!))).join(' │ ');
  const lines = [fmt(result.columns), widths.map((w) => '─'.repeat(w)).join('─┼─'), ...rows.map(fmt)];
  lines.push(
    `(${result.rows.length} row${result.rows.length === 1 ? '' : 's'}${result.rows.length > maxRows ? `, first ${maxRows} shown` : ''})`,
  );
  return lines.join('\n');
}
