import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PipelineProject } from '../config/project.ts';
import { MedallionError } from '../core/errors.ts';
import { logger, progress } from '../core/logger.ts';
import { quoteIdent, quoteLiteral, type SqlSession } from '../engine/duckdb.ts';
import { parseBronzeFileName } from '../ingest/bronze-writer.ts';
import type { Storage } from '../storage/storage.ts';
import { type Contract, compileRules, loadContract, typedValueSql } from './contract.ts';
import { layerTableFor } from './layer-tables.ts';
import { hmacSql, pseudonymKey } from './pseudonym-key.ts';

/** Counts of one refine run over the event dataset. */
export interface RefineResult {
  readonly bronzeFiles: number;
  readonly records: number;
  readonly silver: number;
  readonly quarantine: number;
  readonly duplicates: number;
  readonly late: number;
  readonly warnings: number;
  readonly quarantineByRule: Readonly<Record<string, number>>;
}

/**
 * Most bronze rows refined in one chunk (bounded memory; each chunk commits on its own).
 * MEDALLION_REFINE_CHUNK_ROWS overrides it (tests use small chunks to get many commits).
 */
const CHUNK_ROWS = Number(process.env.MEDALLION_REFINE_CHUNK_ROWS) || 2_000_000;
const STATE_DB = 'refine_state';

/**
 * bronze_to_silver. For the event dataset: every new bronze file is parsed, checked against the
 * data contract (set-based SQL over the whole chunk), split into silver (typed, pseudonymized,
 * flagged late by the watermark), quarantine (with every rule broken) and duplicates (an event id
 * already seen in this chunk or in any earlier one). Reference datasets are copied to silver with
 * exact duplicate rows removed (typing happens in the gold staging models).
 *
 * Every record is accounted for: silver + quarantine + duplicates = bronze. Output files are named
 * after the chunk; the chunk's file list is committed as pending before writing, and the state
 * (seen ids, watermarks, processed files) is committed after, so a crash in between redoes exactly
 * the same chunk into the same file names.
 */
export async function runRefine(project: PipelineProject, storage: Storage, engine: SqlSession): Promise<RefineResult> {
  await refineReference(project, storage, engine);
  const contract = loadContract(project.resolve(project.config.events.contract));
  const dataset = project.config.events.dataset;
  await attachRefineState(project, engine);
  const key = await pseudonymKey(project);
  const totals = { bronzeFiles: 0, records: 0, silver: 0, quarantine: 0, duplicates: 0, late: 0, warnings: 0 };
  const byRule: Record<string, number> = {};
  try {
    for (const chunk of await planChunks(engine, storage, dataset)) {
      const r = await refineChunk(project, storage, engine, contract, key, chunk);
      totals.bronzeFiles += chunk.files.length;
      totals.records += r.records;
      totals.silver += r.silver;
      totals.quarantine += r.quarantine;
      totals.duplicates += r.duplicates;
      totals.late += r.late;
      totals.warnings += r.warnings;
      for (const [rule, n] of Object.entries(r.quarantineByRule)) byRule[rule] = (byRule[rule] ?? 0) + n;
      progress(
        `refine: ${dataset}: ${r.records} bronze rows → silver ${r.silver} (late ${r.late}), quarantine ${r.quarantine}, duplicates ${r.duplicates}`,
      );
    }
  } finally {
    await detachRefineState(engine);
  }
  return { ...totals, quarantineByRule: byRule };
}

/**
 * Attaches refine's state database (processed files, the per-date key index, watermarks, pending
 * work) to the engine session as `refine_state`, creating its tables.
 */
