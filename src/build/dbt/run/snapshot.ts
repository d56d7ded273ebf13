import { MedallionError } from '../../../core/errors.ts';
import { asSubquery, type WarehouseAdapter } from '../adapter/warehouse-adapter.ts';
import type { Relation } from '../compile/relation.ts';
import type { NodeConfig } from '../graph/manifest.ts';

/**
 * dbt snapshots with the `timestamp` strategy (dbt docs "Add snapshots to your DAG", "Snapshot
 * configurations"; dbt-adapters `materializations/snapshots/`), as set-based SQL:
 *
 * - Meta columns, appended after the query's columns: `dbt_scd_id` = md5 of the unique key and
 *   `updated_at` cast to text and joined by `|` (dbt's `snapshot_hash_arguments`), `dbt_updated_at`
 *   and `dbt_valid_from` = `updated_at`, `dbt_valid_to` = null (or `dbt_valid_to_current`).
 * - First run: the table is the query plus those columns.
 * - Later runs: a staging table holds `insert` rows (keys not current in the snapshot, or whose
 *   `updated_at` is newer than the current row's `dbt_valid_from`) and `update` rows (the current
 *   rows of those changed keys, to close with `dbt_valid_to` = the new `updated_at`); with
 *   `hard_deletes: invalidate` (or `invalidate_hard_deletes: true`) also `delete` rows closing keys
 *   gone from the query at the snapshot time. Then, in one transaction, current rows are closed and
 *   new versions inserted. Unchanged rows are not touched.
 * - Query columns missing from the snapshot table are added first, as dbt does.
 */
