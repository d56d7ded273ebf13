import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { PipelineProject } from '../config/project.ts';
import { MedallionError } from '../core/errors.ts';
import { progress } from '../core/logger.ts';
import { quoteLiteral, type SqlSession } from '../engine/duckdb.ts';
import type { Storage } from '../storage/storage.ts';

/** What reference ingestion did for one dataset. */
export interface ReferenceIngestResult {
  readonly dataset: string;
  readonly key: string;
  readonly rows: number;
  /** False when bronze already held this exact file (same content hash). */
  readonly written: boolean;
}

/**
 * Ingests the project's reference CSV files into bronze as received: every column kept as the text
 * in the file, plus the source file, its content hash, the row number and the ingest time. A file
 * whose content is already in bronze is skipped, so re-running changes nothing.
 */
export async function ingestReference(
  project: PipelineProject,
  storage: Storage,
  engine: SqlSession,
): Promise<ReferenceIngestResult[]> {
  const results: ReferenceIngestResult[] = [];
  for (const ref of project.config.reference) {
    const path = project.resolve(ref.file);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new MedallionError(
        'MDL_REFERENCE_INVALID',
        `Reference file ${path} of dataset ${ref.dataset} cannot be read.`,
        {
          hint: 'Check the `reference` entries of medallion.yml point at existing CSV files.',
          cause: err,
        },
      );
    }
    const sha = createHash('sha256').update(bytes).digest('hex');
    const name = basename(path).replace(/\.csv$/i, '');
    const key = `bronze/${ref.dataset}/${name}-${sha.slice(0, 16)}.parquet`;
    if (await storage.exists(key)) {
      const rows = await engine.all<{ n: number }>(
        `SELECT count(*)::BIGINT AS n FROM read_parquet(${quoteLiteral(storage.uri(key))})`,
      );
      results.push({ dataset: ref.dataset, key, rows: rows[0]!.n, written: false });
      continue;
    }
    const ingestedAt = new Date().toISOString().replace('T', ' ').replace('Z', '');
    try {
      await storage.putAtomic(key, async (tmp) => {
        await engine.exec(
          `COPY (SELECT *, ${quoteLiteral(basename(path))} AS _source_file, ${quoteLiteral(sha)} AS _source_sha256,
                  row_number() OVER () AS _source_row, TIMESTAMP '${ingestedAt}' AS _ingested_at
                FROM read_csv(${quoteLiteral(path)}, header = true, all_varchar = true, strict_mode = true))
           TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION zstd)`,
        );
      });
    } catch (err) {
      if (err instanceof MedallionError && err.code === 'MDL_WAREHOUSE_SQL') {
        throw new MedallionError(
          'MDL_REFERENCE_INVALID',
          `Reference file ${path} is not a readable CSV: ${err.message}`,
          {
            hint: 'Fix the file (a header row, consistent columns, balanced quotes) and ingest again.',
            cause: err,
          },
        );
      }
      throw err;
    }
    const rows = await engine.all<{ n: number }>(
      `SELECT count(*)::BIGINT AS n FROM read_parquet(${quoteLiteral(storage.uri(key))})`,
    );
    progress(`ingest: reference ${ref.dataset}: ${rows[0]!.n} rows → ${key}`);
    results.push({ dataset: ref.dataset, key, rows: rows[0]!.n, written: true });
  }
  return results;
}