export async function attachRefineState(project: PipelineProject, engine: SqlSession): Promise<void> {
  const dataset = project.config.events.dataset;
  await mkdir(project.paths.state, { recursive: true });
  await engine.exec(
    `ATTACH IF NOT EXISTS ${quoteLiteral(join(project.paths.state, `refine-${dataset}.duckdb`))} AS ${STATE_DB}`,
  );
  await engine.exec(`
    CREATE TABLE IF NOT EXISTS ${STATE_DB}.processed_files (file VARCHAR PRIMARY KEY, chunk VARCHAR, refined_at TIMESTAMP);
    CREATE TABLE IF NOT EXISTS ${STATE_DB}.seen_keys (event_date DATE, event_id VARCHAR);
    CREATE TABLE IF NOT EXISTS ${STATE_DB}.watermarks (wm_stream VARCHAR PRIMARY KEY, max_event_time TIMESTAMPTZ);
    CREATE TABLE IF NOT EXISTS ${STATE_DB}.pending (chunk VARCHAR, file VARCHAR);
    CREATE TABLE IF NOT EXISTS ${STATE_DB}.chunks (chunk VARCHAR PRIMARY KEY, records BIGINT, silver BIGINT, quarantine BIGINT,
      duplicates BIGINT, late BIGINT, warnings BIGINT, refined_at TIMESTAMP);
    ALTER TABLE ${STATE_DB}.pending ADD COLUMN IF NOT EXISTS seq BIGINT;
    ALTER TABLE ${STATE_DB}.chunks ADD COLUMN IF NOT EXISTS seq BIGINT;
  `);
}

/** Detaches the state database attached by `attachRefineState`. */
export async function detachRefineState(engine: SqlSession): Promise<void> {
  await engine.exec(`DETACH ${STATE_DB}`);
}

/** Name under which refine's state database is attached. */
export const REFINE_STATE = STATE_DB;

interface Chunk {
  readonly id: string;
  readonly files: readonly string[];
  /** The chunk's place in the order of chunks, once assigned: its txn version in the layer tables. */
  readonly seq?: number;
}

async function planChunks(engine: SqlSession, storage: Storage, dataset: string): Promise<Chunk[]> {
  const pending = await engine.all<{ chunk: string; file: string; seq: number | null }>(
    `SELECT chunk, file, seq FROM ${STATE_DB}.pending ORDER BY seq, chunk, file`,
  );
  const chunks: Chunk[] = [];
  const pendingFiles = new Set<string>();
  for (const id of [...new Set(pending.map((p) => p.chunk))]) {
    const rows = pending.filter((p) => p.chunk === id);
    const files = rows.map((p) => p.file);
    for (const f of files) pendingFiles.add(f);
    chunks.push({ id, files, seq: rows[0]?.seq ?? undefined });
  }
  const done = new Set(
    (await engine.all<{ file: string }>(`SELECT file FROM ${STATE_DB}.processed_files`)).map((r) => r.file),
  );
  const fresh = (await storage.list(`bronze/${dataset}`))
    .map((f) => ({ key: f.key, parsed: parseBronzeFileName(f.key.slice(f.key.lastIndexOf('/') + 1)) }))
    .filter((f) => f.parsed && !done.has(f.key) && !pendingFiles.has(f.key))
    .sort((a, b) =>
      a.parsed!.stream === b.parsed!.stream
        ? a.parsed!.firstOffset - b.parsed!.firstOffset
        : a.parsed!.stream < b.parsed!.stream
          ? -1
          : 1,
    );
  let current: string[] = [];
  let rows = 0;
  const flush = () => {
    if (current.length === 0) return;
    chunks.push({ id: createHash('sha256').update(current.join('\n')).digest('hex').slice(0, 20), files: current });
    current = [];
    rows = 0;
  };
  for (const f of fresh) {
    const n = f.parsed!.lastOffset - f.parsed!.firstOffset + 1;
    if (rows > 0 && rows + n > CHUNK_ROWS) flush();
    current.push(f.key);
    rows += n;
  }
  flush();
  return chunks;
}

/**
 * Builds the refine temp tables over bronze `source` (bronze files, or a relation with bronze's
 * columns: value, value_bytes, stream, stream_offset, kafka_*, source_file, source_line, ingested_at): `refine_checked` (every record with the rules it
 * broke), `refine_scored`, `refine_silver`, `refine_duplicates`, `refine_quarantine`. With `withState`,
 * ids seen and watermarks of earlier chunks (the attached state) are taken into account; without, the
 * files are refined as if they were the whole history (replay).
 */
