import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PipelineProject } from '../config/project.ts';
import { logger } from '../core/logger.ts';
import { openDuckDb, quoteIdent } from '../engine/duckdb.ts';
import { type RunLogEntry, readRuns } from '../ops/run-log.ts';
import { readStatus } from '../ops/status.ts';
import { qualityFiles, readQualityReport } from '../quality/quality-store.ts';
import type { QualityReport } from '../quality/run-checks.ts';
import { LocalStorage } from '../storage/local/local-storage.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';

/** One run-log entry as the Pipeline page lists it. */
export interface RunRow {
  readonly job: string;
  readonly status: 'success' | 'failed';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  /** Records the run handled (ingested, refined, loaded), when it says. */
  readonly records: number | null;
  readonly error: string | null;
}

/** One gold test of the last build. */
export interface TestRow {
  readonly name: string;
  readonly status: string;
  readonly failures: number | null;
}

/** A node of the lineage graph: a silver source, a model or a snapshot. */
export interface LineageNode {
  readonly id: string;
  readonly name: string;
  readonly kind: 'bronze' | 'source' | 'staging' | 'mart' | 'snapshot' | 'model';
  /** Longest path from bronze (bronze datasets are 0, silver sources 1): the column it is drawn in. */
  readonly depth: number;
}

/** The body of `GET /api/pipeline`. */
export interface PipelineMetrics {
  readonly runs: readonly RunRow[];
  /** Rows per layer: the event dataset in the lake, then each gold table in the warehouse. */
  readonly layers: {
    readonly bronze: number;
    readonly silver: number;
    readonly quarantine: number;
    readonly duplicates: number;
    readonly late: number;
  } | null;
  readonly gold: readonly { readonly table: string; readonly rows: number }[];
  readonly quarantineByRule: readonly { readonly rule: string; readonly rows: number }[];
  readonly tests: {
    readonly pass: number;
    readonly warn: number;
    readonly fail: number;
    readonly builtAt: string | null;
    readonly results: readonly TestRow[];
  };
  readonly lineage: { readonly nodes: readonly LineageNode[]; readonly edges: readonly (readonly [string, string])[] };
  /** The latest data-quality report (quality/latest.json), or null before any check ran. */
  readonly quality: QualityReport | null;
}

const log = logger.child({ component: 'serve' });

interface Manifest {
  readonly nodes?: Record<string, { readonly resource_type: string; readonly name: string; readonly fqn?: string[] }>;
  readonly sources?: Record<string, { readonly name: string; readonly source_name?: string }>;
  readonly parent_map?: Record<string, string[]>;
}

interface RunResults {
  readonly metadata?: { readonly generated_at?: string };
  readonly results?: readonly {
    readonly unique_id: string;
    readonly status: string;
    readonly failures?: number | null;
  }[];
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function recordsOf(r: RunLogEntry): number | null {
  const c = (r.counts ?? {}) as Record<string, unknown>;
  const events = c['events'] as { records?: number } | undefined;
  const n = c['records'] ?? c['ingested'] ?? events?.records;
  return typeof n === 'number' ? n : null;
}

/**
 * The lineage graph from the gold project's manifest: the bronze datasets, the silver sources, models
 * and snapshots (no tests).
 */
export function lineageOf(manifest: Manifest | undefined): PipelineMetrics['lineage'] {
  if (!manifest) return { nodes: [], edges: [] };
  const kinds = new Map<string, LineageNode['kind']>();
  const names = new Map<string, string>();
  for (const [id, s] of Object.entries(manifest.sources ?? {})) {
    kinds.set(id, 'source');
    names.set(id, `${s.source_name ?? 'source'}.${s.name}`);
  }
  for (const [id, n] of Object.entries(manifest.nodes ?? {})) {
    if (n.resource_type === 'snapshot') kinds.set(id, 'snapshot');
    else if (n.resource_type === 'model') {
      const folder = n.fqn?.at(-2);
      kinds.set(id, folder === 'staging' ? 'staging' : folder === 'marts' ? 'mart' : 'model');
    } else continue;
    names.set(id, n.name);
  }
  const parents = manifest.parent_map ?? {};
  const edges: [string, string][] = [];
  for (const [child, ps] of Object.entries(parents)) {
    if (!kinds.has(child)) continue;
    for (const p of ps) if (kinds.has(p)) edges.push([p, child]);
  }
  const depth = new Map<string, number>();
  const depthOf = (id: string, seen: Set<string>): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0;
    seen.add(id);
    const ps = (parents[id] ?? []).filter((p) => kinds.has(p));
    const d = ps.length === 0 ? 0 : 1 + Math.max(...ps.map((p) => depthOf(p, seen)));
    depth.set(id, d);
    return d;
  };
  const nodes: LineageNode[] = [...kinds.keys()].map((id) => ({
    id,
    name: names.get(id)!,
    kind: kinds.get(id)!,
    depth: depthOf(id, new Set()) + 1,
  }));
  // Each silver source is refined from the bronze dataset of the same name, ahead of the gold project.
  for (const n of nodes.filter((x) => x.kind === 'source')) {
    const dataset = n.name.slice(n.name.indexOf('.') + 1);
    const id = `bronze.${dataset}`;
    nodes.push({ id, name: `bronze.${dataset}`, kind: 'bronze', depth: 0 });
    edges.push([id, n.id]);
  }
  nodes.sort((a, b) => a.depth - b.depth || a.name.localeCompare(b.name));
  return { nodes, edges };
}

