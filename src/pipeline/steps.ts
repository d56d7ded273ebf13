import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runDbt } from '../build/dbt/index.ts';
import { MedallionError } from '../core/errors.ts';
import { writeTextAtomic } from '../core/fs-atomic.ts';
import { progress } from '../core/logger.ts';
import { type IngestRunOptions, type IngestRunResult, runIngest } from '../ingest/ingest-run.ts';
import { type LoadResult, runLoad } from '../load/load-job.ts';
import { loggedRun } from '../ops/run-log.ts';
import { type RetryResult, retryQuarantine } from '../refine/quarantine-retry.ts';
import { type RefineResult, runRefine } from '../refine/refine-job.ts';
import { type DateRange, type ReplayResult, runReplay } from '../refine/replay-job.ts';
import type { PipelineContext } from './context.ts';

/** The ingest job: reference files, then the event stream, into bronze (see `runIngest`). */
export function ingestStep(ctx: PipelineContext, options: IngestRunOptions): Promise<IngestRunResult> {
  return runIngest(ctx, options);
}

/** The refine job: bronze → silver, quarantine, duplicates. */
export function refineStep(ctx: PipelineContext, parentRunId?: string): Promise<RefineResult> {
  return loggedRun(ctx.project.paths, 'refine', () => runRefine(ctx.project, ctx.storage, ctx.engine), parentRunId);
}

/** The load job: silver → warehouse. */
export function loadStep(ctx: PipelineContext, parentRunId?: string): Promise<LoadResult> {
  return loggedRun(
    ctx.project.paths,
    'load',
    async () => runLoad(ctx.project, ctx.storage, await ctx.warehouse(), ctx.engine),
    parentRunId,
  );
}

/** Options of the gold build step. */
export interface BuildStepOptions {
  /** `build` (models, snapshots, tests), `run` (models only) or `test` (tests only). */
  readonly command: 'build' | 'run' | 'test';
  readonly select?: readonly string[];
  /**
   * Merge this build's node results into the previous run_results.json instead of replacing it, so
   * that the pipeline's gold target keeps the latest result of every node (continuous mode's
   * partial cycles build a few models; status, metrics and the dashboard read the whole picture).
   */
  readonly mergeResults?: boolean;
}

/** What the gold build did. */
export interface BuildStepResult {
  readonly success: boolean;
  readonly models: number;
  readonly snapshots: number;
  readonly tests: { readonly pass: number; readonly warn: number; readonly fail: number };
  readonly errors: number;
  readonly skipped: number;
  readonly elapsedS: number;
  readonly failures: readonly string[];
}

/**
 * The gold build: runs the project's dbt-format gold project with Medallion's runner on the
 * pipeline's warehouse, writing run_results.json and manifest.json under the data directory.
 * A failed model or test makes the step fail (after everything that could run has run).
 */
export function buildStep(
  ctx: PipelineContext,
  options: BuildStepOptions,
  parentRunId?: string,
): Promise<BuildStepResult> {
  return loggedRun(
    ctx.project.paths,
    options.command === 'test' ? 'test' : 'build',
    async () => {
      const previous = options.mergeResults ? await readRunResults(ctx.project.paths.goldTarget) : undefined;
      const r = await runDbt({
        command: options.command,
        projectDir: ctx.project.resolve(ctx.project.config.gold.project),
        targetPath: ctx.project.paths.goldTarget,
        warehouse: await ctx.warehouse(),
        select: options.select,
        onEvent: (line) => progress(line),
      });
      if (previous) await mergeRunResults(ctx.project.paths.goldTarget, previous);
      const by = (type: string, ...statuses: string[]) =>
        r.results.filter((n) => n.resourceType === type && statuses.includes(n.status)).length;
      const result: BuildStepResult = {
        success: r.success,
        models: by('model', 'success'),
        snapshots: by('snapshot', 'success'),
        tests: { pass: by('test', 'pass'), warn: by('test', 'warn'), fail: by('test', 'fail', 'error') },
        errors: r.results.filter((n) => n.status === 'error').length,
        skipped: r.results.filter((n) => n.status === 'skipped').length,
        elapsedS: r.elapsedS,
        failures: r.results
          .filter((n) => n.status === 'error' || n.status === 'fail')
          .map((n) => `${n.name}: ${n.message}`),
      };
      if (!r.success) {
        throw new MedallionError(
          result.errors > 0 ? 'MDL_DBT_RUN' : 'MDL_DBT_TEST_FAILED',
          `gold ${options.command} failed: ${result.failures.slice(0, 3).join('; ')}${result.failures.length > 3 ? ` (+${result.failures.length - 3} more)` : ''}.`,
          {
            hint: `See ${ctx.project.paths.goldTarget}/run_results.json and the compiled SQL beside it; fix the model or the data, then build again.`,
            details: { result },
          },
        );
      }
      return result;
    },
    parentRunId,
  );
}

/** `replay`: rebuild silver for a range of event dates from bronze, reload those dates, rebuild gold. */
export function replayStep(
  ctx: PipelineContext,
  range: DateRange,
  parentRunId?: string,
): Promise<ReplayResult & { reloaded: number; gold: BuildStepResult }> {
  return loggedRun(
    ctx.project.paths,
    'replay',
    async (runId) => {
      const replayed = await runReplay(ctx.project, ctx.storage, ctx.engine, range);
      const loaded = await runLoad(ctx.project, ctx.storage, await ctx.warehouse(), ctx.engine);
      const gold = await buildStep(ctx, { command: 'build' }, runId);
      return { ...replayed, reloaded: loaded.datasets[ctx.project.config.events.dataset]?.rows ?? 0, gold };
    },
    parentRunId,
  );
}

/** `quarantine --retry`: re-refine quarantined records against the current contract, then load and build gold. */
export function retryStep(
  ctx: PipelineContext,
  parentRunId?: string,
): Promise<RetryResult & { gold: BuildStepResult | null }> {
  return loggedRun(
    ctx.project.paths,
    'quarantine-retry',
    async (runId) => {
      const r = await retryQuarantine(ctx.project, ctx.storage, ctx.engine);
      if (r.silver === 0) return { ...r, gold: null };
      await runLoad(ctx.project, ctx.storage, await ctx.warehouse(), ctx.engine);
      return { ...r, gold: await buildStep(ctx, { command: 'build' }, runId) };
    },
    parentRunId,
  );
}

interface RunResultsDoc {
  readonly results: readonly { readonly unique_id: string }[];
  readonly [key: string]: unknown;
}

async function readRunResults(targetPath: string): Promise<RunResultsDoc | undefined> {
  try {
    return JSON.parse(await readFile(join(targetPath, 'run_results.json'), 'utf8')) as RunResultsDoc;
  } catch {
    return undefined;
  }
}

/** Puts the nodes of the previous run_results.json that this build did not run back into the new one. */
async function mergeRunResults(targetPath: string, previous: RunResultsDoc): Promise<void> {
  const current = await readRunResults(targetPath);
  if (!current) return;
  const ran = new Set(current.results.map((r) => r.unique_id));
  const kept = previous.results.filter((r) => !ran.has(r.unique_id));
  if (kept.length === 0) return;
  await writeTextAtomic(
    join(targetPath, 'run_results.json'),
    `${JSON.stringify({ ...current, results: [...kept, ...current.results] }, null, 2)}\n`,
  );
}
