import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataPaths } from '../config/project.ts';
import { emitJobEnd, emitJobStart } from './job-events.ts';

/** One job run (or micro-batch) in the run log. */
export interface RunLogEntry {
  readonly runId: string;
  readonly job: string;
  readonly parentRunId?: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly status: 'success' | 'failed';
  readonly durationMs: number;
  readonly counts?: Readonly<Record<string, unknown>>;
  readonly error?: { readonly code: string; readonly message: string };
  readonly version: string;
}

const VERSION = '0.1.0';

function logFile(paths: DataPaths): string {
  return join(paths.runLog, 'runs.jsonl');
}

/** Appends an entry to the run log (JSON lines under the data directory). */
export async function appendRun(paths: DataPaths, entry: Omit<RunLogEntry, 'version'>): Promise<void> {
  await mkdir(paths.runLog, { recursive: true });
  await appendFile(logFile(paths), `${JSON.stringify({ ...entry, version: VERSION })}\n`);
}

/** Reads the newest `limit` entries of the run log (oldest first). */
export async function readRuns(paths: DataPaths, limit = 50): Promise<RunLogEntry[]> {
  let text: string;
  try {
    text = await readFile(logFile(paths), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: RunLogEntry[] = [];
  for (const line of text.split('\n').slice(-limit - 1)) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as RunLogEntry);
    } catch {
      // A line cut short by a crash is skipped; the next append starts a fresh line.
    }
  }
  return out.slice(-limit);
}

/**
 * Runs `fn` as a logged job: the run log gets its outcome, counts and duration either way, and the
 * job observers (src/ops/job-events.ts) hear its start and end.
 */
export async function loggedRun<T extends Record<string, unknown> | object>(
  paths: DataPaths,
  job: string,
  fn: (runId: string) => Promise<T>,
  parentRunId?: string,
): Promise<T> {
  const runId = randomUUID();
  const started = new Date();
  const base = { runId, job, parentRunId, startedAt: started.toISOString() };
  await emitJobStart(base);
  try {
    const result = await fn(runId);
    const finished = new Date();
    const end = {
      ...base,
      finishedAt: finished.toISOString(),
      status: 'success' as const,
      durationMs: finished.getTime() - started.getTime(),
    };
    await appendRun(paths, { ...end, counts: result as Record<string, unknown> });
    await emitJobEnd({ ...end, result });
    return result;
  } catch (err) {
    const finished = new Date();
    const e = err as { code?: string; message?: string };
    const end = {
      ...base,
      finishedAt: finished.toISOString(),
      status: 'failed' as const,
      durationMs: finished.getTime() - started.getTime(),
      error: { code: e.code ?? 'MDL_INTERNAL', message: e.message ?? String(err) },
    };
    await appendRun(paths, end).catch(() => {});
    await emitJobEnd(end);
    throw err;
  }
}
