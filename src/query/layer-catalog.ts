import { existsSync } from 'node:fs';
import type { PipelineProject } from '../config/project.ts';
import { quoteIdent, quoteLiteral, type SqlSession } from '../engine/duckdb.ts';
import { runLogFile } from '../ops/run-log.ts';
import { type EventLayer, layerRelation } from '../refine/layer-tables.ts';
import type { Storage } from '../storage/storage.ts';

/** A relation `query` can read: its schema-qualified name and what it is. */
export interface CatalogEntry {
  readonly schema: 'bronze' | 'silver' | 'quarantine' | 'duplicates' | 'gold' | 'ops';
  readonly name: string;
  readonly kind: 'events' | 'reference' | 'model' | 'runlog';
}

/** A reference to a Delta layer table at a version: `silver."attendance_events@v3"`. */
const TIME_TRAVEL = /\b(silver|quarantine|duplicates)\s*\.\s*"([a-z][a-z0-9_]*)@v(\d+)"/gi;

/**
 * Time travel: for every `<layer>."<dataset>@v<N>"` that `sql` names, a view with the rows of that
 * version of the layer's Delta table (MDL_DELTA_VERSION_NOT_FOUND, or FILES_MISSING after vacuum,
 * when it cannot be read).
 */
async function attachTimeTravel(
  engine: SqlSession,
  project: PipelineProject,
  storage: Storage,
  sql: string,
): Promise<void> {
  for (const m of sql.matchAll(TIME_TRAVEL)) {
    const [, schema, name, version] = m as unknown as [string, string, string, string];
    if (name !== project.config.events.dataset) continue;
    const rel = await layerRelation(project, storage, engine, schema.toLowerCase() as EventLayer, Number(version));
    if (!rel) continue;
    await engine.exec(
      `CREATE OR REPLACE VIEW ${schema.toLowerCase()}.${quoteIdent(`${name}@v${version}`)} AS SELECT * FROM ${rel}`,
    );
  }
}

/**
 * `ops.runs`: the run log as a table, one row per job run or micro-batch (`run.cycle`), read from
 * runs.jsonl. Lines a crashed process left torn are skipped. Columns: run_id, job, parent_run_id,
 * started_at, finished_at (TIMESTAMPTZ), status, duration_ms, counts (JSON), error_code,
 * error_message, version.
 */
export async function attachRunLog(engine: SqlSession, project: PipelineProject): Promise<boolean> {
  await engine.exec('CREATE SCHEMA IF NOT EXISTS ops');
  const file = runLogFile(project.paths);
  if (!existsSync(file)) return false;
  const columns = `{runId: 'VARCHAR', job: 'VARCHAR', parentRunId: 'VARCHAR', startedAt: 'VARCHAR', finishedAt: 'VARCHAR', status: 'VARCHAR', durationMs: 'BIGINT', counts: 'JSON', error: 'STRUCT(code VARCHAR, message VARCHAR)', version: 'VARCHAR'}`;
  await engine.exec(
    `CREATE OR REPLACE VIEW ops.runs AS
     SELECT runId AS run_id, job, parentRunId AS parent_run_id,
            startedAt::TIMESTAMPTZ AS started_at, finishedAt::TIMESTAMPTZ AS finished_at,
            status, durationMs AS duration_ms, counts, error.code AS error_code, error.message AS error_message,
            version
     FROM read_json(${quoteLiteral(file)}, format = 'newline_delimited', columns = ${columns}, ignore_errors = true)
     WHERE runId IS NOT NULL`,
  );
  return true;
}

/** Name under which the warehouse is attached in a query session. */
export const WAREHOUSE_ALIAS = 'warehouse';

/**
 * Makes every layer visible as schemas of a query session: `bronze.<dataset>`, `silver.<dataset>`,
 * `quarantine.<dataset>`, `duplicates.<dataset>` as views over the lake's Parquet files, and
 * `gold.<model>` from the warehouse, attached read-only, and `ops.runs` (the run log). A dataset with no files yet has no view.
 * Returns what was made visible and, when the warehouse could not be attached, why.
 */
export async function attachLayers(
  engine: SqlSession,
  project: PipelineProject,
  storage: Storage,
  sql = '',
): Promise<{ entries: CatalogEntry[]; goldUnavailable?: string }> {
  const entries: CatalogEntry[] = [];
  for (const schema of ['bronze', 'silver', 'quarantine', 'duplicates', 'gold'] as const) {
    await engine.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  }
  const events = project.config.events.dataset;
  const layers: [CatalogEntry['schema'], string, CatalogEntry['kind']][] = [
    ['bronze', events, 'events'],
    ['silver', events, 'events'],
    ['quarantine', events, 'events'],
    ['duplicates', events, 'events'],
    ...project.config.reference.flatMap((r) => [
      ['bronze', r.dataset, 'reference'] as [CatalogEntry['schema'], string, CatalogEntry['kind']],
      ['silver', r.dataset, 'reference'] as [CatalogEntry['schema'], string, CatalogEntry['kind']],
    ]),
  ];
  for (const [schema, name, kind] of layers) {
    if (kind === 'events' && schema !== 'bronze') {
      // silver, quarantine and duplicates are Delta tables: read exactly their current snapshot.
      const rel = await layerRelation(project, storage, engine, schema as EventLayer);
      if (!rel) continue;
      await engine.exec(`CREATE OR REPLACE VIEW ${schema}.${quoteIdent(name)} AS SELECT * FROM ${rel}`);
      entries.push({ schema, name, kind });
      continue;
    }
    const files = await storage.list(`${schema}/${name}`);
    if (files.length === 0) continue;
    const hive = files.some((f) => f.key.includes('='));
    const glob = `${storage.uri(`${schema}/${name}`)}/**/*.parquet`;
    await engine.exec(
      `CREATE OR REPLACE VIEW ${schema}.${quoteIdent(name)} AS SELECT * FROM read_parquet(${quoteLiteral(glob)}, union_by_name = true, hive_partitioning = ${hive})`,
    );
    entries.push({ schema, name, kind });
  }
  await attachTimeTravel(engine, project, storage, sql);
  if (await attachRunLog(engine, project)) entries.push({ schema: 'ops', name: 'runs', kind: 'runlog' });
  let goldUnavailable: string | undefined;
  if (existsSync(project.paths.warehouse)) {
    try {
      await engine.exec(`ATTACH ${quoteLiteral(project.paths.warehouse)} AS ${WAREHOUSE_ALIAS} (READ_ONLY)`);
      const tables = await engine.all<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = 'gold' ORDER BY 1`,
        [WAREHOUSE_ALIAS],
      );
      for (const t of tables) {
        await engine.exec(
          `CREATE OR REPLACE VIEW gold.${quoteIdent(t.table_name)} AS SELECT * FROM ${WAREHOUSE_ALIAS}.gold.${quoteIdent(t.table_name)}`,
        );
        entries.push({ schema: 'gold', name: t.table_name, kind: 'model' });
      }
    } catch (err) {
      goldUnavailable = (err as Error).message;
    }
  } else {
    goldUnavailable = 'the warehouse does not exist yet (run load and build)';
  }
  return { entries, goldUnavailable };
}
