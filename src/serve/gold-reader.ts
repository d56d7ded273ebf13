import { stat } from 'node:fs/promises';
import { MedallionError } from '../core/errors.ts';
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
  /** Most values kept (one per endpoint and parameters; default 64). */
  readonly cacheSize?: number;
  /** How long the read-only connection stays open after a read, for the next one, in ms (default 500; 0 closes at once). */
  readonly lingerMs?: number;
  /** Longest a connection is kept across reads, in ms (default 3000); then it closes and no read opens one for `gapMs`. */
  readonly maxHoldMs?: number;
  /** The pause after a long hold, so that a writer retrying its open gets in, in ms (default 300). */
  readonly gapMs?: number;
}

interface Cached {
  readonly stamp: string;
  readonly value: unknown;
  readonly updatedAt: string;
}

/**
 * Read-only access to the gold schema of a warehouse file, made for a process that serves while
 * others write. DuckDB lets one process write a database file, and a reader's shared lock keeps the
 * writer out, so the reader holds a connection only briefly: a read opens the file read-only
 * (retrying briefly while a writer holds it) and the connection stays open for the reads that follow
 * within `lingerMs` (a page asks for several answers at once), never for more than `maxHoldMs` in
 * all, after which no read opens the file for `gapMs`, so a writer retrying its open (the pipeline
 * retries for 5 s) always gets in. Values are cached by the
 * file's size and modification time (and its write-ahead log's), so an unchanged file is not opened
 * at all; a changed file that stays locked past the retries is answered from the cache, marked stale.
 * Reads run one at a time.
 */
export class GoldReader {
  readonly path: string;
  readonly #attempts: number;
  readonly #delayMs: number;
  readonly #cacheSize: number;
  readonly #lingerMs: number;
  readonly #maxHoldMs: number;
  readonly #gapMs: number;
  readonly #cache = new Map<string, Cached>();
  #queue: Promise<unknown> = Promise.resolve();
  #held: { wh: DuckDbWarehouse; since: number; timer?: NodeJS.Timeout } | undefined;
  #gapUntil = 0;

  constructor(path: string, options: GoldReaderOptions = {}) {
    this.path = path;
    this.#attempts = options.attempts ?? 10;
    this.#delayMs = options.delayMs ?? 100;
    this.#cacheSize = options.cacheSize ?? 64;
    this.#lingerMs = options.lingerMs ?? 500;
    this.#maxHoldMs = options.maxHoldMs ?? 3000;
    this.#gapMs = options.gapMs ?? 300;
  }

  /**
   * Returns `compute`'s value for `key`, running it on a read-only warehouse session only when the
   * file changed since the cached value. `requiredTables` are gold tables that must exist; when the
   * file or one of them is missing, throws MDL_NOTHING_TO_SERVE. Throws MDL_WAREHOUSE_LOCKED when a
   * writer holds the file past the retries and nothing is cached.
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

  /** Waits for reads in progress to end and closes the connection kept open. */
  async close(): Promise<void> {
    await this.#queue;
    await this.#release();
  }

  async #release(): Promise<void> {
    const held = this.#held;
    if (!held) return;
    this.#held = undefined;
    clearTimeout(held.timer);
    await held.wh.close();
  }

  /** The connection kept open from the last read, or a new one (waiting out a gap after a long hold). */
  async #open(): Promise<DuckDbWarehouse> {
    const held = this.#held;
    if (held) {
      clearTimeout(held.timer);
      if (Date.now() - held.since < this.#maxHoldMs) return held.wh;
      await this.#release();
      this.#gapUntil = Date.now() + this.#gapMs;
    }
    const wait = this.#gapUntil - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const wh = await DuckDbWarehouse.openWithRetry(this.path, {
      readOnly: true,
      attempts: this.#attempts,
      delayMs: this.#delayMs,
    });
    this.#held = { wh, since: Date.now() };
    return wh;
  }

  /** After a read: keep the connection for `lingerMs`, or close it now. */
  async #afterRead(failed: boolean): Promise<void> {
    const held = this.#held;
    if (!held) return;
    if (failed || this.#lingerMs <= 0) {
      await this.#release();
      return;
    }
    held.timer = setTimeout(() => {
      if (this.#held === held) {
        this.#queue = this.#queue.then(() => (this.#held === held ? this.#release() : undefined)).catch(() => {});
      }
    }, this.#lingerMs);
    held.timer.unref();
  }

  async #read<T>(
    key: string,
    requiredTables: readonly string[],
    compute: (wh: Warehouse) => Promise<T>,
  ): Promise<GoldRead<T>> {
    const { stamp, updatedAt } = await this.#stamp();
    const cached = this.#cache.get(key);
    if (cached && cached.stamp === stamp)
      return { value: cached.value as T, stale: false, updatedAt: cached.updatedAt };
    let wh: DuckDbWarehouse;
    try {
      wh = await this.#open();
    } catch (err) {
      if (err instanceof MedallionError && err.code === 'MDL_WAREHOUSE_LOCKED') {
        if (cached) return { value: cached.value as T, stale: true, updatedAt: cached.updatedAt };
        throw new MedallionError('MDL_WAREHOUSE_LOCKED', 'The warehouse is busy: a pipeline step is writing it.', {
          hint: 'Retry in a few seconds; the dashboard reads gold between the writes of load and build.',
          retriable: true,
          cause: err,
        });
      }
      throw err;
    }
    let failed = true;
    try {
      await this.#requireTables(wh, requiredTables);
      const value = await compute(wh);
      this.#remember(key, { stamp, value, updatedAt });
      failed = false;
      return { value, stale: false, updatedAt };
    } finally {
      await this.#afterRead(failed);
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

  async #requireTables(wh: Warehouse, tables: readonly string[]): Promise<void> {
    if (tables.length === 0) return;
    const rows = await wh.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
       WHERE table_schema = 'gold' AND table_name IN (${tables.map(() => '?').join(', ')})`,
      tables,
    );
    const present = new Set(rows.map((r) => r.table_name));
    const missing = tables.filter((t) => !present.has(t));
    if (missing.length > 0) {
      throw new MedallionError(
        'MDL_NOTHING_TO_SERVE',
        `Gold is not built yet: ${missing.map((t) => `gold.${t}`).join(', ')} missing.`,
        { hint: 'Run `medallion build` (or `medallion run --once`) to build gold, then reload.', details: { missing } },
      );
    }
  }

  #remember(key: string, entry: Cached): void {
    this.#cache.delete(key);
    this.#cache.set(key, entry);
    while (this.#cache.size > this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
  }
}
