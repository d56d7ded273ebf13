import type { PipelineProject } from '../config/project.ts';
import { logger, progress } from '../core/logger.ts';
import type { Storage } from '../storage/storage.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';

/** What one load did, per dataset. */
export interface LoadResult {
  readonly datasets: Readonly<Record<string, { files: number; rows: number }>>;
}

/** Schema in the warehouse that silver is loaded into (the gold project's sources read it). */
export const SILVER_SCHEMA = 'silver';
const META_SCHEMA = '_medallion';

/**
 * silver_to_warehouse: loads silver files not loaded yet into the warehouse, all in one
 * transaction together with the record of which files were loaded — so a crash loads all or none,
 * and re-running loads nothing twice. Reference datasets are replaced when their silver version
 * changes.
 */
export async function runLoad(project: PipelineProject, storage: Storage, warehouse: Warehouse): Promise<LoadResult> {
  const log = logger.child({ component: 'load' });
  const q = (s: string) => warehouse.quote(s);
  await warehouse.exec(`CREATE SCHEMA IF NOT EXISTS ${q(META_SCHEMA)}`);
  await warehouse.exec(
    `CREATE TABLE IF NOT EXISTS ${q(META_SCHEMA)}.loaded_files (dataset VARCHAR, file VARCHAR, rows BIGINT, loaded_at TIMESTAMP)`,
  );
  const datasets: Record<string, { files: number; rows: number }> = {};
  await warehouse.transaction(async () => {
    const loaded = new Set(
      (
        await warehouse.query<{ dataset: string; file: string }>(
          `SELECT dataset, file FROM ${q(META_SCHEMA)}.loaded_files`,
        )
      ).map((r) => `${r.dataset}\u0000${r.file}`),
    );
    const record = async (dataset: string, files: readonly string[], rows: number) => {
      for (const f of files) {
        await warehouse.exec(`INSERT INTO ${q(META_SCHEMA)}.loaded_files VALUES (?, ?, ?, now()::TIMESTAMP)`, [
          dataset,
          f,
          rows,
        ]);
      }
      datasets[dataset] = { files: files.length, rows };
    };

    const events = project.config.events.dataset;
    const fresh = (await storage.list(`silver/${events}`))
      .map((f) => f.key)
      .filter((k) => !loaded.has(`${events}\u0000${k}`));
    const rows = await warehouse.loadParquet(
      SILVER_SCHEMA,
      events,
      fresh.map((k) => storage.uri(k)),
      {
        mode: 'append',
        hivePartitioning: true,
      },
    );
    await record(events, fresh, rows);

    for (const ref of project.config.reference) {
      const files = (await storage.list(`silver/${ref.dataset}`)).map((f) => f.key);
      const newest = files.at(-1);
      if (!newest || loaded.has(`${ref.dataset}\u0000${newest}`)) continue;
      const n = await warehouse.loadParquet(SILVER_SCHEMA, ref.dataset, [storage.uri(newest)], { mode: 'replace' });
      await warehouse.exec(`DELETE FROM ${q(META_SCHEMA)}.loaded_files WHERE dataset = ?`, [ref.dataset]);
      await record(ref.dataset, [newest], n);
    }
  });
  for (const [d, r] of Object.entries(datasets)) {
    if (r.files > 0)
      progress(`load: ${d}: ${r.rows} rows from ${r.files} silver file(s) → warehouse ${SILVER_SCHEMA}.${d}`);
  }
  log.debug({ datasets }, 'load done');
  return { datasets };
}

/**
 * Replaces the warehouse's rows of the event dataset for `dates` with the silver files now in those
 * partitions (after a replay rewrote them), in one transaction with the record of loaded files.
 */
export async function reloadEventDates(
  project: PipelineProject,
  storage: Storage,
  warehouse: Warehouse,
  dates: readonly string[],
): Promise<{ rows: number; files: number }> {
  if (dates.length === 0) return { rows: 0, files: 0 };
  const q = (s: string) => warehouse.quote(s);
  const events = project.config.events.dataset;
  await warehouse.exec(`CREATE SCHEMA IF NOT EXISTS ${q(META_SCHEMA)}`);
  await warehouse.exec(
    `CREATE TABLE IF NOT EXISTS ${q(META_SCHEMA)}.loaded_files (dataset VARCHAR, file VARCHAR, rows BIGINT, loaded_at TIMESTAMP)`,
  );
  return warehouse.transaction(async () => {
    const files: string[] = [];
    for (const d of dates) {
      files.push(...(await storage.list(`silver/${events}/event_date=${d}`)).map((f) => f.key));
      await warehouse.exec(`DELETE FROM ${q(META_SCHEMA)}.loaded_files WHERE dataset = ? AND file LIKE ?`, [
        events,
        `silver/${events}/event_date=${d}/%`,
      ]);
    }
    if ((await warehouse.columns(SILVER_SCHEMA, events)) !== undefined) {
      await warehouse.exec(
        `DELETE FROM ${q(SILVER_SCHEMA)}.${q(events)} WHERE event_date IN (${dates.map(() => '?::DATE').join(', ')})`,
        dates,
      );
    }
    const rows = await warehouse.loadParquet(
      SILVER_SCHEMA,
      events,
      files.map((k) => storage.uri(k)),
      {
        mode: 'append',
        hivePartitioning: true,
      },
    );
    for (const f of files) {
      await warehouse.exec(`INSERT INTO ${q(META_SCHEMA)}.loaded_files VALUES (?, ?, ?, now()::TIMESTAMP)`, [
        events,
        f,
        rows,
      ]);
    }
    progress(`load: ${events}: ${rows} rows of ${dates.length} replayed event date(s) reloaded into the warehouse`);
    return { rows, files: files.length };
  });
}