const META = ['dbt_scd_id', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to'] as const;

interface Strategy {
  readonly uniqueKey: readonly string[];
  /** The timestamp column (timestamp strategy), or the snapshot time (check strategy). */
  readonly updatedAt: string;
  /** Check strategy: the columns compared; undefined for the timestamp strategy. */
  readonly checkCols: readonly string[] | undefined;
  readonly scdId: string;
  readonly invalidateHardDeletes: boolean;
  readonly validToCurrent: string;
}

function strategyOf(
  config: NodeConfig,
  adapter: WarehouseAdapter,
  where: string,
  queryColumns: readonly string[],
): Strategy {
  const strategy = config['strategy'] ?? 'timestamp';
  if (strategy !== 'timestamp' && strategy !== 'check') {
    throw new MedallionError(
      'MDL_DBT_RUN',
      `${where}: snapshot strategy '${String(strategy)}' is not supported (use 'timestamp' or 'check').`,
      { hint: "Use strategy='timestamp' with updated_at, or strategy='check' with check_cols." },
    );
  }
  const uk = config['unique_key'];
  const uniqueKey = Array.isArray(uk) ? uk.map(String) : typeof uk === 'string' ? [uk] : [];
  if (uniqueKey.length === 0) {
    throw new MedallionError('MDL_DBT_RUN', `${where}: the snapshot has no unique_key.`, {
      hint: "Add unique_key='id' to the snapshot's config.",
    });
  }
  let checkCols: string[] | undefined;
  if (strategy === 'check') {
    const cc = config['check_cols'];
    if (cc === 'all') checkCols = [...queryColumns];
    else if (Array.isArray(cc) && cc.length > 0) checkCols = cc.map(String);
    else {
      throw new MedallionError('MDL_DBT_RUN', `${where}: the check strategy needs check_cols.`, {
        hint: "Add check_cols=['col_a', 'col_b'] (or 'all') to the snapshot's config.",
      });
    }
  }
  const updatedAt = strategy === 'check' && config['updated_at'] === undefined ? adapter.now : config['updated_at'];
  if (typeof updatedAt !== 'string' || updatedAt === '') {
    throw new MedallionError('MDL_DBT_RUN', `${where}: the timestamp strategy needs updated_at.`, {
      hint: "Add updated_at='<timestamp column>' to the snapshot's config.",
    });
  }
  const hardDeletes = config['hard_deletes'] ?? (config['invalidate_hard_deletes'] === true ? 'invalidate' : 'ignore');
  if (hardDeletes !== 'ignore' && hardDeletes !== 'invalidate') {
    throw new MedallionError('MDL_DBT_RUN', `${where}: hard_deletes '${String(hardDeletes)}' is not supported yet.`, {
      hint: "Use 'ignore' or 'invalidate'.",
    });
  }
  const validToCurrent = typeof config['dbt_valid_to_current'] === 'string' ? config['dbt_valid_to_current'] : 'null';
  return {
    uniqueKey,
    updatedAt,
    checkCols,
    scdId: adapter.hash([...uniqueKey, updatedAt]),
    invalidateHardDeletes: hardDeletes === 'invalidate',
    validToCurrent,
  };
}

function keyFields(s: Strategy): string {
  return s.uniqueKey.length === 1
    ? `${s.uniqueKey[0]} as dbt_unique_key`
    : s.uniqueKey.map((k, i) => `${k} as dbt_unique_key_${i + 1}`).join(', ');
}

function keyJoin(s: Strategy, a: string, b: string): string {
  return s.uniqueKey.length === 1
    ? `${a}.dbt_unique_key = ${b}.dbt_unique_key`
    : s.uniqueKey.map((_k, i) => `${a}.dbt_unique_key_${i + 1} = ${b}.dbt_unique_key_${i + 1}`).join(' and ');
}

function keyIsNull(s: Strategy, a: string): string {
  return `${a}.${s.uniqueKey.length === 1 ? 'dbt_unique_key' : 'dbt_unique_key_1'} is null`;
}

function validTo(s: Strategy): string {
  return `coalesce(nullif(${s.updatedAt}, ${s.updatedAt}), ${s.validToCurrent}) as dbt_valid_to`;
}

/** The first-run table: the query plus the meta columns. */
export function buildSnapshotTableSql(s: Strategy, sql: string): string {
  return `select *,
    ${s.scdId} as dbt_scd_id,
    ${s.updatedAt} as dbt_updated_at,
    ${s.updatedAt} as dbt_valid_from,
    ${validTo(s)}
from (
${asSubquery(sql)}
) sbq`;
}

/** The staging rows of a later run: `insert`, `update` (and `delete`) changes. */
export function snapshotStagingSql(s: Strategy, sql: string, target: Relation, now: string): string {
  const current =
    s.validToCurrent === 'null'
      ? 'dbt_valid_to is null'
      : `(dbt_valid_to = ${s.validToCurrent} or dbt_valid_to is null)`;
  const rowChanged = s.checkCols
    ? `(${s.checkCols
        .map(
          (c) =>
            `snapshotted_data.${c} != source_data.${c} or ((snapshotted_data.${c} is null) and not (source_data.${c} is null)) or ((not snapshotted_data.${c} is null) and (source_data.${c} is null))`,
        )
        .join(' or ')})`
    : `(snapshotted_data.dbt_valid_from < source_data.${s.updatedAt})`;
  const deletes = s.invalidateHardDeletes
    ? `,
deletes_source_data as (
    select *, ${keyFields(s)} from snapshot_query
),
deletes as (
    select 'delete' as dbt_change_type, source_data.*,
        ${now} as dbt_valid_from, ${now} as dbt_updated_at, ${now} as dbt_valid_to,
        snapshotted_data.dbt_scd_id
    from snapshotted_data
    left join deletes_source_data as source_data on ${keyJoin(s, 'snapshotted_data', 'source_data')}
    where ${keyIsNull(s, 'source_data')}
)`
    : '';
  return `with snapshot_query as (
${asSubquery(sql)}
),
snapshotted_data as (
    select *, ${keyFields(s)}
    from ${target.render()}
    where ${current}
),
insertions_source_data as (
    select *, ${keyFields(s)},
        ${s.updatedAt} as dbt_updated_at,
        ${s.updatedAt} as dbt_valid_from,
        ${validTo(s)},
        ${s.scdId} as dbt_scd_id
    from snapshot_query
),
updates_source_data as (
    select *, ${keyFields(s)},
        ${s.updatedAt} as dbt_updated_at,
        ${s.updatedAt} as dbt_valid_from,
        ${s.updatedAt} as dbt_valid_to
    from snapshot_query
),
insertions as (
    select 'insert' as dbt_change_type, source_data.*
    from insertions_source_data as source_data
    left outer join snapshotted_data on ${keyJoin(s, 'snapshotted_data', 'source_data')}
    where ${keyIsNull(s, 'snapshotted_data')} or ${rowChanged}
),
updates as (
    select 'update' as dbt_change_type, source_data.*, snapshotted_data.dbt_scd_id
    from updates_source_data as source_data
    join snapshotted_data on ${keyJoin(s, 'snapshotted_data', 'source_data')}
    where ${rowChanged}
)${deletes}
select * from insertions
union all
select * from updates${s.invalidateHardDeletes ? '\nunion all\nselect * from deletes' : ''}`;
}

/** Runs the snapshot; returns the statements sent and a short summary for the progress line. */
export async function runSnapshot(
  adapter: WarehouseAdapter,
  target: Relation,
  sql: string,
  config: NodeConfig,
  where: string,
): Promise<{ statements: string[]; summary: string }> {
  const queryColumns =
    config['strategy'] === 'check' && config['check_cols'] === 'all' ? await adapter.queryColumns(sql) : [];
  const s = strategyOf(config, adapter, where, queryColumns);
  await adapter.ensureSchema(target.schema);
  const kind = await adapter.relationKind(target);
  const w = adapter.warehouse;
  if (kind === undefined) {
    const create = `create table ${target.render()} as (\n${buildSnapshotTableSql(s, sql)}\n)`;
    await w.exec(create);
    return { statements: [create], summary: 'created' };
  }
  if (kind !== 'table') {
    throw new MedallionError(
      'MDL_DBT_RUN',
      `${where}: ${target.display()} exists and is a ${kind}, not a snapshot table.`,
      {
        hint: 'Drop it or give the snapshot another name.',
      },
    );
  }
  const existing = (await adapter.columns(target)) ?? [];
  for (const m of META) {
    if (!existing.some((c) => c.name === m)) {
      throw new MedallionError(
        'MDL_DBT_RUN',
        `${where}: ${target.display()} has no ${m} column; it is not a snapshot table.`,
        {
          hint: 'Drop the table (it will be rebuilt) or give the snapshot another name.',
        },
      );
    }
  }
  const staging = target.withIdentifier(`${target.identifier}__dbt_tmp`);
  const statements = [
    `drop table if exists ${staging.render()}`,
    `create table ${staging.render()} as (\n${snapshotStagingSql(s, sql, target, adapter.now)}\n)`,
  ];
  for (const st of statements) await w.exec(st);
  try {
    const stagingCols = (await adapter.columns(staging)) ?? [];
    const internal = new Set(['dbt_change_type', 'dbt_unique_key', ...META]);
    for (const c of stagingCols) {
      if (internal.has(c.name) || /^dbt_unique_key_\d+$/.test(c.name)) continue;
      if (!existing.some((e) => e.name === c.name)) {
        const add = `alter table ${target.render()} add column ${adapter.quote(c.name)} ${c.type}`;
        statements.push(add);
        await w.exec(add);
      }
    }
    const targetCols = ((await adapter.columns(target)) ?? []).map((c) => adapter.quote(c.name));
    const update = `update ${target.render()} as dbt_internal_target
set dbt_valid_to = dbt_internal_source.dbt_valid_to
from ${staging.render()} as dbt_internal_source
where dbt_internal_source.dbt_scd_id = dbt_internal_target.dbt_scd_id
  and dbt_internal_source.dbt_change_type in ('update', 'delete')
  and dbt_internal_target.dbt_valid_to ${s.validToCurrent === 'null' ? 'is null' : `= ${s.validToCurrent}`}`;
    const insert = `insert into ${target.render()} (${targetCols.join(', ')})
select ${targetCols.map((c) => `dbt_internal_source.${c}`).join(', ')}
from ${staging.render()} as dbt_internal_source
where dbt_internal_source.dbt_change_type = 'insert'`;
    const counts = await w.query<{ inserts: number; updates: number }>(
      `select coalesce(sum(case when dbt_change_type = 'insert' then 1 else 0 end), 0) as inserts,
              coalesce(sum(case when dbt_change_type <> 'insert' then 1 else 0 end), 0) as updates
       from ${staging.render()}`,
    );
    await w.transaction(async () => {
      await w.exec(update);
      await w.exec(insert);
    });
    statements.push(update, insert);
    const c = counts[0] ?? { inserts: 0, updates: 0 };
    return { statements, summary: `${c.inserts} inserted, ${c.updates} closed` };
  } finally {
    await adapter.drop(staging, 'table').catch(() => {});
  }
}
