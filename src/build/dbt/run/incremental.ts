import { MedallionError } from '../../../core/errors.ts';
import type { ColumnInfo } from '../../../warehouse/warehouse.ts';
import { asSubquery, type WarehouseAdapter } from '../adapter/warehouse-adapter.ts';
import type { Relation } from '../compile/relation.ts';
import type { NodeConfig } from '../graph/manifest.ts';

/**
 * dbt's incremental materialization (dbt docs "Configure incremental models", "About
 * incremental_strategy", "on_schema_change"; dbt-adapters `materializations/models/incremental/`):
 *
 * - First run, `--full-refresh` (unless the model sets `full_refresh: false`), or a view in the way:
 *   build the whole table, as the table materialization does.
 * - Later runs: the model's SQL (rendered with `is_incremental()` true) goes to `<name>__dbt_tmp`;
 *   `on_schema_change` reconciles columns (`ignore`: the target's columns only; `fail`: stop when
 *   they differ; `append_new_columns`: add new ones; `sync_all_columns`: add new, drop removed and
 *   retype changed ones); then the strategy applies it in one transaction:
 *   `append` inserts every row; `delete+insert` deletes target rows whose `unique_key` (one column
 *   or several) matches a new row, then inserts; `merge` updates matching rows and inserts the
 *   others. Without a `unique_key`, the default is `append`; with one, `delete+insert` (dbt-duckdb's
 *   default).
 */
export type IncrementalStrategy = 'append' | 'merge' | 'delete+insert';

function uniqueKeyOf(config: NodeConfig): string[] {
  const uk = config['unique_key'];
  if (Array.isArray(uk)) return uk.map(String);
  if (typeof uk === 'string' && uk.trim() !== '') return uk.includes(',') ? uk.split(',').map((k) => k.trim()) : [uk];
  return [];
}

function strategyOf(config: NodeConfig, uniqueKey: readonly string[], where: string): IncrementalStrategy {
  const raw = config['incremental_strategy'];
  const strategy = raw === undefined || raw === null || raw === 'default' ? undefined : String(raw);
  if (strategy === undefined) return uniqueKey.length > 0 ? 'delete+insert' : 'append';
  if (strategy !== 'append' && strategy !== 'merge' && strategy !== 'delete+insert') {
    throw new MedallionError('MDL_DBT_RUN', `${where}: incremental_strategy '${strategy}' is not supported.`, {
      hint: "Use 'append', 'merge' or 'delete+insert'.",
    });
  }
  if (strategy !== 'append' && uniqueKey.length === 0) {
    throw new MedallionError('MDL_DBT_RUN', `${where}: incremental_strategy '${strategy}' needs a unique_key.`, {
      hint: "Add unique_key='id' (or a list of columns) to the model's config.",
    });
  }
  return strategy;
}

function sameType(a: string, b: string): boolean {
  return a.replace(/\s+/g, '').toUpperCase() === b.replace(/\s+/g, '').toUpperCase();
}

