import { randomUUID } from 'node:crypto';
import { MedallionError } from '../../core/errors.ts';
import { logger } from '../../core/logger.ts';
import { quoteIdent, quoteLiteral, type SqlSession } from '../../engine/duckdb.ts';
import type { Storage } from '../../storage/storage.ts';
import { CHECKPOINT_INTERVAL, readCheckpoint, writeCheckpoint } from './delta-checkpoint.ts';
import {
  type AddAction,
  applyActions,
  type CommitInfoAction,
  commitKey,
  type DeltaAction,
  decodePath,
  emptyState,
  logPrefix,
  type MetadataAction,
  type ProtocolAction,
  parseActions,
  parseLogListing,
  type RemoveAction,
  serializeActions,
  type TableState,
} from './delta-log.ts';
import { columnsOfSchemaString, type DeltaColumn, isNaiveTimestamp, schemaStringOf } from './delta-schema.ts';
import { writeDeltaFiles } from './delta-writer.ts';

const log = logger.child({ component: 'delta' });

/** Reader and writer protocol versions Medallion writes and understands (no table features). */
export const READER_VERSION = 1;
export const WRITER_VERSION = 2;
const ENGINE_INFO = 'medallion';

/** A data file of a snapshot: its add action and where it is in storage. */
export interface DeltaFile extends AddAction {
  /** The storage key of the file (table folder + decoded path). */
  readonly key: string;
  /** Rows in the file, from its statistics (undefined if the writer kept none). */
  readonly numRecords: number | undefined;
}

/** A table as of one version. */
export interface DeltaSnapshot {
  readonly tablePath: string;
  readonly version: number;
  /** Commit time of this version (epoch ms), from its commitInfo when present. */
  readonly timestamp: number | undefined;
  readonly protocol: ProtocolAction;
  readonly metadata: MetadataAction;
  /** All columns, partition columns included, with DuckDB types. */
  readonly columns: readonly DeltaColumn[];
  readonly partitionColumns: readonly string[];
  readonly activeFiles: readonly DeltaFile[];
  /** Remove tombstones still in the log (for vacuum). */
  readonly tombstones: readonly RemoveAction[];
  /** appId → last committed batch version. */
  readonly txns: ReadonlyMap<string, number>;
}

/** What `DeltaTable.create` needs. */
export interface CreateTableOptions {
  readonly schema: readonly DeltaColumn[];
  readonly partitionColumns?: readonly string[];
  readonly name?: string;
  readonly description?: string;
  readonly configuration?: Readonly<Record<string, string>>;
}

/** A file to remove in a commit: a path of the snapshot the commit is based on. */
export interface RemoveRequest {
  readonly path: string;
  /** False for rearrangements that leave the rows unchanged (compaction). Defaults to true. */
  readonly dataChange?: boolean;
}

/** One atomic change to a table. */
export interface CommitRequest {
  readonly add?: readonly AddAction[];
  readonly remove?: readonly RemoveRequest[];
  /** The batch this commit records, for idempotent retries: appId + a version that grows per batch. */
  readonly txn?: { readonly appId: string; readonly version: number };
  /** commitInfo.operation, e.g. `WRITE`, `STREAMING UPDATE`, `OPTIMIZE`. */
  readonly operation: string;
  readonly operationParameters?: Readonly<Record<string, unknown>>;
  readonly operationMetrics?: Readonly<Record<string, unknown>>;
  /** The version the writer read (its removes refer to it). Defaults to the latest version. */
  readonly readVersion?: number;
  /** How many versions to try before giving up when other writers keep winning (default 50). */
  readonly maxAttempts?: number;
  /**
   * A new schema for the table (schema evolution): written as a metaData action with the table's id,
   * partition columns and configuration unchanged. Medallion only ever adds nullable columns.
   */
  readonly schema?: readonly DeltaColumn[];
}

