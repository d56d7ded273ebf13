import type { ColumnInfo, Warehouse } from '../../../warehouse/warehouse.ts';
import type { Catalog } from '../compile/context.ts';
import type { Relation } from '../compile/relation.ts';

/**
 * What the dbt runner sends to the database, in one place (dbt-core's "adapter" role): schema and
 * relation DDL, relation lookups and the few dialect expressions snapshots need. Everything goes
 * through the `Warehouse` contract; what differs by dialect (DuckDB now, Snowflake later) is in
 * `DIALECTS`, so a new warehouse adds an entry, not a code path.
 */
interface Dialect {
  /** dbt's `snapshot_hash_arguments`: md5 of the arguments cast to text, `|`-separated. */
  hash(args: readonly string[]): string;
  /** dbt's `snapshot_get_time()`. */
  readonly now: string;
  /** `ALTER TABLE … RENAME TO …` target: DuckDB wants the bare name, Snowflake the qualified one. */
  renameTarget(to: Relation): string;
  /**
   * Every relation of the current database with its columns, one row per column (or per relation
   * without columns): `s` schema, `t` name, `k` table type (`VIEW` or other), `c` column, `d` type.
   */
  readonly catalogQuery: string;
  /** A query for one relation's columns in order, as `column_name`, `column_type`. */
  describe(relation: Relation): string;
}

const DEFAULT_DIALECT: Dialect = {
  hash: (args) => `md5(${args.map((a) => `coalesce(cast(${a} as varchar ), '')`).join(" || '|' || ")})`,
  now: 'current_timestamp',
  renameTarget: (to) => to.render(),
  catalogQuery: `select t.table_schema as s, t.table_name as t, t.table_type as k, c.column_name as c, c.data_type as d
       from information_schema.tables t
       left join information_schema.columns c
         on c.table_catalog = t.table_catalog and c.table_schema = t.table_schema and c.table_name = t.table_name
       where t.table_catalog = current_database()
       order by t.table_schema, t.table_name, c.ordinal_position`,
  describe: (r) => {
    const lit = (v: string) => `'${v.replaceAll("'", "''")}'`;
    return `select column_name, data_type as column_type from information_schema.columns
       where table_schema = ${lit(r.schema)} and table_name = ${lit(r.identifier)} and table_catalog = current_database()
       order by ordinal_position`;
  },
};

const DIALECTS: Record<string, Dialect> = {
  duckdb: {
    ...DEFAULT_DIALECT,
    now: 'now()::timestamp',
    renameTarget: (to) => `"${to.identifier.replaceAll('"', '""')}"`,
    // DuckDB's own catalog functions answer the same as information_schema, in about half the time.
    catalogQuery: `select c.schema_name as s, c.table_name as t,
         case when v.view_name is null then 'BASE TABLE' else 'VIEW' end as k,
         c.column_name as c, c.data_type as d
       from duckdb_columns() c
       left join duckdb_views() v
         on v.database_name = c.database_name and v.schema_name = c.schema_name and v.view_name = c.table_name
       where c.database_name = current_database()
       order by c.schema_name, c.table_name, c.column_index`,
    describe: (r) => `describe ${r.render()}`,
  },
};

export type RelationKind = 'table' | 'view';

/** Strips what cannot end a subquery: trailing semicolons and blank space. */
export function asSubquery(sql: string): string {
  return sql.replace(/[\s;]+$/, '');
}

export class WarehouseAdapter {
  readonly warehouse: Warehouse;
  readonly #dialect: Dialect;
  readonly #schemas = new Set<string>();
  #catalog: Catalog | undefined;

  constructor(warehouse: Warehouse) {
    this.warehouse = warehouse;
    this.#dialect = DIALECTS[warehouse.dialect] ?? DEFAULT_DIALECT;
  }

  /**
   * Answers relation lookups from `catalog` (filled by the caller from `catalog()`, shared by the
   * run's connections) instead of asking the warehouse each time, and keeps it current through
   * this adapter's DDL; a stale catalog is read again first.
   */
  useCatalog(catalog: Catalog): void {
    this.#catalog = catalog;
  }

  /** Reads the catalog again when SQL of unknown effect made it stale. */
  async freshCatalog(): Promise<Catalog | undefined> {
    const c = this.#catalog;
    if (c?.stale) c.reset(await this.catalog());
    return c;
  }

  get type(): string {
    return this.warehouse.dialect;
  }

  quote(identifier: string): string {
    return this.warehouse.quote(identifier);
  }

  hash(args: readonly string[]): string {
    return this.#dialect.hash(args);
  }

  get now(): string {
    return this.#dialect.now;
  }

  /** Records that a schema exists (created on another connection). */
  knowSchema(schema: string): void {
    this.#schemas.add(schema);
  }