/** Reads gold row counts: one exact count per table of the gold schema (names come from the catalog). */
export async function readGoldRowCounts(wh: Warehouse): Promise<{ table: string; rows: number }[]> {
  const tables = await wh.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
     WHERE table_schema = 'gold' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  if (tables.length === 0) return [];
  const sql = tables
    .map(
      (t) =>
        `SELECT ${`'${t.table_name.replaceAll("'", "''")}'`} AS table_name, count(*)::BIGINT AS n FROM gold.${quoteIdent(t.table_name)}`,
    )
    .join(' UNION ALL ');
  const rows = await wh.query<{ table_name: string; n: number }>(`${sql} ORDER BY table_name`);
  return rows.map((r) => ({ table: r.table_name, rows: r.n }));
}

/**
 * Reads what the Pipeline page shows that lives outside gold: the run log, the lake's row counts
 * (through `medallion status`'s reader), the gold build's run_results.json and manifest.json, and
 * the latest data-quality report. Cached by the run log's, the build results' and the report's
 * modification times.
 */
export class PipelineFacts {
  readonly #project: PipelineProject;
  #cache: { stamp: string; value: Omit<PipelineMetrics, 'gold'> } | undefined;
  #pending: Promise<Omit<PipelineMetrics, 'gold'>> | undefined;

  constructor(project: PipelineProject) {
    this.#project = project;
  }

  async read(): Promise<Omit<PipelineMetrics, 'gold'>> {
    const paths = this.#project.paths;
    const stamps = await Promise.all(
      [join(paths.runLog, 'runs.jsonl'), join(paths.goldTarget, 'run_results.json'), qualityFiles(paths).latest].map(
        (p) =>
          stat(p).then(
            (s) => `${s.size}:${s.mtimeMs}`,
            () => '-',
          ),
      ),
    );
    const stamp = stamps.join('|');
    if (this.#cache?.stamp === stamp) return this.#cache.value;
    this.#pending ??= this.#compute().finally(() => {
      this.#pending = undefined;
    });
    const value = await this.#pending;
    this.#cache = { stamp, value };
    return value;
  }

  async #compute(): Promise<Omit<PipelineMetrics, 'gold'>> {
    const project = this.#project;
    const engine = await openDuckDb(':memory:', { threads: 1 });
    let status: Awaited<ReturnType<typeof readStatus>> | undefined;
    try {
      status = await readStatus(project, new LocalStorage(project.paths.lake), engine);
    } catch (err) {
      // The page still shows the runs, tests and lineage when the lake cannot be counted.
      log.warn({ event: 'serve.status.failed', err }, 'pipeline page: reading the lake status failed');
    } finally {
      await engine.close();
    }
    const runs = (await readRuns(project.paths, 30)).reverse().map(
      (r): RunRow => ({
        job: r.job,
        status: r.status,
        startedAt: r.startedAt,
        finishedAt: r.finishedAt,
        durationMs: r.durationMs,
        records: recordsOf(r),
        error: r.error ? `${r.error.code}: ${r.error.message}` : null,
      }),
    );
    const results = await readJson<RunResults>(join(project.paths.goldTarget, 'run_results.json'));
    const manifest = await readJson<Manifest>(join(project.paths.goldTarget, 'manifest.json'));
    const events = status ? Object.values(status.datasets).find((d) => d.kind === 'events') : undefined;
    const testResults = (results?.results ?? []).filter((r) => r.unique_id.startsWith('test.'));
    const count = (...statuses: string[]) => testResults.filter((r) => statuses.includes(r.status)).length;
    return {
      runs,
      layers: status
        ? {
            bronze: status.bronze.rows,
            silver: status.silver.rows,
            quarantine: status.quarantine.rows,
            duplicates: status.duplicates.rows,
            late: status.late.rows,
          }
        : null,
      quarantineByRule: Object.entries(events?.quarantineByRule ?? {}).map(([rule, rows]) => ({ rule, rows })),
      tests: {
        pass: count('pass'),
        warn: count('warn'),
        fail: count('fail', 'error'),
        builtAt: results?.metadata?.generated_at ?? null,
        results: testResults.map((r) => ({
          name: r.unique_id.split('.').slice(2).join('.'),
          status: r.status,
          failures: typeof r.failures === 'number' ? r.failures : null,
        })),
      },
      lineage: lineageOf(manifest),
      quality: status ? status.quality : await readQualityReport(project.paths).catch(() => null),
    };
  }
}
