import {
  BIGINT,
  BLOB,
  BOOLEAN,
  blobValue,
  DOUBLE,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  type DuckDBType,
  DuckDBTypeId,
  INTEGER,
  StatementType,
  TIMESTAMP_MS,
  timestampMillisValue,
  VARCHAR,
} from '@duckdb/node-api';
import { MedallionError } from '../core/errors.ts';
import { logger } from '../core/logger.ts';

const sqlLog = logger.child({ component: 'sql' });
const traceSql = sqlLog.isLevelEnabled('debug');

/** A row as Medallion code sees it: plain JSON-safe values (numbers, strings, booleans, null, arrays, objects). */
export type Row = Record<string, unknown>;

/** Column types the appender accepts. */
export type AppendType = 'VARCHAR' | 'BIGINT' | 'INTEGER' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMP_MS' | 'BLOB';

/** A column to append: its name and type. */
export interface AppendColumn {
  readonly name: string;
  readonly type: AppendType;
}

/**
 * A session on the embedded SQL engine (DuckDB). This is the only module that touches the DuckDB
 * client library; everything else speaks to a `SqlSession`.
 */
export interface SqlSession {
  /**
   * Another connection to the same database instance (its own transactions; queries on the two run
   * in parallel). Closing it closes only that connection.
   */
  connect?(): Promise<SqlSession>;
  /** Runs one or more statements, discarding results. */
  exec(sql: string, params?: readonly unknown[]): Promise<void>;
  /** Runs a query and returns its rows as JSON-safe objects. */
  all<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a query and returns its column names and rows as arrays (for wide or ordered output). */
  table(sql: string, params?: readonly unknown[]): Promise<{ columns: string[]; rows: unknown[][] }>;
  /** Creates `table` (if needed) with `columns` and appends `rows` in bulk. */
  append(table: string, columns: readonly AppendColumn[], rows: Iterable<readonly unknown[]>): Promise<number>;
  /**
   * Creates `table` (if needed) with `columns` and appends `rowCount` rows given column by column
   * (`data[i]` holds column i's values), a vector of rows at a time: several times faster than
   * `append` for wide batches (bronze ingestion).
   */
  appendColumns(
    table: string,
    columns: readonly AppendColumn[],
    data: readonly (readonly unknown[])[],
    rowCount: number,
  ): Promise<number>;
  /** The kinds of the statements in `sql` (`select`, `explain`, `insert`, `copy`, …), without running them. */
  statementKinds(sql: string): Promise<string[]>;
  /** Closes the session and, if it owns it, the database. */
  close(): Promise<void>;
}

export interface OpenOptions {
  readonly readOnly?: boolean;
  /** Worker threads for DuckDB (defaults to DuckDB's own choice). */
  readonly threads?: number;
  readonly memoryLimit?: string;
}

function toJs(value: unknown, typeId: DuckDBTypeId): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return null;
    return typeId === DuckDBTypeId.DATE ? value.toISOString().slice(0, 10) : value.toISOString();
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map((v) => toJs(v, DuckDBTypeId.INVALID));
  if (typeof value === 'object') {
    const out: Row = {};
    for (const [k, v] of Object.entries(value as Row)) out[k] = toJs(v, DuckDBTypeId.INVALID);
    return out;
  }
  return value;
}

function wrapSqlError(err: unknown, sql: string): MedallionError {
  const message = err instanceof Error ? err.message : String(err);
  if (/Could not set lock on file|Conflicting lock/i.test(message)) {
    return new MedallionError('MDL_WAREHOUSE_LOCKED', 'The database file is locked by another Medallion process.', {
      hint: 'Wait for the other command (run, load or build) to finish, or stop it, then retry.',
      retriable: true,
      cause: err,
    });
  }
  return new MedallionError('MDL_WAREHOUSE_SQL', message.split('\n')[0] ?? message, {
    cause: err,
    details: { sql: sql.length > 2000 ? `${sql.slice(0, 2000)}…` : sql },
  });
}

/** DuckDB's vector size: rows per data chunk. */
const CHUNK_ROWS = 2048;

const CHUNK_TYPES: Record<AppendType, DuckDBType> = {
  VARCHAR,
  BIGINT,
  INTEGER,
  DOUBLE,
  BOOLEAN,
  TIMESTAMP_MS,
  BLOB,
};

function chunkValue(type: AppendType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'BIGINT':
      return typeof v === 'bigint' ? v : BigInt(v as number);
    case 'TIMESTAMP_MS':
      return timestampMillisValue(typeof v === 'bigint' ? v : BigInt(v as number));
    case 'BLOB':
      return blobValue(v as Uint8Array);
    case 'BOOLEAN':
      return Boolean(v);
    case 'VARCHAR':
      return typeof v === 'string' ? v : String(v);
    default:
      return v;
  }
}

class DuckDbSession implements SqlSession {
  readonly #instance: DuckDBInstance;
  readonly #conn: DuckDBConnection;
  #closed = false;

  constructor(instance: DuckDBInstance, conn: DuckDBConnection) {
    this.#instance = instance;
    this.#conn = conn;
  }

  async exec(sql: string, params?: readonly unknown[]): Promise<void> {
    const started = traceSql ? performance.now() : 0;
    try {
      if (params && params.length > 0) await this.#conn.run(sql, params as never);
      else await this.#conn.run(sql);
      if (traceSql) sqlLog.debug({ ms: Math.round(performance.now() - started), sql: sql.trim().slice(0, 160) }, 'sql');
    } catch (err) {
      throw wrapSqlError(err, sql);
    }
  }

