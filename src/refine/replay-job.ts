import type { PipelineProject } from '../config/project.ts';
import { MedallionError } from '../core/errors.ts';
import { progress } from '../core/logger.ts';
import { quoteLiteral, type SqlSession } from '../engine/duckdb.ts';
import { parseBronzeFileName } from '../ingest/bronze-writer.ts';
import { writeDeltaFiles } from '../lake/delta/delta-writer.ts';
import type { Storage } from '../storage/storage.ts';
import { loadContract } from './contract.ts';
import { layerTableFor } from './layer-tables.ts';
import { pseudonymKey } from './pseudonym-key.ts';
import { buildRefineTables, runRefine } from './refine-job.ts';

/** An inclusive range of event dates (YYYY-MM-DD). */
export interface DateRange {
  readonly from: string;
  readonly to: string;
}

/** What a replay rebuilt. */
export interface ReplayResult {
  readonly from: string;
  readonly to: string;
  /** Bronze files refined again. */
  readonly bronzeFiles: number;
  /** Event dates whose silver partition was rewritten (or emptied). */
  readonly dates: readonly string[];
  /** Silver rows now in the range. */
  readonly silver: number;
  /** Late events among them. */
  readonly late: number;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Checks a replay range: two valid dates, from ≤ to. */
export function checkRange(range: DateRange): void {
  for (const d of [range.from, range.to]) {
    if (!DATE.test(d) || Number.isNaN(Date.parse(`${d}T00:00:00Z`))) {
      throw new MedallionError('MDL_USAGE', `"${d}" is not a date (YYYY-MM-DD).`, {
        hint: 'Pass --from and --to as YYYY-MM-DD.',
      });
    }
  }
  if (range.from > range.to) {
    throw new MedallionError('MDL_USAGE', `--from ${range.from} is after --to ${range.to}.`, { hint: 'Swap them.' });
  }
}

/**
 * Rebuilds silver for the event dates of `range` from bronze. Refine first catches up with new
 * bronze; then every bronze file of the event dataset is refined again as one history (no state:
 * the first occurrence of an event id wins and the watermark is replayed from the first record, which
 * is exactly what the incremental chunks computed), and the silver partitions of the range are
 * replaced by the result in one Delta commit (the warehouse load then reloads those partitions). Quarantine,
 * duplicates and refine's state are left as they are. Cost grows with the whole bronze history: this
 * is a backfill tool, not the streaming path.
 */
export async function runReplay(
  project: PipelineProject,
  storage: Storage,
  engine: SqlSession,
  range: DateRange,
): Promise<ReplayResult> {
  checkRange(range);
  await runRefine(project, storage, engine);
  const dataset = project.config.events.dataset;
  const files = (await storage.list(`bronze/${dataset}`))
    .map((f) => ({ key: f.key, parsed: parseBronzeFileName(f.key.slice(f.key.lastIndexOf('/') + 1)) }))
    .filter((f) => f.parsed)
    .sort((a, b) =>
      a.parsed!.stream === b.parsed!.stream
        ? a.parsed!.firstOffset - b.parsed!.firstOffset
        : a.parsed!.stream < b.parsed!.stream
          ? -1
          : 1,
    )
    .map((f) => f.key);
  if (files.length === 0) return { ...range, bronzeFiles: 0, dates: [], silver: 0, late: 0 };

  const contract = loadContract(project.resolve(project.config.events.contract));
  const refinedAt = new Date().toISOString().replace('T', ' ').replace('Z', '');
  await buildRefineTables(project, storage, engine, contract, await pseudonymKey(project), files, false, refinedAt);
  const inRange = `event_date BETWEEN DATE ${quoteLiteral(range.from)} AND DATE ${quoteLiteral(range.to)}`;
  // One Delta commit replaces the range: the rebuilt files are added and every file of the range's
  // partitions in the current version is removed, so readers see the old range or the new one.
  const table = await layerTableFor(project, storage, engine, 'silver', `SELECT * FROM refine_silver`);
  const snapshot = await table.snapshot();
  const stale = snapshot.activeFiles.filter((f) => {
    const d = f.partitionValues['event_date'];
    return d !== null && d !== undefined && d >= range.from && d <= range.to;
  });
  const written = await writeDeltaFiles(engine, storage, snapshot, `SELECT * FROM refine_silver WHERE ${inRange}`);
  await table.commit({
    add: written.add,
    remove: stale.map((f) => ({ path: f.path })),
    operation: 'REPLACE PARTITIONS',
    operationParameters: { from: range.from, to: range.to, bronzeFiles: files.length },
    operationMetrics: { numOutputRows: written.rows },
    readVersion: snapshot.version,
  });
  const dates = [
    ...new Set([
      ...written.add.map((a) => a.partitionValues['event_date']),
      ...stale.map((f) => f.partitionValues['event_date']),
    ]),
  ]
    .filter((d): d is string => typeof d === 'string')
    .sort();
  const counts = (
    await engine.all<{ silver: number; late: number }>(
      `SELECT count(*)::BIGINT AS silver, count(*) FILTER (WHERE is_late)::BIGINT AS late FROM refine_silver WHERE ${inRange}`,
    )
  )[0]!;
  await engine.exec(`DROP TABLE refine_checked; DROP TABLE refine_scored; DROP TABLE refine_silver;
                     DROP TABLE refine_duplicates; DROP TABLE refine_quarantine;`);
  progress(
    `replay: ${dataset} ${range.from}…${range.to}: ${files.length} bronze file(s) refined again → ${counts.silver} silver rows in ${dates.length} event date(s)`,
  );
  return { ...range, bronzeFiles: files.length, dates, silver: counts.silver, late: counts.late };
}