  async ensureSchema(schema: string): Promise<void> {
    if (this.#schemas.has(schema)) return;
    await this.warehouse.exec(`create schema if not exists ${this.quote(schema)}`);
    this.#schemas.add(schema);
  }

  /** Every relation of the current database with its columns (for dbt's `adapter.get_relation`). */
  async catalog(): Promise<{ schema: string; name: string; type: RelationKind; columns: ColumnInfo[] }[]> {
    const rows = await this.warehouse.query<{ s: string; t: string; k: string; c: string | null; d: string | null }>(
      this.#dialect.catalogQuery,
    );
    const out = new Map<string, { schema: string; name: string; type: RelationKind; columns: ColumnInfo[] }>();
    for (const r of rows) {
      const key = `${r.s}.${r.t}`;
      let e = out.get(key);
      if (!e) {
        e = { schema: r.s, name: r.t, type: /view/i.test(r.k) ? 'view' : 'table', columns: [] };
        out.set(key, e);
      }
      if (r.c !== null) e.columns.push({ name: r.c, type: r.d ?? '' });
    }
    return [...out.values()];
  }

  async relationKind(relation: Relation): Promise<RelationKind | undefined> {
    const catalog = await this.freshCatalog();
    if (catalog) return catalog.get(relation.schema, relation.identifier)?.type;
    const rows = await this.warehouse.query<{ table_type: string }>(
      `select table_type from information_schema.tables
       where table_schema = ? and table_name = ? and table_catalog = current_database()`,
      [relation.schema, relation.identifier],
    );
    const t = rows[0]?.table_type;
    if (t === undefined) return undefined;
    return /view/i.test(t) ? 'view' : 'table';
  }

  columns(relation: Relation): Promise<ColumnInfo[] | undefined> {
    return this.warehouse.columns(relation.schema, relation.identifier);
  }

  /**
   * After a node built `relation` as `kind`: records it in the catalog with its columns (one
   * describe), or forgets it when it is not there after all.
   */
  async settle(relation: Relation, kind: RelationKind): Promise<void> {
    const catalog = await this.freshCatalog();
    if (!catalog) return;
    let rows: { column_name: string; column_type: string }[];
    try {
      rows = await this.warehouse.query<{ column_name: string; column_type: string }>(this.#dialect.describe(relation));
    } catch {
      rows = [];
    }
    if (rows.length === 0) catalog.delete(relation.schema, relation.identifier);
    else
      catalog.set(
        relation.schema,
        relation.identifier,
        kind,
        rows.map((r) => ({ name: r.column_name, type: r.column_type })),
      );
  }

  /** The column names a query returns (dbt's `get_columns_in_query`). */
  async queryColumns(sql: string): Promise<string[]> {
    const rows = await this.warehouse.query<{ column_name: string }>(`describe (\n${asSubquery(sql)}\n)`);
    return rows.map((r) => r.column_name);
  }

  async drop(relation: Relation, kind: RelationKind): Promise<void> {
    await this.warehouse.exec(`drop ${kind} if exists ${relation.render()}`);
    this.#catalog?.delete(relation.schema, relation.identifier);
  }

  /** The view materialization: replaces whatever relation has the name with a view of `sql`. */
  async createView(relation: Relation, sql: string): Promise<string[]> {
    await this.ensureSchema(relation.schema);
    const statements: string[] = [];
    const create = `create or replace view ${relation.render()} as (\n${asSubquery(sql)}\n)`;
    if ((await this.relationKind(relation)) === 'table') {
      await this.warehouse.transaction(async () => {
        statements.push(`drop table if exists ${relation.render()}`);
        await this.drop(relation, 'table');
        statements.push(create);
        await this.warehouse.exec(create);
      });
    } else {
      // One statement: atomic on its own.
      statements.push(create);
      await this.warehouse.exec(create);
    }
    this.#catalog?.set(relation.schema, relation.identifier, 'view', []);
    return statements;
  }

  /**
   * The table materialization: builds `<name>__dbt_tmp` first, then swaps it in within one
   * transaction, so readers see the old table or the new one, never none or half of one.
   */
  async createTable(relation: Relation, sql: string): Promise<string[]> {
    await this.ensureSchema(relation.schema);
    const tmp = relation.withIdentifier(`${relation.identifier}__dbt_tmp`);
    const statements: string[] = [];
    // A leftover of an interrupted run goes first (with a catalog, only when there is one).
    if (!this.#catalog || (await this.relationKind(tmp))) {
      statements.push(`drop table if exists ${tmp.render()}`);
      await this.drop(tmp, 'table');
    }
    const create = `create table ${tmp.render()} as (\n${asSubquery(sql)}\n)`;
    statements.push(create);
    await this.warehouse.exec(create);
    try {
      await this.warehouse.transaction(async () => {
        const kind = await this.relationKind(relation);
        if (kind) {
          statements.push(`drop ${kind} if exists ${relation.render()}`);
          await this.drop(relation, kind);
        }
        const rename = `alter table ${tmp.render()} rename to ${this.#dialect.renameTarget(relation)}`;
        statements.push(rename);
        await this.warehouse.exec(rename);
      });
    } catch (err) {
      await this.drop(tmp, 'table').catch(() => {});
      throw err;
    }
    this.#catalog?.set(relation.schema, relation.identifier, 'table', []);
    return statements;
  }
}