/** The outcome of a commit. */
export interface CommitResult {
  /** The version that holds this change (when `committed` is false: the version that already held the txn). */
  readonly version: number;
  /** False when the txn was already in the table (nothing written: an idempotent retry). */
  readonly committed: boolean;
  /** Versions tried (1 when no other writer interfered). */
  readonly attempts: number;
}

/** One version in a table's history. */
export interface HistoryEntry {
  readonly version: number;
  readonly timestamp: number | undefined;
  readonly operation: string | undefined;
  readonly operationParameters: Readonly<Record<string, unknown>>;
  readonly operationMetrics: Readonly<Record<string, unknown>>;
}

function notFound(tablePath: string): MedallionError {
  return new MedallionError('MDL_DELTA_TABLE_NOT_FOUND', `No Delta table at ${tablePath} (no _delta_log entries).`, {
    hint: 'Create the table first (refine creates silver tables), or check the data directory.',
    details: { tablePath },
  });
}

function conflict(message: string, details: Record<string, unknown>, retriable = false): MedallionError {
  return new MedallionError('MDL_DELTA_CONFLICT', message, {
    hint: retriable
      ? 'Other writers kept committing first; retry the operation.'
      : 'Another writer changed the same files; read the table again and redo the operation.',
    retriable,
    details,
  });
}

/**
 * A Delta Lake table written and read by Medallion through the `Storage` contract (data files,
 * log entries, checkpoints) and a DuckDB `SqlSession` (Parquet checkpoints, SQL over the data).
 */
export class DeltaTable {
  readonly storage: Storage;
  readonly tablePath: string;
  readonly engine: SqlSession;

  private constructor(storage: Storage, tablePath: string, engine: SqlSession) {
    this.storage = storage;
    this.tablePath = tablePath.replace(/\/+$/, '');
    this.engine = engine;
  }

  /** Whether a Delta table exists at `tablePath` (it has at least one log entry or checkpoint). */
  static async exists(storage: Storage, tablePath: string): Promise<boolean> {
    const listing = parseLogListing((await storage.list(logPrefix(tablePath))).map((f) => f.key));
    return listing.commits.length > 0 || listing.checkpoints.length > 0;
  }

  /** Opens an existing table; fails with MDL_DELTA_TABLE_NOT_FOUND when there is none. */
  static async open(storage: Storage, tablePath: string, engine: SqlSession): Promise<DeltaTable> {
    if (!(await DeltaTable.exists(storage, tablePath))) throw notFound(tablePath);
    return new DeltaTable(storage, tablePath, engine);
  }

  /**
   * Delta protocol, "Protocol Evolution" and "Change Metadata": version 0 holds the protocol
   * (reader 1 / writer 2: no table features needed to read or write) and the metaData (a fresh
   * table id, the schema as a Delta schemaString, the partition columns, Parquet as the format).
   * Created with put-if-absent, so of two creators exactly one wins (the other gets
   * MDL_DELTA_TABLE_EXISTS).
   */
  static async create(
    storage: Storage,
    tablePath: string,
    engine: SqlSession,
    options: CreateTableOptions,
  ): Promise<DeltaTable> {
    const partitionColumns = options.partitionColumns ?? [];
    const names = new Set(options.schema.map((c) => c.name));
    for (const p of partitionColumns) {
      if (!names.has(p)) {
        throw new MedallionError('MDL_DELTA_PROTOCOL', `Partition column ${p} is not in the schema of ${tablePath}.`, {
          hint: 'List every partition column in the schema too.',
        });
      }
    }
    const now = Date.now();
    const actions: DeltaAction[] = [
      {
        commitInfo: {
          timestamp: now,
          operation: 'CREATE TABLE',
          operationParameters: {
            partitionBy: JSON.stringify(partitionColumns),
            description: options.description ?? null,
          },
          engineInfo: ENGINE_INFO,
        },
      },
      { protocol: { minReaderVersion: READER_VERSION, minWriterVersion: WRITER_VERSION } },
      {
        metaData: {
          id: randomUUID(),
          name: options.name ?? null,
          description: options.description ?? null,
          format: { provider: 'parquet', options: {} },
          schemaString: schemaStringOf(options.schema),
          partitionColumns: [...partitionColumns],
          configuration: { ...(options.configuration ?? {}) },
          createdTime: now,
        },
      },
    ];
    if (await DeltaTable.exists(storage, tablePath)) throw DeltaTable.existsError(tablePath);
    if (!(await storage.putIfAbsent(commitKey(tablePath, 0), serializeActions(actions)))) {
      throw DeltaTable.existsError(tablePath);
    }
    return new DeltaTable(storage, tablePath, engine);
  }

