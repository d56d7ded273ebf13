/**
 * `npm run bench -- serve [--home DIR] [--sample F] [--days N] [--requests N]`: the dashboard API
 * on a simulated school year (every open school × 180 school days, a fraction F of the students),
 * against the raw DuckDB time of the same SQL on the same warehouse.
 *
 * - Data: `medallion simulate --days N --sample F` into a temporary MEDALLION_HOME (or reuse --home
 *   when it already holds a built warehouse), then `medallion run --once`; the gold build time is
 *   taken from the run log.
 * - Medallion: each page's API endpoint over HTTP on 127.0.0.1, the answer cache off (every request
 *   opens the warehouse read-only, runs the page's SQL, publishes and serialises), parameters
 *   cycling through borough and date-range filters.
 * - Reference: the same page's SQL with the same parameters on a DuckDB connection already open on
 *   the warehouse (pure query time). A second reference that opens and closes the file for each
 *   page is reported beside it.
 * Result: medians over every request of every page, in ms; per page p50/p95 in details.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProject, REPO_ROOT } from '../src/config/project.ts';
import { readCompare } from '../src/serve/compare-metrics.ts';
import { startDashboard } from '../src/serve/dashboard.ts';
import { readEquity } from '../src/serve/equity-metrics.ts';
import type { Filters } from '../src/serve/filters.ts';
import { readNow } from '../src/serve/now-metrics.ts';
import { readGoldRowCounts } from '../src/serve/pipeline-metrics.ts';
import { readSchool, readSchools } from '../src/serve/school-metrics.ts';
import { readTrends } from '../src/serve/trend-metrics.ts';
import { DuckDbWarehouse } from '../src/warehouse/duckdb/duckdb-warehouse.ts';
import type { Warehouse } from '../src/warehouse/warehouse.ts';
import { type BenchResult, benchResult, median, note } from './bench-kit.ts';

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
  raw(wh: Warehouse, params: Record<string, string>): Promise<unknown>;
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
      raw: (wh, p) =>
        readEquity(wh, {
          filters: filtersOf(p),
          metric: (p['metric'] ?? 'attendance') as 'attendance',
          minGroupSize: min,
        }),
    },
    {
      name: 'schools',
      variants: [{}, { q: 'academy' }, { borough: 'X', q: 'p.s.' }, { district: '2' }],
      path: (p) => `/api/schools${qs(p)}`,
      raw: (wh, p) => readSchools(wh, { filters: filtersOf(p), q: p['q'], minGroupSize: min }),
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
      raw: (wh, p) => readCompare(wh, { filters: filtersOf(p), minGroupSize: min }),
    },
    {
      name: 'trends',
      variants: filterVariants,
      path: (p) => `/api/trends${qs(p)}`,
      raw: (wh, p) => readTrends(wh, { filters: filtersOf(p), minGroupSize: min }),
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
  try {
    for (const c of cases) {
      for (const v of c.variants) {
        const res = await fetch(`${base}${c.path(v)}`);
        if (res.status !== 200) throw new Error(`${c.path(v)} answered ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
        await c.raw(wh, v);
      }
      const api: number[] = [];
      const raw: number[] = [];
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
        if (i % 4 === 0) {
          await wh.query('SELECT 1');
          t0 = performance.now();
          const fresh = await DuckDbWarehouse.open(warehouse, { readOnly: true });
          await c.raw(fresh, v);
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
        rawWithOpenP50: +median(rawOpen).toFixed(2),
        ratioP95: +(p95(api) / p95(raw)).toFixed(2),
        ratioP50: +(median(api) / median(raw)).toFixed(2),
      };
      note(
        `${c.name.padEnd(9)} API p50 ${median(api).toFixed(1).padStart(6)} ms  p95 ${p95(api).toFixed(1).padStart(6)} ms | raw DuckDB p50 ${median(raw).toFixed(1).padStart(6)} ms  p95 ${p95(raw).toFixed(1).padStart(6)} ms (with open ${median(rawOpen).toFixed(1)} ms) | p95 ratio ${(p95(api) / p95(raw)).toFixed(2)}`,
      );
    }
  } finally {
    await wh.close();
    await dashboard.close();
  }
  const worst = Math.max(...Object.values(p95s).map((p) => p.api));
  note(`worst page p95 ${worst.toFixed(1)} ms (goal ≤ 100 ms and ≤ 2× raw)`);
  return benchResult('serve', 'ms', 'lower', allApi, allRaw, {
    measure: 'API latency per request (HTTP, cache off) vs the same SQL on an open DuckDB connection',
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
