import type { PipelineProject } from '../config/project.ts';
import { MedallionError } from '../core/errors.ts';
import { progress } from '../core/logger.ts';
import { quoteIdent, type SqlSession } from '../engine/duckdb.ts';
import { writeDeltaFiles } from '../lake/delta/delta-writer.ts';
import type { Storage } from '../storage/storage.ts';
import { loadContract } from './contract.ts';
import { layerTableFor, openLayerTable } from './layer-tables.ts';
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
  /** The quarantine table version that was retried. */
  readonly quarantineVersion: number | null;
}

const NOTHING: RetryResult = { retried: 0, silver: 0, duplicates: 0, quarantine: 0, late: 0, quarantineVersion: null };

/**
 * `quarantine --retry`: after a contract is fixed, the quarantine table's current version is refined
 * again, set-based, against the current contract, the key index and the watermarks: records that pass
 * go to silver (flagged late against the watermark, as any record arriving now), re-sent ids to
 * duplicates, and the rest replace the retried files in quarantine. Exactly once: the retried version
 * is recorded as pending in refine's state before anything is written; the silver, duplicates and
 * quarantine commits all carry the txn (quarantine-retry, that version), so a retry redone after a
 * crash re-reads the same version (time travel) and skips the commits that already happened; the
 * state commit ends it.
 */
export async function retryQuarantine(
  project: PipelineProject,
  storage: Storage,
  engine: SqlSession,
): Promise<RetryResult> {
  const dataset = project.config.events.dataset;
  const quarantine = await openLayerTable(project, storage, engine, 'quarantine');
  if (!quarantine) return NOTHING;
  await attachRefineState(project, engine);
  try {
    await engine.exec(`CREATE TABLE IF NOT EXISTS ${REFINE_STATE}.pending_retry (version BIGINT)`);
    const pending = (
      await engine.all<{ v: number | null }>(`SELECT max(version)::BIGINT AS v FROM ${REFINE_STATE}.pending_retry`)
    )[0]?.v;
    const base = await quarantine.snapshot(pending ?? undefined);
    if (base.activeFiles.length === 0) return NOTHING;
    if (pending === null || pending === undefined) {
      await engine.exec(`INSERT INTO ${REFINE_STATE}.pending_retry VALUES (?)`, [base.version]);
    }
    const contract = loadContract(project.resolve(project.config.events.contract));
    const refinedAt = new Date().toISOString().replace('T', ' ').replace('Z', '');
    const relation = `SELECT raw_value AS value, raw_bytes AS value_bytes, bronze_stream AS stream, bronze_offset AS stream_offset,
        kafka_topic, kafka_partition, kafka_offset, source_file, source_line, ingested_at
      FROM ${await quarantine.readSql(base)}`;
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
      await engine.all<Omit<RetryResult, 'quarantineVersion'>>(`
        SELECT (SELECT count(*) FROM refine_checked)::BIGINT AS retried, (SELECT count(*) FROM refine_silver)::BIGINT AS silver,
               (SELECT count(*) FROM refine_duplicates)::BIGINT AS duplicates, (SELECT count(*) FROM refine_quarantine)::BIGINT AS quarantine,
               (SELECT count(*) FILTER (WHERE is_late) FROM refine_silver)::BIGINT AS late`)
    )[0]!;
    if (c.silver + c.duplicates + c.quarantine !== c.retried) {
      throw new MedallionError('MDL_INTERNAL', `quarantine retry lost track of records: ${JSON.stringify(c)}.`, {
        hint: 'This is a bug in Medallion; nothing was committed. Report it.',
      });
    }
    const txn = { appId: `quarantine-retry:${dataset}`, version: base.version };
    if (c.silver + c.duplicates > 0) {
      for (const [layer, rows, source] of [
        ['silver', c.silver, 'refine_silver'],
        ['duplicates', c.duplicates, 'refine_duplicates'],
      ] as const) {
        if (rows === 0) continue;
        const table = await layerTableFor(project, storage, engine, layer, `SELECT * FROM ${source}`);
        await table.append(`SELECT * FROM ${source}`, { txn, operation: 'QUARANTINE RETRY' });
      }
      if ((await quarantine.txnVersion(txn.appId)) < txn.version) {
        const latest = await quarantine.snapshot();
        const active = new Set(latest.activeFiles.map((f) => f.path));
        const written =
          c.quarantine > 0
            ? await writeDeltaFiles(engine, storage, latest, 'SELECT * FROM refine_quarantine')
            : { add: [], rows: 0 };
        await quarantine.commit({
          add: written.add,
          remove: base.activeFiles.filter((f) => active.has(f.path)).map((f) => ({ path: f.path })),
          txn,
          operation: 'QUARANTINE RETRY',
          operationParameters: { retriedVersion: base.version },
          operationMetrics: { numRetried: c.retried, numToSilver: c.silver, numDuplicates: c.duplicates },
          readVersion: latest.version,
        });
      }
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
        DELETE FROM ${REFINE_STATE}.pending_retry;
      `);
      await engine.exec('COMMIT');
    } catch (err) {
      await engine.exec('ROLLBACK').catch(() => {});
      throw err;
    }
    await engine.exec(`DROP TABLE refine_checked; DROP TABLE refine_scored; DROP TABLE refine_silver;
                       DROP TABLE refine_duplicates; DROP TABLE refine_quarantine;`);
    progress(
      c.silver + c.duplicates === 0
        ? `quarantine --retry: all ${c.retried} record(s) still break the contract; nothing changed`
        : `quarantine --retry: ${c.retried} record(s) refined again → silver ${c.silver} (late ${c.late}), duplicates ${c.duplicates}, still quarantined ${c.quarantine}`,
    );
    return { ...c, quarantineVersion: base.version };
  } finally {
    await detachRefineState(engine);
  }
}