  /** Opens the table, creating it with `options` when it does not exist yet (race-safe). */
  static async openOrCreate(
    storage: Storage,
    tablePath: string,
    engine: SqlSession,
    options: CreateTableOptions,
  ): Promise<DeltaTable> {
    if (await DeltaTable.exists(storage, tablePath)) return new DeltaTable(storage, tablePath, engine);
    try {
      return await DeltaTable.create(storage, tablePath, engine, options);
    } catch (err) {
      if (err instanceof MedallionError && err.code === 'MDL_DELTA_TABLE_EXISTS') {
        return new DeltaTable(storage, tablePath, engine);
      }
      throw err;
    }
  }

  private static existsError(tablePath: string): MedallionError {
    return new MedallionError('MDL_DELTA_TABLE_EXISTS', `A Delta table already exists at ${tablePath}.`, {
      hint: 'Open it with DeltaTable.open, or delete its folder first to start over.',
      details: { tablePath },
    });
  }

  /** The storage key of a path relative to the table folder. */
  keyOf(path: string): string {
    return `${this.tablePath}/${decodePath(path)}`;
  }

  private async listing() {
    return parseLogListing((await this.storage.list(logPrefix(this.tablePath))).map((f) => f.key));
  }

  /** The newest committed version. */
  async latestVersion(): Promise<number> {
    const { commits, checkpoints } = await this.listing();
    const latest = Math.max(commits.at(-1) ?? -1, checkpoints.at(-1) ?? -1);
    if (latest < 0) throw notFound(this.tablePath);
    return latest;
  }

  private async readCommit(version: number): Promise<DeltaAction[]> {
    const text = await this.storage.readText(commitKey(this.tablePath, version));
    if (text === undefined) throw this.versionNotFound(version, 'its log entry is missing');
    return parseActions(text, version);
  }

  private versionNotFound(version: number, why: string): MedallionError {
    return new MedallionError(
      'MDL_DELTA_VERSION_NOT_FOUND',
      `Version ${version} of the Delta table ${this.tablePath} cannot be read: ${why}.`,
      { hint: 'Use `history` to see the versions the table has, and ask for one of those.', details: { version } },
    );
  }

  /**
   * Delta protocol, "Checkpoints" and "Action Reconciliation": the state at `version` (default:
   * latest) is the newest checkpoint not newer than it, plus every JSON entry after the checkpoint up
   * to `version`, replayed in order. A version outside the log, or a gap in it, is
   * MDL_DELTA_VERSION_NOT_FOUND; a table needing a newer reader is MDL_DELTA_PROTOCOL.
   */
  async snapshot(version?: number): Promise<DeltaSnapshot> {
    const { commits, checkpoints } = await this.listing();
    const latest = Math.max(commits.at(-1) ?? -1, checkpoints.at(-1) ?? -1);
    if (latest < 0) throw notFound(this.tablePath);
    const target = version ?? latest;
    if (!Number.isInteger(target) || target < 0 || target > latest) {
      throw this.versionNotFound(target, `the table's versions are 0 to ${latest}`);
    }
    const cp = checkpoints.filter((v) => v <= target).at(-1);
    const state = emptyState();
    if (cp !== undefined) applyActions(state, await readCheckpoint(this.storage, this.engine, this.tablePath, cp));
    const have = new Set(commits);
    let timestamp: number | undefined;
    for (let v = cp === undefined ? 0 : cp + 1; v <= target; v++) {
      if (!have.has(v)) throw this.versionNotFound(target, `log entry ${v} is missing (cleaned up or not written)`);
      const actions = await this.readCommit(v);
      applyActions(state, actions);
      if (v === target) {
        const info = actions.find((a): a is { commitInfo: CommitInfoAction } => 'commitInfo' in a);
        timestamp = info?.commitInfo.timestamp;
      }
    }
    return this.toSnapshot(state, target, timestamp);
  }

