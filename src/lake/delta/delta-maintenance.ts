import { MedallionError } from '../../core/errors.ts';
import { quoteLiteral } from '../../engine/duckdb.ts';
import { decodePath, logPrefix } from './delta-log.ts';
import { type DeltaFile, type DeltaTable, relationSql } from './delta-table.ts';
import { writeDeltaFiles } from './delta-writer.ts';

/** Options of `optimizeTable`: a file smaller than either target is "small" and may be merged. */
export interface OptimizeOptions {
  /** Files with fewer rows than this are merged (per partition) into files of about this many rows. */
  readonly targetFileRows?: number;
  /** Files smaller than this many bytes are merged into files of about this size. Default 64 MiB when neither is given. */
  readonly targetSizeBytes?: number;
}

/** What `optimizeTable` did. */
export interface OptimizeResult {
  /** The version committed, or undefined when there was nothing to compact. */
  readonly version: number | undefined;
  readonly filesRemoved: number;
  readonly filesAdded: number;
  readonly partitionsOptimized: number;
}

/**
 * Compaction (`medallion optimize`). In each partition, small files (below the target rows or
 * bytes) are packed in groups of about the target and each group of two or more is rewritten as
 * one file. Everything is committed as ONE version of removes and adds, all with `dataChange=false`
 * (protocol, "Add File and Remove File": the rows are unchanged, so streaming readers may skip it).
 * Based on the version read: if a concurrent writer removed one of the files meanwhile, the commit
 * fails with MDL_DELTA_CONFLICT and nothing changes (the written files are orphans for vacuum).
 */
export async function optimizeTable(table: DeltaTable, options: OptimizeOptions = {}): Promise<OptimizeResult> {
  const snapshot = await table.snapshot();
  const byRows = options.targetFileRows;
  const bySize = options.targetSizeBytes ?? (byRows === undefined ? 64 * 1024 * 1024 : undefined);
  const weight = (f: DeltaFile): number => (byRows !== undefined ? (f.numRecords ?? byRows) : f.size);
  const target = byRows ?? bySize!;
  const partitions = new Map<string, DeltaFile[]>();
  for (const f of snapshot.activeFiles) {
    if (weight(f) >= target) continue;
    const k = JSON.stringify(snapshot.partitionColumns.map((p) => f.partitionValues[p] ?? null));
    const list = partitions.get(k);
    if (list) list.push(f);
    else partitions.set(k, [f]);
  }
  const groups: DeltaFile[][] = [];
  let partitionsOptimized = 0;
  for (const files of partitions.values()) {
    let current: DeltaFile[] = [];
    let total = 0;
    const before = groups.length;
    for (const f of files) {
      if (current.length > 0 && total + weight(f) > target) {
        if (current.length > 1) groups.push(current);
        current = [];
        total = 0;
      }
      current.push(f);
      total += weight(f);
    }
    if (current.length > 1) groups.push(current);
    if (groups.length > before) partitionsOptimized++;
  }
  if (groups.length === 0) return { version: undefined, filesRemoved: 0, filesAdded: 0, partitionsOptimized: 0 };
  const add = [];
  const remove = [];
  for (const group of groups) {
    const written = await writeDeltaFiles(
      table.engine,
      table.storage,
      snapshot,
      `SELECT * FROM ${relationSql(table.storage, snapshot, group)}`,
      { dataChange: false },
    );
    add.push(...written.add);
    for (const f of group) remove.push({ path: f.path, dataChange: false });
  }
  const result = await table.commit({
    add,
    remove,
    readVersion: snapshot.version,
    operation: 'OPTIMIZE',
    operationParameters: { targetFileRows: byRows ?? null, targetSizeBytes: bySize ?? null },
    operationMetrics: { numFilesAdded: add.length, numFilesRemoved: remove.length },
    maxAttempts: 10,
  });
  return { version: result.version, filesRemoved: remove.length, filesAdded: add.length, partitionsOptimized };
}

/** Options of `vacuumTable`. */
export interface VacuumOptions {
  /** Files removed (or never committed) longer ago than this are deleted. Default 168 (7 days). */
  readonly retentionHours?: number;
  /** Allows a retention below the safe minimum (`MIN_RETENTION_HOURS`). */
  readonly force?: boolean;
  /** Lists what would be deleted without deleting it. */
  readonly dryRun?: boolean;
  /** The current time (epoch ms), for tests. */
  readonly now?: number;
}

