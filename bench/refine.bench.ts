/**
 * `npm run bench -- refine [--events N[,N…]] [--runs R]`: bronze → silver with Medallion's refine
 * against the same work written by hand as one DuckDB SQL script (parse, contract checks, dedup,
 * watermark, HMAC pseudonyms, silver/quarantine/duplicates Parquet), on the same bronze, in the same
 * run. Then the history check: the last size refined again as a new batch on top of a history of the
 * same size, to show the cost follows the batch, not the history.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT } from '../src/config/project.ts';
import { openDuckDb, quoteLiteral } from '../src/engine/duckdb.ts';
import { openContext } from '../src/pipeline/context.ts';
import { ingestStep, refineStep } from '../src/pipeline/steps.ts';
import { type EventLayer, openLayerTable } from '../src/refine/layer-tables.ts';
import { hmacSql } from '../src/refine/pseudonym-key.ts';
import { type BenchResult, benchResult, note } from './bench-kit.ts';

const KEY = 'bench-pseudonym-key';

function medallion(args: string[], home: string): void {
  execFileSync(process.execPath, [join(REPO_ROOT, 'bin', 'medallion.js'), ...args], {
    env: { ...process.env, MEDALLION_HOME: home, MEDALLION_QUIET: '1', MEDALLION_PSEUDONYM_KEY: KEY },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** The hand-written reference: the same refine, as one script a data engineer would write. */
function referenceSql(bronzeGlob: string, schools: string, out: string): string {
  const v = (k: string) => `json_extract_string(j, '$.${k}')`;
  const t = (k: string) => `json_type(j, '$.${k}')`;
  return `
    CREATE OR REPLACE TEMP TABLE b AS
      SELECT *, CASE WHEN kafka_topic IS NULL THEN 'landing' ELSE stream END AS wm,
             CASE WHEN value IS NOT NULL AND json_valid(value) AND json_type(value::JSON) = 'OBJECT' THEN value::JSON END AS j
      FROM read_parquet(${quoteLiteral(bronzeGlob)});
    CREATE OR REPLACE TEMP TABLE c AS
      SELECT *, TRY_CAST(${v('event_time')} AS TIMESTAMPTZ) AS ts,
        CASE WHEN j IS NULL THEN ['malformed_json'] ELSE list_filter([
          CASE WHEN coalesce(${t('schema_version')} NOT IN ('UBIGINT','BIGINT') OR ${v('schema_version')}::BIGINT NOT IN (1, 2), true) THEN 'schema_version' END,
          CASE WHEN coalesce(${t('event_id')} <> 'VARCHAR', true) THEN 'event_id' END,
          CASE WHEN coalesce(${t('event_type')} <> 'VARCHAR' OR ${v('event_type')} <> 'attendance', true) THEN 'event_type' END,
          CASE WHEN coalesce(${t('dbn')} <> 'VARCHAR' OR NOT regexp_full_match(${v('dbn')}, '^\\d{2}[MXKQR]\\d{3}$'), true) THEN 'dbn' END,
          CASE WHEN ${t('dbn')} = 'VARCHAR' AND ${v('dbn')} NOT IN (SELECT system_code FROM read_parquet(${quoteLiteral(schools)})) THEN 'dbn.reference' END,
          CASE WHEN coalesce(${t('student_id')} <> 'VARCHAR' OR NOT regexp_full_match(${v('student_id')}, '^\\d{9}$'), true) THEN 'student_id' END,
          CASE WHEN coalesce(${t('event_time')} <> 'VARCHAR', true) OR TRY_CAST(${v('event_time')} AS TIMESTAMPTZ) IS NULL THEN 'event_time' END,
          CASE WHEN coalesce(${t('status')} <> 'VARCHAR' OR ${v('status')} NOT IN ('present','absent','late','excused'), true) THEN 'status' END
        ], x -> x IS NOT NULL) END AS violations
      FROM b;
    CREATE OR REPLACE TEMP TABLE ok AS
      SELECT ${v('event_id')} AS event_id, ${v('schema_version')}::INTEGER AS schema_version, ${v('event_type')} AS event_type, ${v('dbn')} AS dbn,
             ${hmacSql(Buffer.from(KEY), v('student_id'))} AS student_key, ts AS event_time, ${v('status')} AS status,
             (ts AT TIME ZONE 'America/New_York')::DATE AS event_date, wm, stream, stream_offset,
             row_number() OVER (PARTITION BY ${v('event_id')} ORDER BY wm, stream, stream_offset) AS rn,
             max(ts) OVER (PARTITION BY wm ORDER BY stream, stream_offset ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS wmax
      FROM c WHERE len(violations) = 0;
    COPY (SELECT * EXCLUDE (rn, wmax, wm), coalesce(event_time < wmax - INTERVAL 60 MINUTE, false) AS is_late FROM ok WHERE rn = 1)
      TO ${quoteLiteral(join(out, 'silver'))} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (event_date));
    COPY (SELECT value, violations, stream, stream_offset FROM c WHERE len(violations) > 0) TO ${quoteLiteral(join(out, 'quarantine.parquet'))} (FORMAT parquet, COMPRESSION zstd);
    COPY (SELECT event_id, stream, stream_offset FROM ok WHERE rn > 1) TO ${quoteLiteral(join(out, 'duplicates.parquet'))} (FORMAT parquet, COMPRESSION zstd);
  `;
}