  private toSnapshot(state: TableState, version: number, timestamp: number | undefined): DeltaSnapshot {
    const { protocol, metadata } = state;
    if (!protocol || !metadata) {
      throw new MedallionError(
        'MDL_DELTA_PROTOCOL',
        `The Delta log of ${this.tablePath} has no protocol or metaData.`,
        {
          hint: 'The log is damaged or was not written by a Delta writer; recreate the table.',
        },
      );
    }
    if (protocol.minReaderVersion > READER_VERSION) {
      throw new MedallionError(
        'MDL_DELTA_PROTOCOL',
        `The Delta table ${this.tablePath} needs reader version ${protocol.minReaderVersion}; Medallion reads version ${READER_VERSION}.`,
        {
          hint: 'Write the table without table features (delta-rs/Spark defaults: reader 1, writer 2), or read it with another engine.',
        },
      );
    }
    if (metadata.format.provider !== 'parquet') {
      throw new MedallionError(
        'MDL_DELTA_PROTOCOL',
        `The Delta table ${this.tablePath} stores ${metadata.format.provider}.`,
        {
          hint: 'Only Parquet data files are supported.',
        },
      );
    }
    const files: DeltaFile[] = [];
    for (const [path, add] of state.files) {
      let numRecords: number | undefined;
      if (add.stats) {
        try {
          const n = (JSON.parse(add.stats) as { numRecords?: unknown }).numRecords;
          numRecords = typeof n === 'number' ? n : undefined;
        } catch {
          numRecords = undefined;
        }
      }
      files.push({ ...add, key: `${this.tablePath}/${path}`, numRecords });
    }
    files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return {
      tablePath: this.tablePath,
      version,
      timestamp,
      protocol,
      metadata,
      columns: columnsOfSchemaString(metadata.schemaString),
      partitionColumns: metadata.partitionColumns,
      activeFiles: files,
      tombstones: [...state.tombstones.values()],
      txns: new Map([...state.txns.values()].map((t) => [t.appId, t.version])),
    };
  }

  /** The last batch version `appId` committed to the table (-1 when none). */
  async txnVersion(appId: string): Promise<number> {
    return (await this.snapshot()).txns.get(appId) ?? -1;
  }