/** What `vacuumTable` deleted (or would delete, on a dry run). */
export interface VacuumResult {
  readonly deleted: readonly string[];
  readonly bytes: number;
  readonly dryRun: boolean;
}

/** Below this retention, vacuum may delete files a running writer is about to commit or a reader is reading. */
export const MIN_RETENTION_HOURS = 168;

/**
 * `medallion vacuum`. Deletes data files the latest version does not reference: files whose remove
 * tombstone is older than the retention, and files no version references that are older than the
 * retention (orphans, e.g. written by a writer that crashed before its commit), and temporary files
 * of writers killed mid-file older than the retention. Never touches
 * `_delta_log/` or other files and folders starting with `_` or `.` (protocol: "Data Files" are the
 * others). After it, time travel to versions older than the retention may fail with
 * MDL_DELTA_FILES_MISSING. A retention below `MIN_RETENTION_HOURS` is refused unless forced:
 * a shorter one can delete the files of a commit in flight.
 */
export async function vacuumTable(table: DeltaTable, options: VacuumOptions = {}): Promise<VacuumResult> {
  const retentionHours = options.retentionHours ?? MIN_RETENTION_HOURS;
  if (!(retentionHours >= 0)) {
    throw new MedallionError('MDL_USAGE', `Retention must be a number of hours ≥ 0, not ${retentionHours}.`, {
      hint: 'Pass a retention in hours, e.g. 168 for 7 days.',
    });
  }
  if (retentionHours < MIN_RETENTION_HOURS && !options.force) {
    throw new MedallionError(
      'MDL_DELTA_UNSAFE_RETENTION',
      `A retention of ${retentionHours} h is below the safe minimum of ${MIN_RETENTION_HOURS} h.`,
      {
        hint: 'Use a longer retention, or force it when no other writer or reader is using the table.',
      },
    );
  }
  const now = options.now ?? Date.now();
  const cutoff = now - retentionHours * 3_600_000;
  const snapshot = await table.snapshot();
  const live = new Set(snapshot.activeFiles.map((f) => f.key));
  const tombstones = new Map(snapshot.tombstones.map((r) => [`${table.tablePath}/${decodePath(r.path)}`, r]));
  const deleted: string[] = [];
  let bytes = 0;
  const logFolder = `${logPrefix(table.tablePath)}/`;
  for (const file of await table.storage.list(table.tablePath)) {
    if (file.key.startsWith(logFolder) || live.has(file.key)) continue;
    const relative = file.key.slice(table.tablePath.length + 1);
    if (relative.split('/').some((s) => s.startsWith('_') || s.startsWith('.'))) continue;
    const tomb = tombstones.get(file.key);
    const removedAt = tomb ? tomb.deletionTimestamp : file.modifiedMs;
    if (removedAt === undefined || removedAt >= cutoff) continue;
    deleted.push(file.key);
    bytes += file.size;
    if (!options.dryRun) await table.storage.delete(file.key);
  }
  for (const tmp of await temporaryFiles(table)) {
    if (tmp.modifiedMs >= cutoff) continue;
    deleted.push(tmp.key);
    bytes += tmp.size;
    if (!options.dryRun) await table.storage.delete(tmp.key);
  }
  return { deleted, bytes, dryRun: options.dryRun ?? false };
}

/**
 * Temporary files (`*.tmp`) under the table — a data file or checkpoint whose writer was killed
 * before publishing it. `Storage.list` hides them, so they are found through the engine's glob.
 */
async function temporaryFiles(table: DeltaTable): Promise<{ key: string; size: number; modifiedMs: number }[]> {
  const base = table.storage.uri(table.tablePath);
  const pattern = `${base}/**/*.tmp`;
  const found = await table.engine.all<{ file: string }>(`SELECT file FROM glob(${quoteLiteral(pattern)})`);
  if (found.length === 0) return [];
  const rows = await table.engine.all<{ filename: string; size: number; last_modified: string }>(
    `SELECT filename, size, last_modified FROM read_blob([${found.map((f) => quoteLiteral(f.file)).join(', ')}])`,
  );
  return rows
    .filter((r) => r.filename.startsWith(`${base}/`))
    .map((r) => ({
      key: `${table.tablePath}/${r.filename
        .slice(base.length + 1)
        .split('\\')
        .join('/')}`,
      size: Number(r.size),
      modifiedMs: Date.parse(r.last_modified),
    }));
}