export async function buildRefineTables(
  project: PipelineProject,
  storage: Storage,
  engine: SqlSession,
  contract: Contract,
  key: Buffer,
  source: readonly string[] | { readonly relation: string },
  withState: boolean,
  refinedAt: string,
): Promise<void> {
  const relation =
    'relation' in source
      ? `(${source.relation})`
      : `read_parquet([${source.map((f) => quoteLiteral(storage.uri(f))).join(', ')}], union_by_name = true, hive_partitioning = false)`;
  const fieldIndex = new Map(contract.fields.map((f, i) => [f.name, i + 1]));
  const refs = {
    type: (f: { name: string }) => `_t[${fieldIndex.get(f.name)}]`,
    text: (f: { name: string }) => `_s[${fieldIndex.get(f.name)}]`,
    value: (f: { name: string }) => quoteIdent(`__v_${f.name}`),
  };
  const paths = contract.fields.map((f) => quoteLiteral(`$.${f.name}`)).join(', ');
  const typedValues = contract.fields.map((f) => `${typedValueSql(f, refs)} AS ${refs.value(f)}`).join(',\n');
  const rules = compileRules(contract, refs, (refDataset, column) => {
    return `(SELECT DISTINCT ${quoteIdent(column)} AS v FROM read_parquet(${quoteLiteral(storage.uri(`silver/${refDataset}`))} || '/*.parquet'))`;
  });
  const ruleList = rules.map((r) => `CASE WHEN ${r.brokenWhen} THEN ${quoteLiteral(r.name)} END`).join(',\n');
  const dropRules = [
    quoteLiteral('malformed_json'),
    ...rules.filter((r) => r.action !== 'warn').map((r) => quoteLiteral(r.name)),
  ];
  const warnRules = rules.filter((r) => r.action === 'warn').map((r) => quoteLiteral(r.name));
  const failRules = rules.filter((r) => r.action === 'fail').map((r) => quoteLiteral(r.name));
  const known = contract.fields.map((f) => quoteLiteral(f.name)).join(', ');
  const lateness = project.config.events.allowedLatenessMinutes;

  const typed = contract.fields
    .map((f) => {
      const v = refs.value(f);
      if (f.pseudonymize) return `${hmacSql(key, v)} AS ${quoteIdent(f.name.replace(/_id$/, '') + '_key')}`;
      return `${f.type === 'integer' ? `(${v})::INTEGER` : v} AS ${quoteIdent(f.name)}`;
    })
    .join(',\n');
  const dropCond = `len(list_intersect(violations, [${dropRules.join(', ')}])) > 0`;
  const warnCond = warnRules.length > 0 ? `len(list_intersect(violations, [${warnRules.join(', ')}])) > 0` : 'false';
  const keyCol = quoteIdent(contract.key);
  const timeCol = quoteIdent(contract.eventTime);
  const timeField = contract.fields.find((f) => f.name === contract.eventTime)!;
  const unknownKeys = `list_filter(_keys, k -> NOT list_contains([${known}], k))`;

  // One pass over the chunk: parse once, extract every contract field once, check every rule, and
  // keep only slim typed columns (the raw value is kept for quarantined records alone).
  await engine.exec(`
    CREATE OR REPLACE TEMP TABLE refine_checked AS
    WITH src AS (
      SELECT b.value, b.value_bytes, b.stream, b.stream_offset, b.kafka_topic, b.kafka_partition, b.kafka_offset,
             b.source_file, b.source_line, b.ingested_at,
             CASE WHEN b.kafka_topic IS NULL THEN 'landing' ELSE b.stream END AS wm_stream,
             CASE WHEN b.value IS NOT NULL AND json_valid(b.value) AND json_type(b.value::JSON) = 'OBJECT' THEN b.value::JSON END AS j
      FROM ${relation} b
    ), fields AS (
      SELECT *, json_type(j, [${paths}]) AS _t, json_extract_string(j, [${paths}]) AS _s, json_keys(j) AS _keys FROM src
    ), valued AS (
      SELECT *, ${typedValues} FROM fields
    ), checked AS (
      SELECT *, CASE WHEN j IS NULL THEN ['malformed_json'] ELSE list_filter([${ruleList}], x -> x IS NOT NULL) END AS violations
      FROM valued
    ), flagged AS (
      SELECT *, ${dropCond} AS _dropped, ${warnCond} AS _has_warning FROM checked
    )
    SELECT wm_stream, stream, stream_offset, kafka_topic, kafka_partition, kafka_offset, source_file, source_line, ingested_at,
           violations, _dropped, _has_warning,
           CASE WHEN _dropped THEN value END AS raw_value,
           CASE WHEN _dropped THEN value_bytes END AS raw_bytes,
           CASE WHEN _dropped AND j IS NOT NULL THEN j ->> ${quoteLiteral(contract.key)} END AS raw_event_id,
           ${typed},
           ${refs.value(timeField)} AT TIME ZONE ${quoteLiteral(contract.eventDateTimeZone)} AS _local_time,
           CASE WHEN NOT _dropped AND len(${unknownKeys}) > 0
                THEN to_json(map_from_entries(list_transform(${unknownKeys}, k -> {'key': k, 'value': j -> k})))::VARCHAR
           END AS _rescued_data
    FROM flagged;
  `);
  if (failRules.length > 0) {
    const failing = await engine.all<{ n: number }>(
      `SELECT count(*)::BIGINT AS n FROM refine_checked WHERE len(list_intersect(violations, [${failRules.join(', ')}])) > 0`,
    );
    if (failing[0]!.n > 0) {
      throw new MedallionError(
        'MDL_CONTRACT_INVALID',
        `${failing[0]!.n} record(s) broke a contract rule whose action is fail; nothing of this batch was committed.`,
        {
          hint: 'Inspect the records with `medallion query`, fix the producer or change the rule, then run refine again.',
        },
      );
    }
  }
  // Dedup: the first occurrence in stream order wins; an id seen in an earlier chunk on the same event
  // date is a duplicate. The key index (state table seen_keys) is read only for the event dates in
  // this chunk: it is appended chunk by chunk, so its row groups are clustered by date and DuckDB's
  // zone maps skip the rest — the cost follows the batch, not the history.
  // Watermark base: the newest event time before each record in its watermark stream, or from state.
  const batchDates = withState
    ? (
        await engine.all<{ d: string }>(
          `SELECT DISTINCT _local_time::DATE::VARCHAR AS d FROM refine_checked WHERE NOT _dropped AND _local_time IS NOT NULL`,
        )
      ).map((r) => `DATE '${r.d}'`)
    : [];
  const seenJoin =
    withState && batchDates.length > 0
      ? `LEFT JOIN (SELECT event_date AS _seen_date, event_id AS _seen_id FROM ${STATE_DB}.seen_keys
                    WHERE event_date IN (${batchDates.join(', ')})) s
           ON s._seen_date = v._local_time::DATE AND s._seen_id = v.${keyCol}`
      : '';
  await engine.exec(`
    CREATE OR REPLACE TEMP TABLE refine_scored AS
    SELECT v.* EXCLUDE (raw_value, raw_bytes, raw_event_id, _dropped),
           row_number() OVER (PARTITION BY v.${keyCol} ORDER BY v.wm_stream, v.stream, v.stream_offset) AS _rn,
           ${seenJoin ? 's._seen_id IS NOT NULL' : 'false'} AS _seen_before,
           greatest(max(v.${timeCol}) OVER (PARTITION BY v.wm_stream ORDER BY v.stream, v.stream_offset
                                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), ${withState ? 'w.max_event_time' : 'NULL::TIMESTAMPTZ'}) AS _watermark_base
    FROM refine_checked v ${withState ? `LEFT JOIN ${STATE_DB}.watermarks w USING (wm_stream)` : ''} ${seenJoin}
    WHERE NOT v._dropped;
  `);
  const silverCols = [
    ...contract.fields.map((f) => quoteIdent(f.pseudonymize ? f.name.replace(/_id$/, '') + '_key' : f.name)),
    `_local_time::DATE AS event_date`,
    `coalesce(${timeCol} < _watermark_base - INTERVAL ${lateness} MINUTE, false) AS is_late`,
    `_rescued_data`,
    `CASE WHEN _has_warning THEN violations END AS warnings`,
    `stream AS bronze_stream`,
    `stream_offset AS bronze_offset`,
    `kafka_topic`,
    `kafka_partition`,
    `kafka_offset`,
    `source_file`,
    `source_line`,
    `ingested_at`,
    `TIMESTAMP '${refinedAt}' AS refined_at`,
  ].join(', ');
  await engine.exec(`
    CREATE OR REPLACE TEMP TABLE refine_silver AS
    SELECT ${silverCols} FROM refine_scored WHERE _rn = 1 AND NOT _seen_before ORDER BY wm_stream, stream, stream_offset;
    CREATE OR REPLACE TEMP TABLE refine_duplicates AS
    SELECT ${keyCol} AS event_id, CASE WHEN _seen_before THEN 'earlier batch' ELSE 'same batch' END AS first_seen,
           stream AS bronze_stream, stream_offset AS bronze_offset, kafka_topic, kafka_partition, kafka_offset, source_file, source_line,
           ingested_at, TIMESTAMP '${refinedAt}' AS detected_at
    FROM refine_scored WHERE _rn > 1 OR _seen_before ORDER BY stream, stream_offset;
    CREATE OR REPLACE TEMP TABLE refine_quarantine AS
    SELECT raw_value, raw_bytes, raw_event_id AS event_id,
           violations, violations[1] AS reason, stream AS bronze_stream, stream_offset AS bronze_offset, kafka_topic, kafka_partition,
           kafka_offset, source_file, source_line, ingested_at, TIMESTAMP '${refinedAt}' AS quarantined_at
    FROM refine_checked WHERE _dropped ORDER BY stream, stream_offset;
  `);
}