  /**
   * Delta protocol, "Delta Log Entries" (writers) and "Transaction Identifiers": data files are
   * written first; the commit is ONE new log entry `<readVersion+1>.json` created only if absent (the
   * storage's mutual exclusion), so readers see all of it or none of it. A writer that loses the race
   * reads the versions that won and checks them against its own change (optimistic concurrency):
   *  - a winner recorded the same txn appId at a version ≥ ours: the batch is already in, nothing to do;
   *  - a winner removed a file we remove, or changed the metaData/protocol: MDL_DELTA_CONFLICT;
   *  - otherwise the change still applies, and it is tried again at the next version.
   * Every 10th version a checkpoint is written after the commit.
   */
  async commit(request: CommitRequest): Promise<CommitResult> {
    const base = await this.snapshot(request.readVersion);
    if (base.protocol.minWriterVersion > WRITER_VERSION) {
      throw new MedallionError(
        'MDL_DELTA_PROTOCOL',
        `The Delta table ${this.tablePath} needs writer version ${base.protocol.minWriterVersion}; Medallion writes version ${WRITER_VERSION}.`,
        { hint: 'Medallion only writes tables without table features (writer version 2 or lower).' },
      );
    }
    if (request.txn) {
      const done = base.txns.get(request.txn.appId);
      if (done !== undefined && done >= request.txn.version) {
        return { version: base.version, committed: false, attempts: 0 };
      }
    }
    // Writer version 2 ("Append-only Tables", "Column Invariants"): no data-changing removes on a
    // table with delta.appendOnly=true; invariants must be enforced, which Medallion does not do, so
    // it refuses to write such a table rather than ignore them.
    if (
      base.metadata.configuration['delta.appendOnly'] === 'true' &&
      (request.remove ?? []).some((r) => r.dataChange ?? true)
    ) {
      throw new MedallionError('MDL_DELTA_PROTOCOL', `The Delta table ${this.tablePath} is append-only.`, {
        hint: 'Only appends (and compaction, dataChange=false) are allowed; unset delta.appendOnly to delete.',
      });
    }
    if (base.metadata.schemaString.includes('"delta.invariants"')) {
      throw new MedallionError(
        'MDL_DELTA_PROTOCOL',
        `The Delta table ${this.tablePath} has column invariants, which Medallion does not enforce.`,
        { hint: 'Write this table with an engine that enforces invariants (Spark, delta-rs).' },
      );
    }
    const active = new Map(base.activeFiles.map((f) => [decodePath(f.path), f]));
    const now = Date.now();
    const removes: RemoveAction[] = (request.remove ?? []).map((r) => {
      const f = active.get(decodePath(r.path));
      if (!f) {
        throw conflict(`File ${r.path} is not in version ${base.version} of ${this.tablePath}; it cannot be removed.`, {
          path: r.path,
          readVersion: base.version,
        });
      }
      return {
        path: f.path,
        deletionTimestamp: now,
        dataChange: r.dataChange ?? true,
        extendedFileMetadata: true,
        partitionValues: f.partitionValues,
        size: f.size,
      };
    });
    const adds = request.add ?? [];
    const removed = new Set(removes.map((r) => decodePath(r.path)));
    const info: CommitInfoAction = {
      timestamp: now,
      operation: request.operation,
      operationParameters: request.operationParameters ?? {},
      operationMetrics: {
        numAddedFiles: adds.length,
        numRemovedFiles: removes.length,
        ...(request.operationMetrics ?? {}),
      },
      readVersion: base.version,
      isBlindAppend: removes.length === 0,
      engineInfo: ENGINE_INFO,
    };
    const actions: DeltaAction[] = [{ commitInfo: info }];
    if (request.schema) actions.push({ metaData: { ...base.metadata, schemaString: schemaStringOf(request.schema) } });
    if (request.txn)
      actions.push({ txn: { appId: request.txn.appId, version: request.txn.version, lastUpdated: now } });
    for (const remove of removes) actions.push({ remove });
    for (const add of adds) actions.push({ add });
    const text = serializeActions(actions);

    const maxAttempts = request.maxAttempts ?? 50;
    let readVersion = base.version;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const version = readVersion + 1;
      if (await this.storage.putIfAbsent(commitKey(this.tablePath, version), text)) {
        if (version % CHECKPOINT_INTERVAL === 0) await this.checkpoint(version);
        return { version, committed: true, attempts: attempt };
      }
      const latest = await this.latestVersion();
      for (let v = readVersion + 1; v <= latest; v++) {
        for (const a of await this.readCommit(v)) {
          if ('txn' in a && request.txn && a.txn.appId === request.txn.appId && a.txn.version >= request.txn.version) {
            return { version: v, committed: false, attempts: attempt };
          }
          if ('remove' in a && removed.has(decodePath(a.remove.path))) {
            throw conflict(
              `Version ${v} of ${this.tablePath} already removed ${a.remove.path}, which this commit removes too.`,
              { path: a.remove.path, version: v },
            );
          }
          if ('metaData' in a || 'protocol' in a) {
            throw conflict(`Version ${v} of ${this.tablePath} changed the table's schema or protocol.`, { version: v });
          }
        }
      }
      readVersion = Math.max(latest, version);
    }
    throw conflict(
      `Gave up committing to ${this.tablePath} after ${maxAttempts} attempts: other writers kept winning.`,
      { maxAttempts },
      true,
    );
  }

  /**
   * Appends the rows of `selectSql` as one commit: skips the batch when `txn` is already in the table
   * (before writing anything), writes the data files, commits them. The one call a batch job needs.
   */
  async append(
    selectSql: string,
    options: {
      readonly txn?: { readonly appId: string; readonly version: number };
      readonly operation?: string;
      readonly operationParameters?: Readonly<Record<string, unknown>>;
    } = {},
  ): Promise<CommitResult & { readonly rows: number }> {
    const snapshot = await this.snapshot();
    if (options.txn) {
      const done = snapshot.txns.get(options.txn.appId);
      if (done !== undefined && done >= options.txn.version) {
        return { version: snapshot.version, committed: false, attempts: 0, rows: 0 };
      }
    }
    const written = await writeDeltaFiles(this.engine, this.storage, snapshot, selectSql);
    const result = await this.commit({
      add: written.add,
      txn: options.txn,
      operation: options.operation ?? 'WRITE',
      operationParameters: { mode: 'Append', ...(options.operationParameters ?? {}) },
      operationMetrics: { numOutputRows: written.rows },
      readVersion: snapshot.version,
    });
    return { ...result, rows: result.committed ? written.rows : 0 };
  }

  /**
   * The version that was current at `timestampMs` (epoch ms): the newest version committed at or
   * before it, by the commitInfo timestamps. MDL_DELTA_VERSION_NOT_FOUND when the table is younger.
   */
  async versionAsOf(timestampMs: number): Promise<number> {
    const entry = (await this.history()).find((h) => h.timestamp !== undefined && h.timestamp <= timestampMs);
    if (!entry)
      throw this.versionNotFound(-1, `no version was committed at or before ${new Date(timestampMs).toISOString()}`);
    return entry.version;
  }

  /** `readSql` of version `version` (default: latest): the relation time travel and `silver.<x>` use. */
  async relation(version?: number): Promise<string> {
    return this.readSql(await this.snapshot(version));
  }

  /** Writes the checkpoint of `version` (default: latest) and updates `_last_checkpoint`. Failures are logged, not thrown. */
  async checkpoint(version?: number): Promise<boolean> {
    try {
      const v = version ?? (await this.latestVersion());
      const { commits, checkpoints } = await this.listing();
      const cp = checkpoints.filter((c) => c <= v).at(-1);
      const state = emptyState();
      if (cp !== undefined) applyActions(state, await readCheckpoint(this.storage, this.engine, this.tablePath, cp));
      const have = new Set(commits);
      for (let i = cp === undefined ? 0 : cp + 1; i <= v; i++) {
        if (!have.has(i)) throw this.versionNotFound(v, `log entry ${i} is missing`);
        applyActions(state, await this.readCommit(i));
      }
      await writeCheckpoint(this.storage, this.engine, this.tablePath, v, state);
      return true;
    } catch (err) {
      log.warn(
        { event: 'delta.checkpoint.failed', err, tablePath: this.tablePath },
        'delta checkpoint failed (readers replay the JSON log instead)',
      );
      return false;
    }
  }

  /** The table's versions, newest first, from the commitInfo of each log entry still present. */
  async history(): Promise<HistoryEntry[]> {
    const { commits } = await this.listing();
    const out: HistoryEntry[] = [];
    for (const version of [...commits].reverse()) {
      const info = (await this.readCommit(version)).find(
        (a): a is { commitInfo: CommitInfoAction } => 'commitInfo' in a,
      );
      out.push({
        version,
        timestamp: info?.commitInfo.timestamp,
        operation: info?.commitInfo.operation,
        operationParameters: info?.commitInfo.operationParameters ?? {},
        operationMetrics: info?.commitInfo.operationMetrics ?? {},
      });
    }
    return out;
  }

  /**
   * A DuckDB relation (parenthesized subquery) with exactly the rows of `snapshot`: its active
   * files, with each partition column's value taken from the log (protocol: "Actual partition values
   * for a file must be read from the transaction log"), every column cast to its table type. Use as
   * `SELECT * FROM <relation>` or in a view. For an older version whose files vacuum deleted, fails
   * with MDL_DELTA_FILES_MISSING.
   */
  async readSql(snapshot: DeltaSnapshot): Promise<string> {
    await this.assertFilesPresent(snapshot);
    return relationSql(this.storage, snapshot, snapshot.activeFiles);
  }

  private async assertFilesPresent(snapshot: DeltaSnapshot): Promise<void> {
    if (snapshot.activeFiles.length === 0) return;
    const present = new Set((await this.storage.list(this.tablePath)).map((f) => f.key));
    const missing = snapshot.activeFiles.filter((f) => !present.has(f.key));
    if (missing.length > 0) {
      throw new MedallionError(
        'MDL_DELTA_FILES_MISSING',
        `Version ${snapshot.version} of ${this.tablePath} refers to ${missing.length} data file(s) that no longer exist (removed by vacuum).`,
        {
          hint: 'Read a newer version; vacuum keeps the files of older versions only for its retention period.',
          details: { version: snapshot.version, missing: missing.slice(0, 5).map((f) => f.key) },
        },
      );
    }
  }
}

