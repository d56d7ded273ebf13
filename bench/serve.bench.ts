/**
 * `npm run bench -- serve [--home DIR] [--sample F] [--days N] [--requests N]`: the dashboard API
 * on a simulated school year (every open school × 180 school days, a fraction F of the students),
 * against the raw DuckDB time of the same question on the same warehouse.
 *
 * - Data: `medallion simulate --days N --sample F` into MEDALLION_HOME, then `medallion run --once`;
 *   with --home DIR, a directory that already holds a built warehouse is reused (build it once,
 *   measure many times; gold is rebuilt first if it predates the serving marts). The gold build
 *   time is taken from the run log.
 * - Medallion: each page's API endpoint over HTTP on 127.0.0.1, the answer cache off (every request
 *   runs the page's SQL on the dashboard's copy of gold, publishes and serialises), parameters
 *   cycling through borough, district and date-range filters.
 * - Reference (raw): the same question as one hand-written DuckDB query over gold's base tables —
 *   the school-days of fact_event_metrics joined with dim_school, as a data engineer would write it
 *   without the serving marts (fact_school_week, fact_district_day) — on a connection already open
 *   on the warehouse, rows serialised to JSON as the API's are. The pages that read no mart (now,
 *   school, pipeline) use the API's own SQL. Before measuring, every parameter set's API SQL and
 *   reference SQL are run and must give the same rows.
 * - Beside it: the API's own SQL on the open warehouse (rawSameSql), and opening the file for it.
 * Result: medians over every request of every page, in ms; per page p50/p95 in details.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProject, REPO_ROOT } from '../src/config/project.ts';
import { COMPARE_SQL, readCompare } from '../src/serve/compare-metrics.ts';
import { startDashboard } from '../src/serve/dashboard.ts';
import { EQUITY_SQL, parseEquityRows, readEquity } from '../src/serve/equity-metrics.ts';
import { type Filters, filterParams } from '../src/serve/filters.ts';
import { jsonRows } from '../src/serve/json-rows.ts';
import { readNow } from '../src/serve/now-metrics.ts';
import { readGoldRowCounts } from '../src/serve/pipeline-metrics.ts';
import { readSchool, readSchools, SCHOOL_LIST_LIMIT, SCHOOL_SQL } from '../src/serve/school-metrics.ts';
import { readTrends, TREND_SQL } from '../src/serve/trend-metrics.ts';
import { DuckDbWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.ts';
import type { Warehouse } from '../src/warehouse/warehouse.ts';
import { type BenchResult, benchResult, median, note } from './bench-kit.ts';

/** The reference's shared filter over the base tables: the selected schools and their school-days. */
const BASE_FILTER = `
  sel AS (
    SELECT * FROM gold.dim_school
    WHERE ($1::VARCHAR IS NULL OR borough_code = $1::VARCHAR)
      AND ($2::INTEGER IS NULL OR district = $2::INTEGER)
  ),
  ev AS (
    SELECT f.* FROM gold.fact_event_metrics f
    WHERE f.dbn IN (SELECT dbn FROM sel)
      AND ($3::DATE IS NULL OR f.event_date >= $3::DATE)
      AND ($4::DATE IS NULL OR f.event_date <= $4::DATE)
  ),
  school_ev AS (
    SELECT dbn, max(enrolled) AS students, sum(enrolled) AS student_days, sum(present + late) AS attended
    FROM ev GROUP BY dbn
  )`;

/** The per-school CTE the API reads from the marts, as the reference writes it over the school-days. */
function overBaseTables(apiSql: string): string {
  const start = apiSql.indexOf('sel AS (');
  const end = apiSql.indexOf('GROUP BY dbn\n  )', start);
  if (start < 0 || end < 0) throw new Error('the page SQL no longer starts with sel and school_ev');
  return `${apiSql.slice(0, start)}${BASE_FILTER.trim()}${apiSql.slice(end + 'GROUP BY dbn\n  )'.length)}`;
}

