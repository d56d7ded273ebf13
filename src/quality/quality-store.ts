import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataPaths } from '../config/project.ts';
import { writeTextAtomic } from '../core/fs-atomic.ts';
import type { QualityReport } from './run-checks.ts';

/**
 * Where check results live, under the data directory: `quality/latest.json` (the newest report,
 * replaced atomically: readers see a whole report or the previous one) and `quality/history.jsonl`
 * (every report, one per line). `status`, the dashboard and lineage all read `latest.json`.
 */
export function qualityFiles(paths: DataPaths): {
  readonly dir: string;
  readonly latest: string;
  readonly history: string;
} {
  const dir = join(paths.root, 'quality');
  return { dir, latest: join(dir, 'latest.json'), history: join(dir, 'history.jsonl') };
}

/** Stores a report as the latest and appends it to the history. */
export async function writeQualityReport(paths: DataPaths, report: QualityReport): Promise<void> {
  const files = qualityFiles(paths);
  await mkdir(files.dir, { recursive: true });
  await writeTextAtomic(files.latest, `${JSON.stringify(report, null, 2)}\n`);
  await appendFile(files.history, `${JSON.stringify(report)}\n`);
}

/** The latest stored report, or null when checks never ran in this data directory. */
export async function readQualityReport(paths: DataPaths): Promise<QualityReport | null> {
  try {
    return JSON.parse(await readFile(qualityFiles(paths).latest, 'utf8')) as QualityReport;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