  async table(sql: string, params?: readonly unknown[]): Promise<{ columns: string[]; rows: unknown[][] }> {
    try {
      const reader =
        params && params.length > 0
          ? await this.#conn.runAndReadAll(sql, params as never)
          : await this.#conn.runAndReadAll(sql);
      const columns = reader.columnNames();
      const types = reader.columnTypes().map((t) => t.typeId);
      const rows = reader.getRowsJS().map((r) => r.map((v, i) => toJs(v, types[i]!)));
      return { columns, rows };
    } catch (err) {
      throw wrapSqlError(err, sql);
    }
  }

  async all<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    const { columns, rows } = await this.table(sql, params);
    return rows.map((r) => {
      const o: Row = {};
      columns.forEach((c, i) => {
        o[c] = r[i];
      });
      return o as T;
    });
  }

  async append(table: string, columns: readonly AppendColumn[], rows: Iterable<readonly unknown[]>): Promise<number> {
    const ddl = columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ');
    await this.exec(`CREATE TABLE IF NOT EXISTS ${table} (${ddl})`);
    const [schema, name] = table.includes('.') ? (table.split('.') as [string, string]) : [null, table];
    const appender = await this.#conn.createAppender(name.replaceAll('"', ''), schema?.replaceAll('"', '') ?? null);
    let n = 0;
    try {
      for (const row of rows) {
        for (let i = 0; i < columns.length; i++) {
          const v = row[i];
          if (v === null || v === undefined) {
            appender.appendNull();
            continue;
          }
          switch (columns[i]!.type) {
            case 'VARCHAR':
              appender.appendVarchar(String(v));
              break;
            case 'BIGINT':
              appender.appendBigInt(BigInt(v as number));
              break;
            case 'INTEGER':
              appender.appendInteger(v as number);
              break;
            case 'DOUBLE':
              appender.appendDouble(v as number);
              break;
            case 'BOOLEAN':
              appender.appendBoolean(Boolean(v));
              break;
            case 'TIMESTAMP_MS':
              appender.appendTimestampMilliseconds(timestampMillisValue(BigInt(v as number)));
              break;
            case 'BLOB':
              appender.appendBlob(v as Uint8Array);
              break;
          }
        }
        appender.endRow();
        n++;
      }
      appender.flushSync();
    } catch (err) {
      throw wrapSqlError(err, `append into ${table}`);
    } finally {
      appender.closeSync();
    }
    return n;
  }

  async appendColumns(
    table: string,
    columns: readonly AppendColumn[],
    data: readonly (readonly unknown[])[],
    rowCount: number,
  ): Promise<number> {
    const ddl = columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ');
    await this.exec(`CREATE TABLE IF NOT EXISTS ${table} (${ddl})`);
    const [schema, name] = table.includes('.') ? (table.split('.') as [string, string]) : [null, table];
    const appender = await this.#conn.createAppender(name.replaceAll('"', ''), schema?.replaceAll('"', '') ?? null);
    const types = columns.map((c) => CHUNK_TYPES[c.type]);
    try {
      for (let start = 0; start < rowCount; start += CHUNK_ROWS) {
        const n = Math.min(CHUNK_ROWS, rowCount - start);
        const chunk = DuckDBDataChunk.create(types, n);
        columns.forEach((c, i) => {
          const values = data[i]!.slice(start, start + n);
          chunk.setColumnValues(i, values.map((v) => chunkValue(c.type, v)) as never);
        });
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } catch (err) {
      throw wrapSqlError(err, `append into ${table}`);
    } finally {
      appender.closeSync();
    }
    return rowCount;
  }

  async statementKinds(sql: string): Promise<string[]> {
    try {
      const extracted = await this.#conn.extractStatements(sql);
      const kinds: string[] = [];
      for (let i = 0; i < extracted.count; i++) {
        const prepared = await extracted.prepare(i);
        kinds.push((StatementType[prepared.statementType] ?? 'unknown').toLowerCase());
      }
      return kinds;
    } catch (err) {
      throw wrapSqlError(err, sql);
    }
  }

  /** Set on sessions made by `connect()`: they share the instance and do not close it. */
  #sharedInstance = false;

  async connect(): Promise<SqlSession> {
    const session = new DuckDbSession(this.#instance, await this.#instance.connect());
    session.#sharedInstance = true;
    return session;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.closeSync();
    if (!this.#sharedInstance) this.#instance.closeSync();
  }
}

/** Quotes an identifier for DuckDB SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal for DuckDB SQL (for paths and names that cannot be bound as parameters). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Opens an embedded DuckDB database (a file path, or ':memory:'). */
export async function openDuckDb(path: string, options: OpenOptions = {}): Promise<SqlSession> {
  const config: Record<string, string> = {};
  if (options.readOnly) config['access_mode'] = 'READ_ONLY';
  if (options.threads) config['threads'] = String(options.threads);
  if (options.memoryLimit) config['memory_limit'] = options.memoryLimit;
  try {
    const instance = await DuckDBInstance.create(path, config);
    const conn = await instance.connect();
    return new DuckDbSession(instance, conn);
  } catch (err) {
    throw wrapSqlError(err, `open ${path}`);
  }
}
