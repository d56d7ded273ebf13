import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MedallionError } from '../core/errors.ts';
import { quoteIdent, quoteLiteral } from '../engine/duckdb.ts';
import { DuckDbWarehouse } from '../warehouse/duckdb/duckdb-warehouse.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';

/** A value read from gold, and whether it is an older copy served because the warehouse was locked. */
export interface GoldRead<T> {
  readonly value: T;
  /** True when the warehouse changed but was locked by a writer, so the last value read is served. */
  readonly stale: boolean;
  /** When the warehouse file was last written (ISO 8601), as of the value read. */
  readonly updatedAt: string;
}

export interface GoldReaderOptions {
  /** Opens tried while a writer holds the file's lock (default 10). */
  readonly attempts?: number;
  /** Pause between those tries, in ms (default 100). */
  readonly delayMs?: number;
  /** Most answers kept (one per endpoint and parameters; default 64); 0 computes every answer anew. */
  readonly cacheSize?: number;
}

interface Cached {
  readonly stamp: string;
  readonly value: unknown;
}

/** A private copy of gold's tables, as of one version of the warehouse file. */
interface Snapshot {
  readonly stamp: string;
  readonly updatedAt: string;
  readonly wh: DuckDbWarehouse;
  /** The gold tables copied. */
  readonly tables: ReadonlySet<string>;
}

/**
 * Read-only access to the gold schema of a warehouse file, made for a process that serves while
 * others write. DuckDB lets one process write a database file, and a reader's shared lock keeps the
 * writer out, so the reader never keeps the file: when the file (or its write-ahead log) has changed
 * since the last read, it attaches the file read-only (retrying briefly while a writer holds it),
 * copies gold's tables into a private database file of its own (deleted once written; the open
 * connection keeps it) and detaches, and every answer is computed on that copy. Gold is small next to silver (320 k school-days on a simulated school year: a ~0.15 s
 * copy), so a writer is kept out for that long once per warehouse version, and never by queries.
 * Answers are also cached per version. A changed file that stays locked past the retries is answered
 * from the last copy, marked stale. Reads run one at a time.
 */
export class GoldReader {
  readonly path: string;
  readonly #attempts: number;
  readonly #delayMs: number;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, Cached>();
  #queue: Promise<unknown> = Promise.resolve();
  #snapshot: Snapshot | undefined;

  constructor(path: string, options: GoldReaderOptions = {}) {
    this.path = path;
    this.#attempts = options.attempts ?? 10;
    this.#delayMs = options.delayMs ?? 100;
    this.#cacheSize = options.cacheSize ?? 64;
  }

  /**
   * Returns `compute`'s value for `key`, computed on the copy of gold of the warehouse's current
   * version (copied first when the file changed) unless already cached for that version.
   * `requiredTables` are gold tables that must exist; when the file or one of them is missing,
   * throws MDL_NOTHING_TO_SERVE. Throws MDL_WAREHOUSE_LOCKED when a writer holds the file past the
   * retries and nothing was copied yet.
   */
  read<T>(
    key: string,
    requiredTables: readonly string[],
    compute: (wh: Warehouse) => Promise<T>,
  ): Promise<GoldRead<T>> {
    const run = this.#queue.then(() => this.#read(key, requiredTables, compute));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Waits for reads in progress to end and drops the copy of gold. */
  async close(): Promise<void> {
    await this.#queue;
    const snapshot = this.#snapshot;
    this.#snapshot = undefined;
    await snapshot?.wh.close();
  }

  async #read<T>(
    key: string,
    requiredTables: readonly string[],
    compute: (wh: Warehouse) => Promise<T>,
  ): Promise<GoldRead<T>> {
    const { stamp, updatedAt } = await this.#stamp();
    let snapshot = this.#snapshot;
    let stale = false;
    if (snapshot?.stamp !== stamp) {
      try {
        snapshot = await this.#copy(stamp, updatedAt);
      } catch (err) {
        if (!(err instanceof MedallionError && err.code === 'MDL_WAREHOUSE_LOCKED')) throw err;
        if (!snapshot) {
          throw new MedallionError('MDL_WAREHOUSE_LOCKED', 'The warehouse is busy: a pipeline step is writing it.', {
            hint: 'Retry in a few seconds; the dashboard reads gold between the writes of load and build.',
            retriable: true,
            cause: err,
          });
        }
        stale = true;
      }
    }
    const cached = this.#cache.get(key);
    if (cached && cached.stamp === snapshot.stamp)
      return { value: cached.value as T, stale, updatedAt: snapshot.updatedAt };
    this.#requireTables(snapshot, requiredTables);
    const value = await compute(snapshot.wh);
    this.#remember(key, { stamp: snapshot.stamp, value });
    return { value, stale, updatedAt: snapshot.updatedAt };
  }