async function timeMedallion(bronzeHome: string, work: string): Promise<{ seconds: number; silver: number }> {
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  execFileSync('cp', ['-rl', join(bronzeHome, 'lake'), join(work, 'lake')]);
  for (const d of ['silver/attendance_events', 'quarantine', 'duplicates'])
    await rm(join(work, 'lake', d), { recursive: true, force: true });
  const ctx = await openContext({ dataDir: work });
  try {
    await ingestStep(ctx, { once: true }); // reference files only (bronze already holds the events)
    const t0 = performance.now();
    const r = await refineStep(ctx);
    return { seconds: (performance.now() - t0) / 1000, silver: r.silver };
  } finally {
    await ctx.close();
  }
}

/**
 * Same output: Medallion's silver (the Delta table's latest version) and the script's hold the same
 * rows, and quarantine and duplicates the same counts. Throws when they differ, so a ratio is only
 * ever printed for equal work.
 */
async function checkSameOutput(medallionWork: string, referenceOut: string): Promise<string> {
  const ctx = await openContext({ dataDir: medallionWork });
  try {
    const rel = async (layer: EventLayer) => {
      const t = await openLayerTable(ctx.project, ctx.storage, ctx.engine, layer);
      if (!t) throw new Error(`refine bench: Medallion wrote no ${layer} table`);
      return t.relation();
    };
    const cols = 'event_id, dbn, student_key, event_time, status, event_date::DATE AS event_date, is_late';
    const mine = `(SELECT ${cols} FROM ${await rel('silver')})`;
    const theirs = `(SELECT ${cols} FROM read_parquet(${quoteLiteral(join(referenceOut, 'silver', '**', '*.parquet'))}, hive_partitioning = true))`;
    const [row] = await ctx.engine.all<Record<string, bigint>>(`SELECT
      (SELECT count(*) FROM ${mine}) AS silver, (SELECT count(*) FROM ${theirs}) AS ref_silver,
      (SELECT count(*) FROM (SELECT * FROM ${mine} EXCEPT ALL SELECT * FROM ${theirs})) AS only_mine,
      (SELECT count(*) FROM (SELECT * FROM ${theirs} EXCEPT ALL SELECT * FROM ${mine})) AS only_theirs,
      (SELECT count(*) FILTER (WHERE is_late) FROM ${mine}) AS late,
      (SELECT count(*) FROM ${await rel('quarantine')}) AS quarantine,
      (SELECT count(*) FROM read_parquet(${quoteLiteral(join(referenceOut, 'quarantine.parquet'))})) AS ref_quarantine,
      (SELECT count(*) FROM ${await rel('duplicates')}) AS duplicates,
      (SELECT count(*) FROM read_parquet(${quoteLiteral(join(referenceOut, 'duplicates.parquet'))})) AS ref_duplicates`);
    const n = (k: string) => Number(row![k]);
    const summary = `silver ${n('silver')} (late ${n('late')}), quarantine ${n('quarantine')}, duplicates ${n('duplicates')}`;
    if (
      n('silver') !== n('ref_silver') ||
      n('only_mine') !== 0 ||
      n('only_theirs') !== 0 ||
      n('quarantine') !== n('ref_quarantine') ||
      n('duplicates') !== n('ref_duplicates')
    )
      throw new Error(
        `refine bench: Medallion and the hand-written SQL differ: ${JSON.stringify(row, (_, v) => (typeof v === 'bigint' ? Number(v) : v))}`,
      );
    return summary;
  } finally {
    await ctx.close();
  }
}

