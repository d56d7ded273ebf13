import type { Row } from '../engine/duckdb.ts';

/**
 * The `Warehouse` contract: the database silver is loaded into and gold is built in. DuckDB now,
 * Snowflake later; everything `load`, `build` and `serve` send to the database goes through it.
 * Dialect differences stay behind implementations (and, for gold SQL, in dbt macros).
 */
export interface ColumnInfo {
  readonly name: string;
  readonly type: string;
}

export interface Warehouse {
  /** Dialect name, as dbt adapters name it (`duckdb`, `snowflake`). */
  readonly dialect: string;
  /** Runs statements, discarding results. */
  exec(sql: string, params?: readonly unknown[]): Promise<void>;
  /** Runs a query and returns its rows. */
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs `fn` in one transaction: all of it commits, or none. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Columns of a table or view, or undefined when it does not exist. */
  columns(schema: string, name: string): Promise<ColumnInfo[] | undefined>;
  /**
   * Loads Parquet files from the lake into `schema.table`: `append` adds their rows (creating the
   * table from the files' schema when missing), `replace` swaps the table's content for theirs.
   * Hive-style partition folders (`key=value/`) become columns when `hivePartitioning` is set.
   * Returns the rows loaded. Runs inside the caller's transaction when there is one.
   */
  loadParquet(
    schema: string,
    table: string,
    uris: readonly string[],
    options: { mode: 'append' | 'replace'; hivePartitioning?: boolean },
  ): Promise<number>;
  /**
   * Optional: another session on the same warehouse, for running independent work in parallel (the
   * dbt runner's `--threads`). Closing it leaves this one open.
   */
  connect?(): Promise<Warehouse>;
  /** Quotes an identifier in the dialect. */
  quote(identifier: string): string;
  close(): Promise<void>;
}