  /**
   * Copies gold's tables from the warehouse file into a new private database file, which replaces
   * the last copy. A file rather than memory: DuckDB compresses a file's columns on checkpoint, and
   * the pages' queries ran ~1.5x slower on an in-memory copy. Once written, the file is deleted while
   * open (the connection keeps reading it), so no copy outlives the process, however it ends.
   */
  async #copy(stamp: string, updatedAt: string): Promise<Snapshot> {
    const dir = await mkdtemp(join(tmpdir(), 'medallion-serve-gold-'));
    let wh: DuckDbWarehouse | undefined;
    try {
      wh = await DuckDbWarehouse.open(join(dir, 'served.duckdb'));
      for (let attempt = 1; ; attempt++) {
        try {
          await wh.exec(`ATTACH ${quoteLiteral(this.path)} AS warehouse (READ_ONLY)`);
          break;
        } catch (err) {
          if (!(err instanceof MedallionError) || err.code !== 'MDL_WAREHOUSE_LOCKED' || attempt >= this.#attempts)
            throw err;
          await new Promise((r) => setTimeout(r, this.#delayMs));
        }
      }
      const tables: string[] = [];
      try {
        const rows = await wh.query<{ table_name: string }>(
          `SELECT table_name FROM duckdb_tables() WHERE database_name = 'warehouse' AND schema_name = 'gold'
           ORDER BY table_name`,
        );
        await wh.exec('CREATE SCHEMA gold');
        for (const { table_name: name } of rows) {
          await wh.exec(`CREATE TABLE gold.${quoteIdent(name)} AS FROM warehouse.gold.${quoteIdent(name)}`);
          tables.push(name);
        }
      } finally {
        await wh.exec('DETACH warehouse');
      }
      await wh.exec('CHECKPOINT');
      const snapshot: Snapshot = { stamp, updatedAt, wh, tables: new Set(tables) };
      const previous = this.#snapshot;
      this.#snapshot = snapshot;
      await previous?.wh.close();
      return snapshot;
    } catch (err) {
      await wh?.close();
      throw err;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async #stamp(): Promise<{ stamp: string; updatedAt: string }> {
    const db = await stat(this.path).catch(() => undefined);
    if (!db?.isFile()) {
      throw new MedallionError('MDL_NOTHING_TO_SERVE', 'Gold does not exist yet: there is no warehouse file.', {
        hint: 'Run `medallion run --once` (or load, then build) to build gold, then reload.',
        details: { warehouse: this.path },
      });
    }
    const wal = await stat(`${this.path}.wal`).catch(() => undefined);
    const mtime = Math.max(db.mtimeMs, wal?.mtimeMs ?? 0);
    return {
      stamp: `${db.size}:${db.mtimeMs}:${wal?.size ?? '-'}:${wal?.mtimeMs ?? '-'}`,
      updatedAt: new Date(mtime).toISOString(),
    };
  }

  #requireTables(snapshot: Snapshot, tables: readonly string[]): void {
    const missing = tables.filter((t) => !snapshot.tables.has(t));
    if (missing.length > 0) {
      throw new MedallionError(
        'MDL_NOTHING_TO_SERVE',
        `Gold is not built yet: ${missing.map((t) => `gold.${t}`).join(', ')} missing.`,
        { hint: 'Run `medallion build` (or `medallion run --once`) to build gold, then reload.', details: { missing } },
      );
    }
  }

  #remember(key: string, entry: Cached): void {
    if (this.#cacheSize <= 0) return;
    this.#cache.delete(key);
    this.#cache.set(key, entry);
    while (this.#cache.size > this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
  }
}
