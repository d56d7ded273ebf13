import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MedallionError } from '../../core/errors.ts';
import { openDuckDb, quoteIdent, quoteLiteral, type Row, type SqlSession } from '../../engine/duckdb.ts';
import type { ColumnInfo, Warehouse } from '../warehouse.ts';

/** The default warehouse: one DuckDB database file under the data directory. */
export class DuckDbWarehouse implements Warehouse {
  readonly dialect = 'duckdb';
  readonly path: string;
  readonly #session: SqlSession;
  #inTransaction = false;

  private constructor(path: string, session: SqlSession) {
    this.path = path;
    this.#session = session;
  }

  /** Opens (creating if needed) the warehouse file; read-only opens fail if it does not exist. */
  static async open(path: string, options: { readOnly?: boolean } = {}): Promise<DuckDbWarehouse> {
    if (!options.readOnly) await mkdir(dirname(path), { recursive: true });
    const session = await openDuckDb(path, { readOnly: options.readOnly });
    return new DuckDbWarehouse(path, session);
  }

  /** A second connection to the same database (parallel work; its own transactions). */
  async connect(): Promise<Warehouse> {
    if (!this.#session.connect)
      throw new MedallionError('MDL_INTERNAL', 'this DuckDB session cannot open another connection.');
    return new DuckDbWarehouse(this.path, await this.#session.connect());
  }

  /** Opens with retries while another process holds the file's lock. */
  static async openWithRetry(
    path: string,
    options: { readOnly?: boolean; attempts?: number; delayMs?: number } = {},
  ): Promise<DuckDbWarehouse> {
    const attempts = options.attempts ?? 20;
    for (let i = 1; ; i++) {
      try {
        return await DuckDbWarehouse.open(path, options);
      } catch (err) {
        if (!(err instanceof MedallionError) || err.code !== 'MDL_WAREHOUSE_LOCKED' || i >= attempts) throw err;
        await new Promise((r) => setTimeout(r, options.delayMs ?? 250));
      }
    }
  }

  /** The underlying SQL session, for code that needs the engine's bulk features (within this adapter family). */
  get session(): SqlSession {
    return this.#session;
  }

  exec(sql: string, params?: readonly unknown[]): Promise<void> {
    return this.#session.exec(sql, params);
  }

  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.#session.all<T>(sql, params);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#inTransaction) return fn();
    this.#inTransaction = true;
    await this.#session.exec('BEGIN TRANSACTION');
    try {
      const result = await fn();
      await this.#session.exec('COMMIT');
      return result;
    } catch (err) {
      await this.#session.exec('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      this.#inTransaction = false;
    }
  }

  async columns(schema: string, name: string): Promise<ColumnInfo[] | undefined> {
    const rows = await this.#session.all<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`,
      [schema, name],
    );
    return rows.length === 0 ? undefined : rows.map((r) => ({ name: r.column_name, type: r.data_type }));
  }

  async loadParquet(
    schema: string,
    table: string,
    uris: readonly string[],
    options: { mode: 'append' | 'replace'; hivePartitioning?: boolean },
  ): Promise<number> {
    if (uris.length === 0) return 0;
    const target = `${quoteIdent(schema)}.${quoteIdent(table)}`;
    const source = `read_parquet([${uris.map(quoteLiteral).join(', ')}], union_by_name = true, hive_partitioning = ${
      options.hivePartitioning ? 'true' : 'false'
    })`;
    await this.#session.exec(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    if (options.mode === 'replace') {
      await this.#session.exec(`CREATE OR REPLACE TABLE ${target} AS SELECT * FROM ${source}`);
    } else {
      await this.#session.exec(`CREATE TABLE IF NOT EXISTS ${target} AS SELECT * FROM ${source} LIMIT 0`);
      // Schema evolution: columns the files have and the table lacks are added (nullable) first, so
      // a contract that gained a field loads; columns the files lack stay null for their rows.
      const have = new Set((await this.columns(schema, table))?.map((c) => c.name));
      const incoming = await this.#session.all<{ column_name: string; column_type: string }>(
        `DESCRIBE SELECT * FROM ${source}`,
      );
      for (const c of incoming) {
        if (!have.has(c.column_name)) {
          await this.#session.exec(`ALTER TABLE ${target} ADD COLUMN ${quoteIdent(c.column_name)} ${c.column_type}`);
        }
      }
      await this.#session.exec(`INSERT INTO ${target} BY NAME SELECT * FROM ${source}`);
    }
    const rows = await this.#session.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${source}`);
    return rows[0]!.n;
  }

  quote(identifier: string): string {
    return quoteIdent(identifier);
  }

  close(): Promise<void> {
    return this.#session.close();
  }
}