/**
 * The reference: each mart-reading page's question as one query over gold's base tables
 * (fact_event_metrics, dim_school; parameters $1–$4 borough, district, from, to), with the same
 * output columns as the API's SQL.
 */
const BASE_SQL = {
  equity: overBaseTables(EQUITY_SQL.all),
  compare: overBaseTables(COMPARE_SQL.rows),
  schools: overBaseTables(SCHOOL_SQL.list),
  compareDays: `WITH ${BASE_FILTER} SELECT count(DISTINCT event_date)::BIGINT AS days FROM ev`,
  trends: `
    WITH ${BASE_FILTER},
    d AS (
      SELECT ev.event_date, coalesce(sel.borough_name, 'Unknown') AS borough,
             count(*) AS schools, sum(ev.enrolled) AS enrolled, sum(ev.present + ev.late) AS attended
      FROM ev JOIN sel USING (dbn)
      GROUP BY 1, 2
    ),
    days AS (
      SELECT 'day' AS grain, event_date AS period, borough, schools, enrolled, attended, 1 AS days FROM d
      UNION ALL
      SELECT 'day', event_date, 'New York City', sum(schools), sum(enrolled), sum(attended), 1 FROM d GROUP BY 2
    )
    SELECT grain, strftime(period, '%Y-%m-%d') AS period, borough AS area,
           max(schools)::BIGINT AS schools, sum(enrolled)::BIGINT AS student_days,
           sum(enrolled)::DOUBLE / sum(days) AS daily_students,
           sum(attended)::DOUBLE / nullif(sum(enrolled), 0) AS attendance_rate
    FROM (
      SELECT * FROM days
      UNION ALL
      SELECT 'week', date_trunc('week', period)::DATE, borough, schools, enrolled, attended, days FROM days
    )
    GROUP BY 1, 2, 3`,
} as const;

