import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DataPaths, REPO_ROOT } from '../config/project.ts';
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

let version: string | undefined;

/** Medallion's version (package.json), recorded with every run. */
export async function medallionVersion(): Promise<string> {
  if (version === undefined) {
    try {
      const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version?: string };
      version = pkg.version ?? 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

/** The run log file: one JSON object per line, appended, never rewritten. */
export function runLogFile(paths: DataPaths): string {
  return join(paths.runLog, 'runs.jsonl');
}

/**
 * Appends an entry to the run log (JSON lines under the data directory), as one write. A process
 * killed in the middle of a write leaves a line without its newline: the next append first ends
 * that line, so the torn fragment stays a line of its own (readers skip it) and no entry after it
 * is lost.
 */
export async function appendRun(paths: DataPaths, entry: Omit<RunLogEntry, 'version'>): Promise<void> {
  await mkdir(paths.runLog, { recursive: true });
  const line = `${JSON.stringify({ ...entry, version: await medallionVersion() })}\n`;
  const fh = await open(runLogFile(paths), 'a+');
  try {
    const { size } = await fh.stat();
    let torn = false;
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      torn = last[0] !== 0x0a;
    }
    await fh.appendFile(torn ? `\n${line}` : line);
  } finally {
    await fh.close();
  }
}

/** Entries appended to the run log after byte `from`, and where the next read starts. */
export interface RunLogTail {
  readonly entries: RunLogEntry[];
  readonly next: number;
}

/**
 * Reads the complete lines of the run log from byte `from` on (a line not yet ended by a newline
 * is left for the next read; lines that do not parse are skipped).
 */
export async function readRunsFrom(paths: DataPaths, from: number): Promise<RunLogTail> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(runLogFile(paths), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], next: 0 };
    throw err;
  }
  try {
    const { size } = await fh.stat();
    const start = size < from ? 0 : from;
    if (size === start) return { entries: [], next: start };
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    const end = buf.lastIndexOf(0x0a);
    if (end < 0) return { entries: [], next: start };
    const entries: RunLogEntry[] = [];
    for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        entries.push(JSON.parse(line) as RunLogEntry);
      } catch {}
    }
    return { entries, next: start + end + 1 };
  } finally {
    await fh.close();
  }
}

/** Reads the newest `limit` entries of the run log (oldest first). */
export async function readRuns(paths: DataPaths, limit = 50): Promise<RunLogEntry[]> {
  let text: string;
  try {
    text = await readFile(runLogFile(paths), 'utf8');
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
    await endSuccess(paths, base, started, new Date(), result);
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

/**
 * Records a job that has already run (it was only known to be worth a record once it had: continuous
 * mode's ingest of a micro-batch, which is logged when it brought records): the run log gets it and
 * the job observers hear its start and end, in that order.
 */
export async function recordFinishedRun(
  paths: DataPaths,
  job: string,
  started: Date,
  finished: Date,
  result: Record<string, unknown> | object,
  parentRunId?: string,
): Promise<string> {
  const runId = randomUUID();
  const base = { runId, job, parentRunId, startedAt: started.toISOString() };
  await emitJobStart(base);
  await endSuccess(paths, base, started, finished, result);
  return runId;
}

/** A job's successful end: its run-log line (with the result as counts), then the observers. */
async function endSuccess(
  paths: DataPaths,
  base: { runId: string; job: string; parentRunId?: string | undefined; startedAt: string },
  started: Date,
  finished: Date,
  result: Record<string, unknown> | object,
): Promise<void> {
  const end = {
    ...base,
    finishedAt: finished.toISOString(),
    status: 'success' as const,
    durationMs: finished.getTime() - started.getTime(),
  };
  await appendRun(paths, { ...end, counts: result as Record<string, unknown> });
  await emitJobEnd({ ...end, result });
}
