import { createHash } from 'node:crypto';
import type { PipelineProject } from '../config/project.ts';
import { MedallionError } from '../core/errors.ts';
import { progress } from '../core/logger.ts';
import { quoteIdent, quoteLiteral, type SqlSession } from '../engine/duckdb.ts';
import type { Storage } from '../storage/storage.ts';
import { loadContract } from './contract.ts';
import { pseudonymKey } from './pseudonym-key.ts';
import { attachRefineState, buildRefineTables, detachRefineState, REFINE_STATE } from './refine-job.ts';

/** What a quarantine retry did. */
export interface RetryResult {
  readonly retried: number;
  /** Records that pass the contract now and went to silver. */
  readonly silver: number;
  /** Records that pass now but whose event id silver already has. */
  readonly duplicates: number;
  /** Records that still break the contract and stay in quarantine. */
  readonly quarantine: number;
  readonly late: number;
}

/**
 * `quarantine --retry`: after a contract is fixed, every quarantined record is refined again,
 * set-based, against the current contract, the key index and the watermarks: those that pass go to
 * silver (flagged late against the watermark, as any record arriving now), re-sent ids to
 * duplicates, and the rest stay in quarantine. Exactly once: the retry is named after the set of
 * quarantine files it reads; its outputs carry that name; the state commit (seen ids, watermarks,
 * and the old quarantine files marked retired) happens in one transaction, and retired files are
 * deleted at once and again at every later start of refine, so a crash at any point neither loses
 * nor doubles a record.
 */
export async function retryQuarantine(
  project: PipelineProject,
  storage: Storage,
  engine: SqlSession,
): Promise<RetryResult> {
  const dataset = project.config.events.dataset;
  await attachRefineState(project, storage, engine);
  try {
    const files = (await storage.list(`quarantine/${dataset}`)).map((f) => f.key);
    if (files.length === 0) return { retried: 0, silver: 0, duplicates: 0, quarantine: 0, late: 0 };
    const id = `retry-${createHash('sha256').update(files.join('\n')).digest('hex').slice(0, 16)}`;
    const contract = loadContract(project.resolve(project.config.events.contract));
    const refinedAt = new Date().toISOString().replace('T', ' ').replace('Z', '');
    const relation = `SELECT raw_value AS value, raw_bytes AS value_bytes, bronze_stream AS stream, bronze_offset AS stream_offset,
        kafka_topic, kafka_partition, kafka_offset, source_file, source_line, ingested_at
      FROM read_parquet([${files.map((f) => quoteLiteral(storage.uri(f))).join(', ')}], union_by_name = true)`;
    await buildRefineTables(
      project,
      storage,
      engine,
      contract,
      await pseudonymKey(project),
      { relation },
      true,
      refinedAt,
    );
    const c = (
      await engine.all<{ retried: number; silver: number; duplicates: number; quarantine: number; late: number }>(`
        SELECT (SELECT count(*) FROM refine_checked)::BIGINT AS retried, (SELECT count(*) FROM refine_silver)::BIGINT AS silver,
               (SELECT count(*) FROM refine_duplicates)::BIGINT AS duplicates, (SELECT count(*) FROM refine_quarantine)::BIGINT AS quarantine,
               (SELECT count(*) FILTER (WHERE is_late) FROM refine_silver)::BIGINT AS late`)
    )[0]!;
    if (c.silver + c.duplicates + c.quarantine !== c.retried) {
      throw new MedallionError('MDL_INTERNAL', `quarantine retry lost track of records: ${JSON.stringify(c)}.`, {
        hint: 'This is a bug in Medallion; nothing was committed. Report it.',
      });
    }
    if (c.silver + c.duplicates === 0) {
      progress(`quarantine --retry: all ${c.retried} record(s) still break the contract; nothing changed`);
      return c;
    }
    const dates = await engine.all<{ d: string }>(
      `SELECT DISTINCT event_date::VARCHAR AS d FROM refine_silver ORDER BY 1`,
    );
    for (const { d } of dates) {
      await storage.putAtomic(`silver/${dataset}/event_date=${d}/part-${id}.parquet`, async (tmp) => {
        await engine.exec(
          `COPY (SELECT * EXCLUDE (event_date) FROM refine_silver WHERE event_date = DATE '${d}') TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION zstd)`,
        );
      });
    }
    const keep = `quarantine/${dataset}/part-${id}.parquet`;
    if (c.duplicates > 0) {
      await storage.putAtomic(`duplicates/${dataset}/part-${id}.parquet`, async (tmp) => {
        await engine.exec(`COPY refine_duplicates TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
      });
    }
    if (c.quarantine > 0) {
      await storage.putAtomic(keep, async (tmp) => {
        await engine.exec(`COPY refine_quarantine TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
      });
    }
    const keyCol = quoteIdent(contract.key);
    const timeCol = quoteIdent(contract.eventTime);
    await engine.exec('BEGIN TRANSACTION');
    try {
      await engine.exec(`
        INSERT INTO ${REFINE_STATE}.seen_keys SELECT event_date, ${keyCol} FROM refine_silver ORDER BY event_date;
        INSERT OR REPLACE INTO ${REFINE_STATE}.watermarks
          SELECT v.wm_stream, greatest(max(v.${timeCol}), any_value(w.max_event_time))
          FROM refine_checked v LEFT JOIN ${REFINE_STATE}.watermarks w USING (wm_stream) WHERE NOT v._dropped GROUP BY v.wm_stream;
      `);
      for (const f of files) {
        if (f !== keep) await engine.exec(`INSERT OR IGNORE INTO ${REFINE_STATE}.retired_files VALUES (?, ?)`, [f, id]);
      }
      await engine.exec('COMMIT');
    } catch (err) {
      await engine.exec('ROLLBACK').catch(() => {});
      throw err;
    }
    for (const f of files) if (f !== keep) await storage.delete(f);
    await engine.exec(`DROP TABLE refine_checked; DROP TABLE refine_scored; DROP TABLE refine_silver;
                       DROP TABLE refine_duplicates; DROP TABLE refine_quarantine;`);
    progress(
      `quarantine --retry: ${c.retried} record(s) refined again → silver ${c.silver} (late ${c.late}), duplicates ${c.duplicates}, still quarantined ${c.quarantine}`,
    );
    return c;
  } finally {
    await detachRefineState(engine);
  }
}
