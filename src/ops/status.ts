import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PipelineProject } from '../config/project.ts';
import { quoteLiteral, type SqlSession } from '../engine/duckdb.ts';
import { formatQualityReport } from '../quality/format-report.ts';
import { readQualityReport } from '../quality/quality-store.ts';
import type { QualityReport } from '../quality/run-checks.ts';
import { type EventLayer, layerRelation } from '../refine/layer-tables.ts';
import type { Storage } from '../storage/storage.ts';
import { type RunLogEntry, readRuns } from './run-log.ts';

/** Row counts of one dataset across the layers. */
export interface DatasetStatus {
  readonly kind: 'events' | 'reference';
  readonly bronze: number;
  readonly silver: number;
  readonly quarantine?: number;
  readonly duplicates?: number;
  readonly late?: number;
  readonly quarantineByRule?: Readonly<Record<string, number>>;
}

/** The public `status --json` shape (ARCHITECTURE.md): event-layer totals, gold, last run, per-dataset detail. */
export interface PipelineStatus {
  readonly project: string;
  readonly dataDir: string;
  readonly bronze: { readonly rows: number };
  readonly silver: { readonly rows: number };
  readonly quarantine: { readonly rows: number };
  readonly duplicates: { readonly rows: number };
  readonly late: { readonly rows: number };
  readonly gold: {
    readonly models: number;
    readonly snapshots: number;
    readonly tests: { readonly pass: number; readonly warn: number; readonly fail: number };
    readonly builtAt: string | null;
  };
  readonly lastRun: RunLogEntry | null;
  /** The latest data-quality report (`medallion check`, or `run` after a gold build); null before any. */
  readonly quality: QualityReport | null;
  /** The newest entries of the run log (jobs and micro-batches), newest last; all of it: `query "select * from ops.runs"`. */
  readonly recentRuns: readonly RunLogEntry[];
  /** The latest refine batches that processed records (newest last): their late events among others. */
  readonly batches: readonly RefineBatch[];
  readonly datasets: Readonly<Record<string, DatasetStatus>>;
}

/** Counts of one refine batch, from the run log. */
export interface RefineBatch {
  readonly finishedAt: string;
  readonly records: number;
  readonly silver: number;
  readonly quarantine: number;
  readonly duplicates: number;
  readonly late: number;
}

async function countRows(engine: SqlSession, storage: Storage, prefix: string, where?: string): Promise<number> {
  const files = await storage.list(prefix);
  if (files.length === 0) return 0;
  const list = `[${files.map((f) => quoteLiteral(storage.uri(f.key))).join(', ')}]`;
  const rows = await engine.all<{ n: number }>(
    `SELECT count(*)${where ? ` FILTER (WHERE ${where})` : ''}::BIGINT AS n FROM read_parquet(${list}, union_by_name = true)`,
  );
  return rows[0]!.n;
}

async function layerCount(
  project: PipelineProject,
  storage: Storage,
  engine: SqlSession,
  layer: EventLayer,
  where?: string,
): Promise<number> {
  const rel = await layerRelation(project, storage, engine, layer);
  if (!rel) return 0;
  const rows = await engine.all<{ n: number }>(
    `SELECT count(*)${where ? ` FILTER (WHERE ${where})` : ''}::BIGINT AS n FROM ${rel}`,
  );
  return rows[0]!.n;
}

async function quarantineByRule(
  project: PipelineProject,
  storage: Storage,
  engine: SqlSession,
): Promise<Record<string, number>> {
  const rel = await layerRelation(project, storage, engine, 'quarantine');
  if (!rel) return {};
  const rows = await engine.all<{ rule: string; n: number }>(
    `SELECT rule, count(*)::BIGINT AS n FROM (SELECT unnest(violations) AS rule FROM ${rel}) GROUP BY rule ORDER BY n DESC, rule`,
  );
  return Object.fromEntries(rows.map((r) => [r.rule, r.n]));
}

interface RunResultsFile {
  readonly metadata?: { readonly generated_at?: string };
  readonly results?: readonly { readonly unique_id: string; readonly status: string }[];
}

async function goldStatus(project: PipelineProject): Promise<PipelineStatus['gold']> {
  let parsed: RunResultsFile;
  try {
    parsed = JSON.parse(await readFile(join(project.paths.goldTarget, 'run_results.json'), 'utf8')) as RunResultsFile;
  } catch {
    return { models: 0, snapshots: 0, tests: { pass: 0, warn: 0, fail: 0 }, builtAt: null };
  }
  const results = parsed.results ?? [];
  const ok = (s: string) => s === 'success';
  return {
    models: results.filter((r) => r.unique_id.startsWith('model.') && ok(r.status)).length,
    snapshots: results.filter((r) => r.unique_id.startsWith('snapshot.') && ok(r.status)).length,
    tests: {
      pass: results.filter((r) => r.unique_id.startsWith('test.') && r.status === 'pass').length,
      warn: results.filter((r) => r.unique_id.startsWith('test.') && r.status === 'warn').length,
      fail: results.filter((r) => r.unique_id.startsWith('test.') && (r.status === 'fail' || r.status === 'error'))
        .length,
    },
    builtAt: parsed.metadata?.generated_at ?? null,
  };
}