/** Reconciles the target's columns with the new rows' per `on_schema_change`; returns the columns to write. */
async function reconcileSchema(
  adapter: WarehouseAdapter,
  target: Relation,
  targetCols: readonly ColumnInfo[],
  tmpCols: readonly ColumnInfo[],
  mode: string,
  where: string,
): Promise<string[]> {
  const added = tmpCols.filter((c) => !targetCols.some((t) => t.name === c.name));
  const removed = targetCols.filter((t) => !tmpCols.some((c) => c.name === t.name));
  const changed = tmpCols.filter((c) => targetCols.some((t) => t.name === c.name && !sameType(t.type, c.type)));
  const differs = added.length > 0 || removed.length > 0 || changed.length > 0;
  const q = (n: string) => adapter.quote(n);
  switch (mode) {
    case 'ignore':
      return targetCols.map((t) => t.name);
    case 'fail':
      if (differs) {
        throw new MedallionError(
          'MDL_DBT_RUN',
          `${where}: the source and target schemas on this incremental model are out of sync (added: ${added.map((c) => c.name).join(', ') || 'none'}; removed: ${removed.map((c) => c.name).join(', ') || 'none'}; changed: ${changed.map((c) => c.name).join(', ') || 'none'}).`,
          { hint: 'Run with --full-refresh, or set on_schema_change to append_new_columns or sync_all_columns.' },
        );
      }
      return targetCols.map((t) => t.name);
    case 'append_new_columns':
      for (const c of added)
        await adapter.warehouse.exec(`alter table ${target.render()} add column ${q(c.name)} ${c.type}`);
      return [
        ...targetCols.filter((t) => tmpCols.some((c) => c.name === t.name)).map((t) => t.name),
        ...added.map((c) => c.name),
      ];
    case 'sync_all_columns':
      for (const c of added)
        await adapter.warehouse.exec(`alter table ${target.render()} add column ${q(c.name)} ${c.type}`);
      for (const c of removed) await adapter.warehouse.exec(`alter table ${target.render()} drop column ${q(c.name)}`);
      for (const c of changed)
        await adapter.warehouse.exec(`alter table ${target.render()} alter column ${q(c.name)} type ${c.type}`);
      return tmpCols.map((c) => c.name);
    default:
      throw new MedallionError('MDL_DBT_RUN', `${where}: on_schema_change '${mode}' is not valid.`, {
        hint: 'Use ignore, fail, append_new_columns or sync_all_columns.',
      });
  }
}

/** Applies new rows to an existing incremental table; returns the statements sent. */
export async function runIncremental(
  adapter: WarehouseAdapter,
  target: Relation,
  sql: string,
  config: NodeConfig,
  where: string,
): Promise<string[]> {
  const uniqueKey = uniqueKeyOf(config);
  const strategy = strategyOf(config, uniqueKey, where);
  const w = adapter.warehouse;
  const tmp = target.withIdentifier(`${target.identifier}__dbt_tmp`);
  const statements = [
    `drop table if exists ${tmp.render()}`,
    `create table ${tmp.render()} as (\n${asSubquery(sql)}\n)`,
  ];
  for (const st of statements) await w.exec(st);
  try {
    const targetCols = (await adapter.columns(target)) ?? [];
    const tmpCols = (await adapter.columns(tmp)) ?? [];
    const mode = String(config['on_schema_change'] ?? 'ignore');
    const q = (n: string) => adapter.quote(n);
    await w.transaction(async () => {
      const cols = await reconcileSchema(adapter, target, targetCols, tmpCols, mode, where);
      const list = cols.map(q).join(', ');
      const keyMatch = uniqueKey.map((k) => `dbt_internal_source.${q(k)} = dbt_internal_dest.${q(k)}`).join(' and ');
      const run = async (st: string) => {
        statements.push(st);
        await w.exec(st);
      };
      if (strategy === 'delete+insert') {
        await run(
          uniqueKey.length === 1
            ? `delete from ${target.render()} where (${q(uniqueKey[0]!)}) in (select (${q(uniqueKey[0]!)}) from ${tmp.render()})`
            : `delete from ${target.render()} as dbt_internal_dest using ${tmp.render()} as dbt_internal_source where ${keyMatch}`,
        );
      }
      if (strategy === 'merge') {
        const updates = cols.filter((c) => !uniqueKey.includes(c));
        await run(`merge into ${target.render()} as dbt_internal_dest
using ${tmp.render()} as dbt_internal_source
on ${keyMatch}
${updates.length > 0 ? `when matched then update set ${updates.map((c) => `${q(c)} = dbt_internal_source.${q(c)}`).join(', ')}\n` : ''}when not matched then insert (${list}) values (${cols.map((c) => `dbt_internal_source.${q(c)}`).join(', ')})`);
        return;
      }
      await run(`insert into ${target.render()} (${list}) select ${list} from ${tmp.render()}`);
    });
    return statements;
  } finally {
    await adapter.drop(tmp, 'table').catch(() => {});
  }
}
