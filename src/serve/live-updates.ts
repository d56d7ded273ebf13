import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PipelineProject } from '../config/project.ts';
import { readRuns } from '../ops/run-log.ts';

/** What the pipeline says about the newest data, beside gold's own figures. */
export interface LiveFacts {
  /** Events refined per minute over the last `windowMinutes` (from the run log). */
  readonly eventsPerMinute: number;
  readonly windowMinutes: number;
  /** The newest micro-batch that brought events: when it started and finished, and its records. */
  readonly lastBatch: { readonly startedAt: string; readonly finishedAt: string; readonly records: number } | null;
  /** When gold was last built (run_results.json `generated_at`). */
  readonly goldBuiltAt: string | null;
  /**
   * How far gold lags the newest events, in seconds: from the start of the newest micro-batch to
   * the build that includes it, or, while that batch is not built yet, from its start to now.
   */
  readonly lagSeconds: number | null;
  /** True while the newest micro-batch is not in gold yet. */
  readonly pending: boolean;
}

const WINDOW_MINUTES = 10;

/** Reads {@link LiveFacts} from the run log and the gold build's run_results.json. */
export async function readLiveFacts(project: PipelineProject, now = new Date()): Promise<LiveFacts> {
  const runs = await readRuns(project.paths, 400);
  const refines = runs.filter(
    (r) => r.job === 'refine' && r.status === 'success' && Number(r.counts?.['records'] ?? 0) > 0,
  );
  const since = now.getTime() - WINDOW_MINUTES * 60_000;
  const recent = refines
    .filter((r) => Date.parse(r.finishedAt) >= since)
    .reduce((n, r) => n + Number(r.counts?.['records'] ?? 0), 0);
  const last = refines.at(-1);
  const builtAt = await goldBuiltAt(project);
  let lagSeconds: number | null = null;
  let pending = false;
  if (last) {
    const start = Date.parse(last.startedAt);
    const built = builtAt ? Date.parse(builtAt) : Number.NaN;
    pending = !(built >= Date.parse(last.finishedAt));
    lagSeconds = Math.max(0, ((pending ? now.getTime() : built) - start) / 1000);
  }
  return {
    eventsPerMinute: recent / WINDOW_MINUTES,
    windowMinutes: WINDOW_MINUTES,
    lastBatch: last
      ? { startedAt: last.startedAt, finishedAt: last.finishedAt, records: Number(last.counts?.['records'] ?? 0) }
      : null,
    goldBuiltAt: builtAt,
    lagSeconds,
    pending,
  };
}

async function goldBuiltAt(project: PipelineProject): Promise<string | null> {
  try {
    const parsed = JSON.parse(await readFile(join(project.paths.goldTarget, 'run_results.json'), 'utf8')) as {
      metadata?: { generated_at?: string };
    };
    return parsed.metadata?.generated_at ?? null;
  } catch {
    return null;
  }
}

async function fileStamp(path: string): Promise<string> {
  const s = await stat(path).catch(() => undefined);
  return s ? `${s.size}:${s.mtimeMs}` : '-';
}

/**
 * Watches for new gold builds and tells subscribers: polls the gold build's run_results.json (written
 * when a build ends) and the warehouse file with its write-ahead log. A change of run_results.json is
 * told at once; a change of the warehouse alone once it has been still for one poll (so a build in
 * progress is told once, at its end).
 */
export class GoldWatcher {
  readonly #paths: readonly string[];
  readonly #intervalMs: number;
  readonly #listeners = new Set<(stamp: string) => void>();
  #timer: NodeJS.Timeout | undefined;
  #results = '';
  #warehouse = '';
  #warehouseSeen = '';
  #version = 0;

  constructor(project: PipelineProject, warehousePath: string, intervalMs = 500) {
    this.#paths = [join(project.paths.goldTarget, 'run_results.json'), warehousePath, `${warehousePath}.wal`];
    this.#intervalMs = intervalMs;
  }

  /** A number that grows with each change told. */
  get version(): number {
    return this.#version;
  }

  /** Calls `listener` on each new build; returns the function that stops it. */
  subscribe(listener: (stamp: string) => void): () => void {
    this.#listeners.add(listener);
    if (!this.#timer) void this.#start();
    return () => {
      this.#listeners.delete(listener);
    };
  }

  async #start(): Promise<void> {
    [this.#results, this.#warehouse] = await this.#read();
    this.#warehouseSeen = this.#warehouse;
    this.#timer = setInterval(() => void this.#poll(), this.#intervalMs);
    this.#timer.unref();
  }

  async #read(): Promise<[string, string]> {
    const [results, db, wal] = await Promise.all(this.#paths.map(fileStamp));
    return [results!, `${db}|${wal}`];
  }

  async #poll(): Promise<void> {
    const [results, warehouse] = await this.#read();
    let changed = false;
    if (results !== this.#results) {
      this.#results = results;
      this.#warehouse = warehouse;
      changed = true;
    } else if (warehouse !== this.#warehouse && warehouse === this.#warehouseSeen) {
      this.#warehouse = warehouse;
      changed = true;
    }
    this.#warehouseSeen = warehouse;
    if (!changed) return;
    this.#version++;
    for (const l of this.#listeners) l(`${this.#version}`);
  }

  /** Stops polling. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }
}
