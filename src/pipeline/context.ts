import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadProject, type PipelineProject } from '../config/project.ts';
import { openDuckDb, type SqlSession } from '../engine/duckdb.ts';
import { LocalStorage } from '../storage/local/local-storage.ts';
import type { Storage } from '../storage/storage.ts';
import { DuckDbWarehouse } from '../warehouse/duckdb/duckdb-warehouse.ts';

/** Everything a pipeline job needs: the project, the lake storage, an engine session and the warehouse. */
export interface PipelineContext {
  readonly project: PipelineProject;
  readonly storage: Storage;
  /** In-memory DuckDB session for set-based work over lake files. */
  readonly engine: SqlSession;
  /** Opens the warehouse (read-write), reusing one already open in this context. */
  warehouse(): Promise<DuckDbWarehouse>;
  /** Closes the warehouse so that other processes can open it (DuckDB files have one writer). */
  releaseWarehouse(): Promise<void>;
  close(): Promise<void>;
}

/** Opens a pipeline context from `--project` / `--data-dir` (or their defaults). */
export async function openContext(options: { projectDir?: string; dataDir?: string } = {}): Promise<PipelineContext> {
  const project = loadProject(options);
  await mkdir(project.paths.lake, { recursive: true });
  const storage = new LocalStorage(project.paths.lake);
  const engine = await openDuckDb(':memory:', {
    memoryLimit: process.env.MEDALLION_MEMORY_LIMIT ?? '4GB',
  });
  await engine.exec(`SET temp_directory = '${join(project.paths.root, 'tmp').replaceAll("'", "''")}'`);
  let wh: DuckDbWarehouse | undefined;
  return {
    project,
    storage,
    engine,
    async warehouse() {
      wh ??= await DuckDbWarehouse.openWithRetry(project.paths.warehouse);
      return wh;
    },
    async releaseWarehouse() {
      await wh?.close();
      wh = undefined;
    },
    async close() {
      await wh?.close();
      wh = undefined;
      await engine.close();
    },
  };
}