/** Rows equal, numbers to 1e-9 relative (sums of doubles may be added in another order). */
function sameRows(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number')
    return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameRows(v, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    return (
      ka.length === Object.keys(b).length &&
      ka.every((k) => sameRows((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    );
  }
  return a === b;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

function p95(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)]!;
}

function cli(args: string[], env: Record<string, string>): string {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'medallion.js'), ...args], {
    env: { ...process.env, MEDALLION_QUIET: '1', ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`medallion ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** One page: its API path for a parameter set, and the same read on an open warehouse. */
interface PageCase {
  readonly name: string;
  readonly variants: readonly Record<string, string>[];
  /** The reference: the question over gold's base tables (rows as JSON). */
  raw(wh: Warehouse, params: Record<string, string>): Promise<unknown>;
  /** The API's own SQL on an open warehouse (for pages whose reference is another query; else undefined). */
  same?(wh: Warehouse, params: Record<string, string>): Promise<unknown>;
  /** The API's SQL rows and the reference's, to check they agree (pages whose reference is another query). */
  check?(wh: Warehouse, params: Record<string, string>): Promise<[unknown, unknown]>;
  path(params: Record<string, string>): string;
}

export async function run(args: string[]): Promise<BenchResult> {
  const days = Number(flag(args, 'days') ?? 180);
  const sample = Number(flag(args, 'sample') ?? 0.02);
  const requests = Number(flag(args, 'requests') ?? 40);
  let home = flag(args, 'home');
  const env = () => ({ MEDALLION_HOME: home! });
  let simulated: Record<string, unknown> | undefined;
  home ??= await mkdtemp(join(tmpdir(), 'medallion-bench-serve-'));
  let project = loadProject({ dataDir: home });
  if (!existsSync(project.paths.warehouse)) {
    note(`simulating ${days} school days of every open school, ${sample * 100}% of the students, into ${home}`);
    simulated = JSON.parse(cli(['simulate', '--days', String(days), '--sample', String(sample), '--json'], env()));
    note(`simulated ${(simulated!['records'] as number).toLocaleString('en-US')} records; running the pipeline once`);
    cli(['run', '--once'], env());
  } else note(`reusing the warehouse in ${home}`);
  project = loadProject({ dataDir: home });
  const check = await DuckDbWarehouse.open(project.paths.warehouse, { readOnly: true });
  const marts = await check.query(
    `SELECT table_name FROM information_schema.tables
     WHERE table_schema = 'gold' AND table_name IN ('fact_school_week', 'fact_district_day')`,
  );
  await check.close();
  if (marts.length < 2) {
    note('the warehouse predates the serving marts; building gold');
    cli(['build'], env());
  }
  const runs = (await readFile(join(project.paths.runLog, 'runs.jsonl'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { job: string; durationMs: number; counts?: Record<string, unknown> });
  const build = runs.filter((r) => r.job === 'build').at(-1);
  const pipeline = runs.filter((r) => r.job === 'run').at(-1);
  const warehouse = project.paths.warehouse;
  const min = project.config.privacy.minGroupSize;

  const probe = await DuckDbWarehouse.open(warehouse, { readOnly: true });
  const [size] = await probe.query<{ rows: number; schools: number; days: number; first: string; last: string }>(
    `SELECT count(*)::BIGINT AS rows, count(DISTINCT dbn)::BIGINT AS schools, count(DISTINCT event_date)::BIGINT AS days,
            strftime(min(event_date), '%Y-%m-%d') AS first, strftime(max(event_date), '%Y-%m-%d') AS last
     FROM gold.fact_event_metrics`,
  );
  const [events] = await probe.query<{ n: number }>('SELECT count(*)::BIGINT AS n FROM silver.attendance_events');
  const [big] = await probe.query<{ dbn: string }>(
    'SELECT dbn FROM gold.fact_event_metrics GROUP BY dbn ORDER BY sum(enrolled) DESC LIMIT 1',
  );
  await probe.close();
  const dbBytes = (await stat(warehouse)).size;
  note(
    `gold: ${size!.rows.toLocaleString('en-US')} school-days (${size!.schools} schools × ${size!.days} days, ${size!.first}…${size!.last}) from ${events!.n.toLocaleString('en-US')} events; warehouse ${(dbBytes / 1e6).toFixed(0)} MB; gold build ${build ? (build.durationMs / 1000).toFixed(1) : '?'} s`,
  );

  const first = size!.first;
  const last = size!.last;
  const mid = new Date((Date.parse(first) + Date.parse(last)) / 2).toISOString().slice(0, 10);
  const filterVariants: Record<string, string>[] = [
    {},
    { borough: 'X' },
    { borough: 'K', from: mid },
    { district: '2' },
    { borough: 'Q', from: first, to: mid },
    { from: mid },
  ];
  const filtersOf = (p: Record<string, string>): Filters => ({
    borough: p['borough'] as Filters['borough'],
    district: p['district'] ? Number(p['district']) : undefined,
    from: p['from'],
    to: p['to'],
  });
  const qs = (p: Record<string, string>) => {
    const s = new URLSearchParams(p).toString();
    return s ? `?${s}` : '';
  };
  const eqParams = (p: Record<string, string>) => [...filterParams(filtersOf(p)), p['metric'] ?? 'attendance'];
  const listParams = (p: Record<string, string>) => [...filterParams(filtersOf(p)), p['q'] ?? null, SCHOOL_LIST_LIMIT];
  const CMP_ORDER = 'q.level, abs(q.streaming_rate - q.official_rate) DESC NULLS LAST, q.key';
  const TREND_ORDER = "q.grain, q.period, q.area <> 'New York City', q.area";
  const fp = (p: Record<string, string>) => filterParams(filtersOf(p));
  const checkOf =
    (apiSql: string, refSql: string, params: (p: Record<string, string>) => unknown[], order: string) =>
    async (wh: Warehouse, p: Record<string, string>): Promise<[unknown, unknown]> => [
      await jsonRows(wh, apiSql, params(p), order),
      await jsonRows(wh, refSql, params(p), order),
    ];
  const cases: PageCase[] = [
    {
      name: 'now',
      variants: [{}, { date: mid }, { date: first }],
      path: (p) => `/api/now${qs(p)}`,
      raw: (wh, p) => readNow(wh, { date: p['date'], minGroupSize: min }),
    },
    {
      name: 'equity',
      variants: filterVariants.map((v, i) => (i % 2 ? { ...v, metric: 'ell' } : v)),
      path: (p) => `/api/equity${qs(p)}`,
      raw: async (wh, p) => parseEquityRows(await wh.query(BASE_SQL.equity, eqParams(p))),
      same: (wh, p) =>
        readEquity(wh, {
          filters: filtersOf(p),
          metric: (p['metric'] ?? 'attendance') as 'attendance',
          minGroupSize: min,
        }),
      check: async (wh, p) => [
        parseEquityRows(await wh.query(EQUITY_SQL.all, eqParams(p))),
        parseEquityRows(await wh.query(BASE_SQL.equity, eqParams(p))),
      ],
    },
    {
      name: 'schools',
      variants: [{}, { q: 'academy' }, { borough: 'X', q: 'p.s.' }, { district: '2', from: mid }],
      path: (p) => `/api/schools${qs(p)}`,
      raw: (wh, p) => jsonRows(wh, BASE_SQL.schools, listParams(p), 'q.dbn'),
      same: (wh, p) => readSchools(wh, { filters: filtersOf(p), q: p['q'], minGroupSize: min }),
      check: checkOf(SCHOOL_SQL.list, BASE_SQL.schools, listParams, 'q.dbn'),
    },
    {
      name: 'school',
      variants: [{ dbn: big!.dbn }, { dbn: big!.dbn, from: mid }],
      path: (p) => `/api/school${qs(p)}`,
      raw: (wh, p) => readSchool(wh, { dbn: p['dbn']!, from: p['from'], to: p['to'], minGroupSize: min }),
    },
    {
      name: 'compare',
      variants: filterVariants,
      path: (p) => `/api/compare${qs(p)}`,
      raw: async (wh, p) => [
        await jsonRows(wh, BASE_SQL.compare, fp(p), CMP_ORDER),
        await wh.query(BASE_SQL.compareDays, fp(p)),
      ],
      same: (wh, p) => readCompare(wh, { filters: filtersOf(p), minGroupSize: min }),
      check: async (wh, p) => [
        [await jsonRows(wh, COMPARE_SQL.rows, fp(p), CMP_ORDER), await wh.query(COMPARE_SQL.days, fp(p))],
        [await jsonRows(wh, BASE_SQL.compare, fp(p), CMP_ORDER), await wh.query(BASE_SQL.compareDays, fp(p))],
      ],
    },
    {
      name: 'trends',
      variants: filterVariants,
      path: (p) => `/api/trends${qs(p)}`,
      raw: (wh, p) => jsonRows(wh, BASE_SQL.trends, fp(p), TREND_ORDER),
      same: (wh, p) => readTrends(wh, { filters: filtersOf(p), minGroupSize: min }),
      check: checkOf(TREND_SQL.points, BASE_SQL.trends, fp, TREND_ORDER),
    },
    {
      name: 'pipeline',
      variants: [{}],
      path: () => '/api/pipeline',
      raw: (wh) => readGoldRowCounts(wh),
    },
  ];

  const dashboard = await startDashboard({ project, port: 0, cacheSize: 0 });
  const base = dashboard.url.replace(/\/$/, '');
  const wh = await DuckDbWarehouse.open(warehouse, { readOnly: true });
  const perPage: Record<string, unknown> = {};
  const allApi: number[] = [];
  const allRaw: number[] = [];
  const p95s: Record<string, { api: number; raw: number }> = {};
  let checked = 0;
  try {
    for (const c of cases) {
      for (const v of c.variants) {
        const res = await fetch(`${base}${c.path(v)}`);
        if (res.status !== 200) throw new Error(`${c.path(v)} answered ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
        await c.raw(wh, v);
        await c.same?.(wh, v);
        if (c.check) {
          const [mine, reference] = await c.check(wh, v);
          if (!sameRows(mine, reference))
            throw new Error(`${c.path(v)}: the API's SQL and the reference over the base tables disagree`);
          checked++;
        }
      }
      const api: number[] = [];
      const raw: number[] = [];
      const same: number[] = [];
      const rawOpen: number[] = [];
      for (let i = 0; i < requests; i++) {
        const v = c.variants[i % c.variants.length]!;
        let t0 = performance.now();
        const res = await fetch(`${base}${c.path(v)}`);
        await res.arrayBuffer();
        api.push(performance.now() - t0);
        t0 = performance.now();
        await c.raw(wh, v);
        raw.push(performance.now() - t0);
        if (c.same) {
          t0 = performance.now();
          await c.same(wh, v);
          same.push(performance.now() - t0);
        }
        if (i % 4 === 0) {
          await wh.query('SELECT 1');
          t0 = performance.now();
          const fresh = await DuckDbWarehouse.open(warehouse, { readOnly: true });
          await (c.same ?? c.raw)(fresh, v);
          await fresh.close();
          rawOpen.push(performance.now() - t0);
        }
      }
      allApi.push(...api);
      allRaw.push(...raw);
      p95s[c.name] = { api: p95(api), raw: p95(raw) };
      perPage[c.name] = {
        apiP50: +median(api).toFixed(2),
        apiP95: +p95(api).toFixed(2),
        rawP50: +median(raw).toFixed(2),
        rawP95: +p95(raw).toFixed(2),
        rawSameSqlP50: same.length ? +median(same).toFixed(2) : null,
        rawSameSqlP95: same.length ? +p95(same).toFixed(2) : null,
        rawWithOpenP50: +median(rawOpen).toFixed(2),
        ratioP95: +(p95(api) / p95(raw)).toFixed(2),
        ratioP50: +(median(api) / median(raw)).toFixed(2),
      };
      note(
        `${c.name.padEnd(9)} API p50 ${median(api).toFixed(1).padStart(6)} ms  p95 ${p95(api).toFixed(1).padStart(6)} ms | raw DuckDB p50 ${median(raw).toFixed(1).padStart(6)} ms  p95 ${p95(raw).toFixed(1).padStart(6)} ms${same.length ? ` (API's SQL p50 ${median(same).toFixed(1)} ms)` : ''} (with open ${median(rawOpen).toFixed(1)} ms) | p95 ratio ${(p95(api) / p95(raw)).toFixed(2)}`,
      );
    }
  } finally {
    await wh.close();
    await dashboard.close();
  }
  note(
    `checked: the API's SQL and the reference over the base tables give the same rows for ${checked} parameter sets`,
  );
  const worst = Math.max(...Object.values(p95s).map((p) => p.api));
  note(`worst page p95 ${worst.toFixed(1)} ms (goal ≤ 100 ms and ≤ 2× raw)`);
  return benchResult('serve', 'ms', 'lower', allApi, allRaw, {
    measure:
      'API latency per request (HTTP, cache off) vs the same question as one DuckDB query over the base gold tables on an open connection',
    referenceCheckedParameterSets: checked,
    requestsPerPage: requests,
    pages: perPage,
    worstPageP95Ms: +worst.toFixed(2),
    dataset: {
      schoolDays: size!.rows,
      schools: size!.schools,
      days: size!.days,
      events: events!.n,
      sample,
      warehouseMB: +(dbBytes / 1e6).toFixed(1),
      goldBuildS: build ? +(build.durationMs / 1000).toFixed(2) : null,
      pipelineRunS: pipeline ? +(pipeline.durationMs / 1000).toFixed(2) : null,
      simulated: simulated?.['records'] ?? null,
    },
  });
}
