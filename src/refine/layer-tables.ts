import type { PipelineProject } from '../config/project.ts';
import type { SqlSession } from '../engine/duckdb.ts';
import type { DeltaColumn } from '../lake/delta/delta-schema.ts';
import { DeltaTable } from '../lake/delta/delta-table.ts';
import type { Storage } from '../storage/storage.ts';

/** The Delta tables refine writes for an event dataset. */
export type EventLayer = 'silver' | 'quarantine' | 'duplicates';

/** Partition columns per layer: silver by event date; the others are small and unpartitioned. */
const PARTITIONS: Readonly<Record<EventLayer, readonly string[]>> = {
  silver: ['event_date'],
  quarantine: [],
  duplicates: [],
};

/** Storage path of a layer's table of the project's event dataset. */
export function layerTablePath(project: PipelineProject, layer: EventLayer): string {
  return `${layer}/${project.config.events.dataset}`;
}

/** Opens a layer's table when it exists (undefined otherwise): for readers. */
export async function openLayerTable(
  project: PipelineProject,
  storage: Storage,
  engine: SqlSession,
  layer: EventLayer,
): Promise<DeltaTable | undefined> {
  const path = layerTablePath(project, layer);
  return (await DeltaTable.exists(storage, path)) ? DeltaTable.open(storage, path, engine) : undefined;
}

/**
 * Opens (creating when missing) a layer's table for rows shaped like `selectSql`, and evolves its
 * schema when the rows carry columns the table lacks (a contract that gained a field): new columns
 * are added as nullable, in one metaData commit, before the rows are appended.
 */
export async function layerTableFor(
  project: PipelineProject,
  storage: Storage,
  engine: SqlSession,
  layer: EventLayer,
  selectSql: string,
): Promise<DeltaTable> {
  const columns: DeltaColumn[] = (
    await engine.all<{ column_name: string; column_type: string }>(`DESCRIBE ${selectSql}`)
  ).map((c) => ({ name: c.column_name, type: c.column_type, nullable: true }));
  const table = await DeltaTable.openOrCreate(storage, layerTablePath(project, layer), engine, {
    schema: columns,
    partitionColumns: PARTITIONS[layer],
    name: `${layer}.${project.config.events.dataset}`,
    description: `${layer} of ${project.config.events.dataset}, written by Medallion's refine`,
  });
  const snapshot = await table.snapshot();
  const have = new Set(snapshot.columns.map((c) => c.name));
  const missing = columns.filter((c) => !have.has(c.name));
  if (missing.length > 0) {
    await table.commit({
      schema: [...snapshot.columns, ...missing],
      operation: 'ADD COLUMNS',
      operationParameters: { columns: missing.map((c) => c.name) },
      readVersion: snapshot.version,
    });
  }
  return table;
}

/**
 * A DuckDB relation with the rows of a layer's table (at `version`, default latest), or undefined
 * when the table does not exist yet.
 */
export async function layerRelation(
  project: PipelineProject,
  storage: Storage,
  engine: SqlSession,
  layer: EventLayer,
  version?: number,
): Promise<string | undefined> {
  const table = await openLayerTable(project, storage, engine, layer);
  return table ? table.relation(version) : undefined;
}