interface ChunkResult {
  readonly records: number;
  readonly silver: number;
  readonly quarantine: number;
  readonly duplicates: number;
  readonly late: number;
  readonly warnings: number;
  readonly quarantineByRule: Record<string, number>;
}

async function refineChunk(
  project: PipelineProject,
  storage: Storage,
  engine: SqlSession,
  contract: Contract,
  key: Buffer,
  chunk: Chunk,
): Promise<ChunkResult> {
  const dataset = project.config.events.dataset;
  const log = logger.child({ component: 'refine', dataset, chunk: chunk.id });
  let seq = chunk.seq;
  if (seq === undefined) {
    await engine.exec(`BEGIN TRANSACTION`);
    seq = (
      await engine.all<{ n: number }>(
        `SELECT (coalesce(max(seq), 0) + 1)::BIGINT AS n FROM (SELECT seq FROM ${STATE_DB}.chunks UNION ALL SELECT seq FROM ${STATE_DB}.pending)`,
      )
    )[0]!.n;
    await engine.exec(`DELETE FROM ${STATE_DB}.pending WHERE chunk = ?`, [chunk.id]);
    for (const f of chunk.files) {
      await engine.exec(`INSERT INTO ${STATE_DB}.pending (chunk, file, seq) VALUES (?, ?, ?)`, [chunk.id, f, seq]);
    }
    await engine.exec(`COMMIT`);
  }

  const refinedAt = new Date().toISOString().replace('T', ' ').replace('Z', '');
  await buildRefineTables(project, storage, engine, contract, key, chunk.files, true, refinedAt);
  const keyCol = quoteIdent(contract.key);
  const timeCol = quoteIdent(contract.eventTime);

  const counts = (
    await engine.all<{
      records: number;
      silver: number;
      quarantine: number;
      duplicates: number;
      late: number;
      warnings: number;
    }>(`
      SELECT (SELECT count(*) FROM refine_checked)::BIGINT AS records, (SELECT count(*) FROM refine_silver)::BIGINT AS silver,
             (SELECT count(*) FROM refine_quarantine)::BIGINT AS quarantine, (SELECT count(*) FROM refine_duplicates)::BIGINT AS duplicates,
             (SELECT count(*) FILTER (WHERE is_late) FROM refine_silver)::BIGINT AS late,
             (SELECT count(*) FILTER (WHERE warnings IS NOT NULL) FROM refine_silver)::BIGINT AS warnings`)
  )[0]!;
  if (counts.silver + counts.quarantine + counts.duplicates !== counts.records) {
    throw new MedallionError(
      'MDL_INTERNAL',
      `refine lost track of records in chunk ${chunk.id}: ${JSON.stringify(counts)}.`,
      {
        hint: 'This is a bug in Medallion; nothing was committed. Report it with the chunk id.',
      },
    );
  }

  // One Delta commit per layer table, each carrying the chunk's txn (appId + seq): a chunk redone
  // after a crash finds the commits that already happened and skips them.
  const txn = { appId: `refine:${dataset}`, version: seq };
  for (const [layer, rows, source] of [
    ['silver', counts.silver, 'refine_silver'],
    ['quarantine', counts.quarantine, 'refine_quarantine'],
    ['duplicates', counts.duplicates, 'refine_duplicates'],
  ] as const) {
    if (rows === 0) continue;
    const table = await layerTableFor(project, storage, engine, layer, `SELECT * FROM ${source}`);
    await table.append(`SELECT * FROM ${source}`, {
      txn,
      operation: 'STREAMING UPDATE',
      operationParameters: { chunk: chunk.id, bronzeFiles: chunk.files.length },
    });
  }
  const byRuleRows = await engine.all<{ rule: string; n: number }>(
    `SELECT rule, count(*)::BIGINT AS n FROM (SELECT unnest(violations) AS rule FROM refine_quarantine) GROUP BY rule ORDER BY n DESC, rule`,
  );

  await engine.exec(`BEGIN TRANSACTION`);
  try {
    await engine.exec(`
      INSERT INTO ${STATE_DB}.seen_keys SELECT event_date, ${keyCol} FROM refine_silver ORDER BY event_date;
      INSERT OR REPLACE INTO ${STATE_DB}.watermarks
        SELECT v.wm_stream, greatest(max(v.${timeCol}), any_value(w.max_event_time))
        FROM refine_checked v LEFT JOIN ${STATE_DB}.watermarks w USING (wm_stream) WHERE NOT v._dropped GROUP BY v.wm_stream;
      INSERT OR IGNORE INTO ${STATE_DB}.processed_files SELECT file, chunk, TIMESTAMP '${refinedAt}' FROM ${STATE_DB}.pending WHERE chunk = ${quoteLiteral(chunk.id)};
      DELETE FROM ${STATE_DB}.pending WHERE chunk = ${quoteLiteral(chunk.id)};
    `);
    await engine.exec(
      `INSERT OR REPLACE INTO ${STATE_DB}.chunks (chunk, records, silver, quarantine, duplicates, late, warnings, refined_at, seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, TIMESTAMP '${refinedAt}', ?)`,
      [
        chunk.id,
        counts.records,
        counts.silver,
        counts.quarantine,
        counts.duplicates,
        counts.late,
        counts.warnings,
        seq,
      ],
    );
    await engine.exec(`COMMIT`);
  } catch (err) {
    await engine.exec(`ROLLBACK`).catch(() => {});
    throw err;
  }
  await engine.exec(`DROP TABLE refine_checked; DROP TABLE refine_scored;
                     DROP TABLE refine_silver; DROP TABLE refine_duplicates; DROP TABLE refine_quarantine;`);
  log.info({ event: 'refine.chunk.committed', ...counts }, 'chunk refined');
  return { ...counts, quarantineByRule: Object.fromEntries(byRuleRows.map((r) => [r.rule, r.n])) };
}