async function timeReference(bronzeHome: string, work: string): Promise<number> {
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const engine = await openDuckDb(':memory:', { memoryLimit: '4GB' });
  try {
    const schools = join(bronzeHome, 'lake', 'silver', 'school_locations', '*.parquet');
    const t0 = performance.now();
    await engine.exec(
      referenceSql(join(bronzeHome, 'lake', 'bronze', 'attendance_events', '**', '*.parquet'), schools, work),
    );
    return (performance.now() - t0) / 1000;
  } finally {
    await engine.close();
  }
}

export async function run(args: string[]): Promise<BenchResult> {
  process.env.MEDALLION_PSEUDONYM_KEY = KEY;
  process.env.MEDALLION_QUIET = '1';
  const opt = (name: string, dflt: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
  };
  const sizes = opt('events', '1000000,10000000').split(',').map(Number);
  const runs = Number(opt('runs', '3'));
  const root = await mkdtemp(join(tmpdir(), 'medallion-bench-refine-'));
  const details: Record<string, unknown> = {};
  let med: number[] = [];
  let ref: number[] = [];
  try {
    for (const n of sizes) {
      const home = join(root, `bronze-${n}`);
      note(`simulating ${n.toLocaleString('en-US')} events and ingesting them to bronze…`);
      medallion(['simulate', '--events', String(n)], home);
      medallion(['ingest', '--once'], home);
      medallion(['refine'], home); // reference datasets to silver (the reference SQL reads school_locations there)
      med = [];
      ref = [];
      for (let r = 0; r < runs; r++) {
        const m = await timeMedallion(home, join(root, 'm'));
        const x = await timeReference(home, join(root, 'r'));
        if (r === 0) note(`same output: ${await checkSameOutput(join(root, 'm'), join(root, 'r'))}`);
        med.push(m.seconds);
        ref.push(x);
        note(
          `${n.toLocaleString('en-US')} events, run ${r + 1}/${runs}: medallion ${m.seconds.toFixed(2)} s, hand-written SQL ${x.toFixed(2)} s`,
        );
      }
      const res = benchResult('refine', 's', 'lower', med, ref);
      details[`events_${n}`] = {
        medallion_s: res.medallion,
        reference_s: res.reference,
        ratio: res.ratio,
        medallion_runs_s: med,
        reference_runs_s: ref,
      };
    }
    // History: the last size again as a second batch (new event ids: another seed and day) on top of it.
    const n = sizes.at(-1)!;
    const home = join(root, `bronze-${n}`);
    const first = (await timeMedallion(home, join(root, 'h'))).seconds;
    medallion(['simulate', '--events', String(n), '--seed', '77', '--start-date', '2018-11-01'], join(root, 'h'));
    const ctx = await openContext({ dataDir: join(root, 'h') });
    try {
      await ingestStep(ctx, { once: true });
      const t0 = performance.now();
      await refineStep(ctx);
      const second = (performance.now() - t0) / 1000;
      details['history'] = {
        batch_events: n,
        first_batch_s: first,
        same_batch_on_equal_history_s: second,
        ratio: second / first,
      };
      note(
        `history: a ${n.toLocaleString('en-US')}-event batch took ${first.toFixed(2)} s on an empty history, ${second.toFixed(2)} s on a history of the same size`,
      );
    } finally {
      await ctx.close();
    }
    return benchResult('refine', 's', 'lower', med, ref, details);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