/** SQL that casts a stored column to its table type (naive timestamps are stored as UTC instants). */
function columnExpr(source: string, column: DeltaColumn): string {
  const ref = `${source}.${quoteIdent(column.name)}`;
  if (isNaiveTimestamp(column.type)) return `timezone('UTC', ${ref}) AS ${quoteIdent(column.name)}`;
  return `CAST(${ref} AS ${column.type}) AS ${quoteIdent(column.name)}`;
}

/**
 * The rows of `files` (a subset of `snapshot`'s active files) as a DuckDB relation: one
 * `read_parquet` per partition, with the partition values as typed constants (so a filter on a
 * partition column drops whole partitions at planning time).
 */
export function relationSql(storage: Storage, snapshot: DeltaSnapshot, files: readonly DeltaFile[]): string {
  const partitions = new Set(snapshot.partitionColumns);
  const dataColumns = snapshot.columns.filter((c) => !partitions.has(c.name));
  if (files.length === 0) {
    const cols = snapshot.columns.map((c) => `CAST(NULL AS ${c.type}) AS ${quoteIdent(c.name)}`).join(', ');
    return `(SELECT ${cols} WHERE false)`;
  }
  const groups = new Map<string, DeltaFile[]>();
  for (const f of files) {
    const k = JSON.stringify(snapshot.partitionColumns.map((p) => f.partitionValues[p] ?? null));
    const g = groups.get(k);
    if (g) g.push(f);
    else groups.set(k, [f]);
  }
  const branches = [...groups.values()].map((group) => {
    const uris = group.map((f) => quoteLiteral(storage.uri(f.key))).join(', ');
    const pv = group[0]!.partitionValues;
    const cols = snapshot.columns.map((c) => {
      if (!partitions.has(c.name)) return columnExpr('d', c);
      const v = pv[c.name];
      return v === null || v === undefined
        ? `CAST(NULL AS ${c.type}) AS ${quoteIdent(c.name)}`
        : `CAST(${quoteLiteral(v)} AS ${c.type}) AS ${quoteIdent(c.name)}`;
    });
    // Schema evolution: files written before a column was added lack it; UNION ALL BY NAME with an
    // empty row of the table's data columns gives those files NULL there (Delta: a column missing
    // from a data file reads as null).
    const empty = dataColumns.map((c) => `CAST(NULL AS ${c.type}) AS ${quoteIdent(c.name)}`).join(', ');
    const scan =
      dataColumns.length > 0
        ? `((SELECT ${empty} WHERE false) UNION ALL BY NAME (SELECT * FROM read_parquet([${uris}], union_by_name = true, hive_partitioning = false)))`
        : `read_parquet([${uris}], hive_partitioning = false)`;
    return `SELECT ${cols.join(', ')} FROM ${scan} AS d`;
  });
  return `(${branches.join('\nUNION ALL\n')})`;
}