/**
 * Reference datasets to silver: the newest bronze version of each file, with rows that repeat
 * exactly (the locations file has some) kept once. Unchanged bronze → nothing written.
 */
async function refineReference(project: PipelineProject, storage: Storage, engine: SqlSession): Promise<void> {
  for (const ref of project.config.reference) {
    const files = await storage.list(`bronze/${ref.dataset}`);
    if (files.length === 0) continue;
    const newest = (
      await engine.all<{ f: string }>(
        `SELECT filename AS f FROM read_parquet([${files.map((f) => quoteLiteral(storage.uri(f.key))).join(', ')}], filename = true, union_by_name = true)
         GROUP BY filename ORDER BY max(_ingested_at) DESC, filename DESC LIMIT 1`,
      )
    )[0]!.f;
    const name = newest.slice(newest.lastIndexOf('/') + 1);
    const target = `silver/${ref.dataset}/${name}`;
    if (await storage.exists(target)) continue;
    const dataColumns = (
      await engine.all<{ column_name: string }>(`DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(newest)})`)
    )
      .map((c) => c.column_name)
      .filter((c) => !c.startsWith('_'));
    await storage.putAtomic(target, async (tmp) => {
      await engine.exec(`
        COPY (SELECT * EXCLUDE (_rn) FROM (
                SELECT *, row_number() OVER (PARTITION BY ${dataColumns.map(quoteIdent).join(', ')} ORDER BY _source_row) AS _rn
                FROM read_parquet(${quoteLiteral(newest)})) WHERE _rn = 1 ORDER BY _source_row)
        TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
    });
    for (const old of await storage.list(`silver/${ref.dataset}`))
      if (old.key !== target) await storage.delete(old.key);
    progress(`refine: reference ${ref.dataset} → ${target}`);
  }
}