/** Reads the pipeline's status from the lake, the gold build results and the run log. */
export async function readStatus(
  project: PipelineProject,
  storage: Storage,
  engine: SqlSession,
): Promise<PipelineStatus> {
  const events = project.config.events.dataset;
  const ev: DatasetStatus = {
    kind: 'events',
    bronze: await countRows(engine, storage, `bronze/${events}`),
    silver: await layerCount(project, storage, engine, 'silver'),
    quarantine: await layerCount(project, storage, engine, 'quarantine'),
    duplicates: await layerCount(project, storage, engine, 'duplicates'),
    late: await layerCount(project, storage, engine, 'silver', 'is_late'),
    quarantineByRule: await quarantineByRule(project, storage, engine),
  };
  const datasets: Record<string, DatasetStatus> = { [events]: ev };
  for (const r of project.config.reference) {
    datasets[r.dataset] = {
      kind: 'reference',
      bronze: await countRows(engine, storage, `bronze/${r.dataset}`),
      silver: await countRows(engine, storage, `silver/${r.dataset}`),
    };
  }
  const runs = await readRuns(project.paths, 200);
  const lastRun = [...runs].reverse().find((r) => r.job === 'run') ?? runs.at(-1) ?? null;
  const batches: RefineBatch[] = runs
    .filter((r) => r.job === 'refine' && r.status === 'success' && Number(r.counts?.['records'] ?? 0) > 0)
    .slice(-10)
    .map((r) => {
      const n = (k: string) => Number(r.counts?.[k] ?? 0);
      return {
        finishedAt: r.finishedAt,
        records: n('records'),
        silver: n('silver'),
        quarantine: n('quarantine'),
        duplicates: n('duplicates'),
        late: n('late'),
      };
    });
  return {
    project: project.config.name,
    dataDir: project.paths.root,
    bronze: { rows: ev.bronze },
    silver: { rows: ev.silver },
    quarantine: { rows: ev.quarantine ?? 0 },
    duplicates: { rows: ev.duplicates ?? 0 },
    late: { rows: ev.late ?? 0 },
    gold: await goldStatus(project),
    lastRun,
    quality: await readQualityReport(project.paths),
    recentRuns: runs.slice(-10),
    batches,
    datasets,
  };
}

/** Records a run-log entry says it handled (ingested, refined, loaded), or null. */
function runRecords(r: RunLogEntry): number | null {
  const c = (r.counts ?? {}) as Record<string, unknown>;
  const events = c['events'] as { records?: unknown } | undefined;
  const n = c['records'] ?? c['ingested'] ?? events?.records;
  return typeof n === 'number' ? n : null;
}

/** A human summary of the status. */
export function formatStatus(s: PipelineStatus): string {
  const lines = [
    `Pipeline ${s.project} — data in ${s.dataDir}`,
    '',
    `  bronze       ${s.bronze.rows.toLocaleString('en-US')} rows`,
    `  silver       ${s.silver.rows.toLocaleString('en-US')} rows (late ${s.late.rows.toLocaleString('en-US')})`,
    `  quarantine   ${s.quarantine.rows.toLocaleString('en-US')} rows`,
    `  duplicates   ${s.duplicates.rows.toLocaleString('en-US')} rows`,
    `  gold         ${s.gold.models} models, ${s.gold.snapshots} snapshots; tests ${s.gold.tests.pass} pass, ${s.gold.tests.warn} warn, ${s.gold.tests.fail} fail${s.gold.builtAt ? ` (built ${s.gold.builtAt})` : ''}`,
  ];
  const ev = Object.entries(s.datasets).find(([, d]) => d.kind === 'events');
  if (ev?.[1].quarantineByRule && Object.keys(ev[1].quarantineByRule).length > 0) {
    lines.push('', '  quarantine by rule:');
    for (const [rule, n] of Object.entries(ev[1].quarantineByRule)) lines.push(`    ${rule.padEnd(24)} ${n}`);
  }
  lines.push('', '  reference datasets:');
  for (const [name, d] of Object.entries(s.datasets)) {
    if (d.kind === 'reference') lines.push(`    ${name.padEnd(24)} bronze ${d.bronze}, silver ${d.silver}`);
  }
  if (s.batches.length > 0) {
    lines.push('', '  latest refine batches:');
    for (const b of s.batches.slice(-5)) {
      lines.push(
        `    ${b.finishedAt}  ${String(b.records).padStart(9)} records → silver ${b.silver} (late ${b.late}), quarantine ${b.quarantine}, duplicates ${b.duplicates}`,
      );
    }
  }
  if (s.recentRuns.length > 0) {
    lines.push('', '  recent runs (all: medallion query "SELECT * FROM ops.runs"):');
    for (const r of s.recentRuns) {
      const records = runRecords(r);
      lines.push(
        `    ${r.finishedAt}  ${r.job.padEnd(16)} ${r.status.padEnd(7)} ${`${(r.durationMs / 1000).toFixed(1)} s`.padStart(8)}${records === null ? '' : `  ${records.toLocaleString('en-US')} records`}${r.error ? `  ${r.error.code}: ${r.error.message}` : ''}`,
      );
    }
  }
  if (s.quality) lines.push('', formatQualityReport(s.quality, '  '));
  if (s.lastRun) {
    lines.push(
      '',
      `  last run: ${s.lastRun.job} ${s.lastRun.status} at ${s.lastRun.finishedAt} (${(s.lastRun.durationMs / 1000).toFixed(1)} s)${s.lastRun.error ? ` — ${s.lastRun.error.code}: ${s.lastRun.error.message}` : ''}`,
    );
  } else lines.push('', '  no run yet: `medallion run --once` processes what has landed.');
  return lines.join('\n');
}
