import type { PipelineProject } from '../config/project.ts';
import { logger, progress } from '../core/logger.ts';
import type { SqlSession } from '../engine/duckdb.ts';
import type { DeltaFile } from '../lake/delta/delta-table.ts';
import { openLayerTable } from '../refine/layer-tables.ts';
import type { Storage } from '../storage/storage.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';

/** What one load did, per dataset. */
export interface LoadResult {
  readonly datasets: Readonly<
    Record<string, { files: number; rows: number; version?: number; reloadedPartitions?: number }>
  >;
}

/** Schema in the warehouse that silver is loaded into (the gold project's sources read it). */
export const SILVER_SCHEMA = 'silver';
const META_SCHEMA = '_medallion';

/**
 * silver_to_warehouse. The event dataset's silver is a Delta table: load compares the version it
 * loaded last with the current one; files added to partitions that lost none are appended, and every
 * partition that lost a file (a replay, a compaction) is reloaded whole — so the warehouse always
 * equals the table's current version. Reference datasets are replaced when their silver file changes.
 * Everything, with the record of what was loaded, commits in one warehouse transaction: a crash loads
 * all or none, and re-running loads nothing twice.
 */
export async function runLoad(
  project: PipelineProject,
  storage: Storage,
  warehouse: Warehouse,
  engine: SqlSession,
): Promise<LoadResult> {
  const log = logger.child({ component: 'load' });
  const q = (s: string) => warehouse.quote(s);
  await warehouse.exec(`CREATE SCHEMA IF NOT EXISTS ${q(META_SCHEMA)}`);
  await warehouse.exec(
    `CREATE TABLE IF NOT EXISTS ${q(META_SCHEMA)}.loaded_files (dataset VARCHAR, file VARCHAR, rows BIGINT, loaded_at TIMESTAMP)`,
  );
  await warehouse.exec(
    `CREATE TABLE IF NOT EXISTS ${q(META_SCHEMA)}.loaded_versions (dataset VARCHAR, version BIGINT, loaded_at TIMESTAMP)`,
  );
  await warehouse.exec(
    `CREATE TABLE IF NOT EXISTS ${q(META_SCHEMA)}.loaded_partitions (dataset VARCHAR, version BIGINT, event_date DATE, loaded_at TIMESTAMP)`,
  );
  const datasets: Record<string, { files: number; rows: number; version?: number; reloadedPartitions?: number }> = {};
  const events = project.config.events.dataset;
  const table = await openLayerTable(project, storage, engine, 'silver');
  await warehouse.transaction(async () => {
    if (table) {
      const last = (
        await warehouse.query<{ v: number | null }>(
          `SELECT max(version)::BIGINT AS v FROM ${q(META_SCHEMA)}.loaded_versions WHERE dataset = ?`,
          [events],
        )
      )[0]?.v;
      const current = await table.snapshot();
      if (last === null || last === undefined || current.version > last) {
        const before = last === null || last === undefined ? [] : (await table.snapshot(last)).activeFiles;
        const beforePaths = new Set(before.map((f) => f.path));
        const nowPaths = new Set(current.activeFiles.map((f) => f.path));
        const partitionOf = (f: DeltaFile) => f.partitionValues['event_date'] ?? null;
        const reload = new Set(before.filter((f) => !nowPaths.has(f.path)).map(partitionOf));
        const added = current.activeFiles.filter((f) => !beforePaths.has(f.path) && !reload.has(partitionOf(f)));
        const reloaded = current.activeFiles.filter((f) => reload.has(partitionOf(f)));
        if (reload.size > 0 && (await warehouse.columns(SILVER_SCHEMA, events)) !== undefined) {
          const dates = [...reload].filter((d): d is string => d !== null);
          if (dates.length > 0) {
            await warehouse.exec(
              `DELETE FROM ${q(SILVER_SCHEMA)}.${q(events)} WHERE event_date IN (${dates.map(() => '?::DATE').join(', ')})`,
              dates,
            );
          }
          if (reload.has(null))
            await warehouse.exec(`DELETE FROM ${q(SILVER_SCHEMA)}.${q(events)} WHERE event_date IS NULL`);
        }
        const files = [...added, ...reloaded];
        const rows = await warehouse.loadParquet(
          SILVER_SCHEMA,
          events,
          files.map((f) => storage.uri(f.key)),
          {
            mode: 'append',
            hivePartitioning: true,
          },
        );
        await warehouse.exec(`INSERT INTO ${q(META_SCHEMA)}.loaded_versions VALUES (?, ?, now()::TIMESTAMP)`, [
          events,
          current.version,
        ]);
        // Which event dates this version changed: incremental gold models recompute exactly those.
        const touched = [...new Set([...files.map(partitionOf), ...reload])].filter((d): d is string => d !== null);
        if (touched.length > 0) {
          await warehouse.exec(
            `INSERT INTO ${q(META_SCHEMA)}.loaded_partitions VALUES ${touched.map(() => '(?, ?, ?::DATE, now()::TIMESTAMP)').join(', ')}`,
            touched.flatMap((d) => [events, current.version, d]),
          );
        }
        datasets[events] = { files: files.length, rows, version: current.version, reloadedPartitions: reload.size };
      } else datasets[events] = { files: 0, rows: 0, version: current.version };
    }

    const loaded = new Set(
      (
        await warehouse.query<{ dataset: string; file: string }>(
          `SELECT dataset, file FROM ${q(META_SCHEMA)}.loaded_files`,
        )
      ).map((r) => `${r.dataset}\u0000${r.file}`),
    );
    for (const ref of project.config.reference) {
      const files = (await storage.list(`silver/${ref.dataset}`)).map((f) => f.key);
      const newest = files.at(-1);
      if (!newest || loaded.has(`${ref.dataset}\u0000${newest}`)) continue;
      const n = await warehouse.loadParquet(SILVER_SCHEMA, ref.dataset, [storage.uri(newest)], { mode: 'replace' });
      await warehouse.exec(`DELETE FROM ${q(META_SCHEMA)}.loaded_files WHERE dataset = ?`, [ref.dataset]);
      await warehouse.exec(`INSERT INTO ${q(META_SCHEMA)}.loaded_files VALUES (?, ?, ?, now()::TIMESTAMP)`, [
        ref.dataset,
        newest,
        n,
      ]);
      datasets[ref.dataset] = { files: 1, rows: n };
    }
  });
  for (const [d, r] of Object.entries(datasets)) {
    if (r.files > 0) {
      progress(
        `load: ${d}: ${r.rows} rows from ${r.files} silver file(s)${r.version !== undefined ? ` (Delta version ${r.version}${r.reloadedPartitions ? `, ${r.reloadedPartitions} partition(s) reloaded` : ''})` : ''} → warehouse ${SILVER_SCHEMA}.${d}`,
      );
    }
  }
  log.debug({ event: 'load.done', datasets }, 'load done');
  return { datasets };
}
