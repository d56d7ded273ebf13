import { randomUUID } from 'node:crypto';
import { asMedallionError } from '../core/errors.ts';
import { logger, progress } from '../core/logger.ts';
import { sleep } from '../core/sleep.ts';
import { IngestSession } from '../ingest/ingest-job.ts';
import { ingestReference } from '../ingest/reference-ingest.ts';
import { SILVER_SCHEMA } from '../load/load-job.ts';
import { emitJobEnd, emitJobStart } from '../ops/job-events.ts';
import { appendRun, loggedRun, recordFinishedRun } from '../ops/run-log.ts';
import { type CheckStepResult, checkStep, checkSummary } from '../quality/check-step.ts';
import type { QualityReport } from '../quality/run-checks.ts';
import { createEventSource } from '../sources/event-source.ts';
import type { PipelineContext } from './context.ts';
import { type BuildStepResult, buildStep, loadStep, refineStep } from './steps.ts';

/** Longest wait between retries of a failing cycle. */
const MAX_RETRY_WAIT_MS = 60_000;

export interface RunPipelineOptions {
  /** Process what is available now and return (Spark's Trigger.AvailableNow); else micro-batches until aborted. */
  readonly once: boolean;
  /** Kafka brokers; undefined → MEDALLION_KAFKA_BROKERS, else the landing directory. */
  readonly kafka?: string;
  readonly signal?: AbortSignal;
  /** Called after each completed cycle (dashboards refresh on it). */
  readonly onCycle?: (cycle: CycleResult) => void;
}

/** What one cycle (ingest → refine → load → build) did. */
export interface CycleResult {
  readonly cycle: number;
  readonly ingested: number;
  readonly refined: {
    readonly silver: number;
    readonly quarantine: number;
    readonly duplicates: number;
    readonly late: number;
  };
  readonly build: BuildStepResult | null;
  /** The data-quality checks run after the build (a failing check fails the cycle instead). */
  readonly quality?: CheckStepResult;
}

/**
 * `run`: the four jobs chained. With `once`, ingests everything available at start, then refines,
 * loads and builds gold once. Without it, keeps the source connected and runs a cycle every
 * trigger interval: ingest until the source is idle, then refine, load and build when anything new
 * arrived. The warehouse is released between cycles so that readers (the dashboard, `query`) can
 * open it. Every cycle (job `run.cycle`, the parent of its refine, load and build) and the whole
 * run are written to the run log.
 */
export async function runPipeline(ctx: PipelineContext, options: RunPipelineOptions): Promise<CycleResult[]> {
  const runId = randomUUID();
  const started = new Date();
  const log = logger.child({ component: 'run', runId });
  const cycles: CycleResult[] = [];
  let failure: unknown;
  await emitJobStart({ runId, job: 'run', startedAt: started.toISOString() });
  try {
    let reference = await ingestReference(ctx.project, ctx.storage, ctx.engine);
    const make = () => createEventSource(ctx.project, options.kafka);
    const session = await IngestSession.open(ctx.project, make, ctx.storage, ctx.engine, {
      reconnect: options.once ? undefined : make,
      connectAttempts: options.once ? 5 : undefined,
      signal: options.signal,
    });
    try {
      const interval = ctx.project.config.run.triggerIntervalMs;
      let failures = 0;
      let lastCheck = performance.now();
      const builds: BuildPlan = { continuous: !options.once, lastFullBuild: undefined };
      for (let cycle = 1; !options.signal?.aborted; cycle++) {
        const cycleStart = performance.now();
        const pumpStarted = new Date();
        const ingested = await session.pump({
          until: options.once ? 'caught-up' : 'idle',
          maxMs: options.once ? undefined : interval,
          signal: options.signal,
        });
        const pumpEnded = new Date();
        if (options.signal?.aborted && !options.once) break;
        let wait = interval;
        if (ingested.records > 0 || cycle === 1 || failures > 0) {
          try {
            const result = await loggedRun(
              ctx.project.paths,
              'run.cycle',
              async (cycleRunId) => {
                if (ingested.records > 0 || reference.some((r) => r.written)) {
                  // The micro-batch's ingest, as its own job (run log, metrics, lineage), child of the cycle.
                  await recordFinishedRun(
                    ctx.project.paths,
                    'ingest',
                    pumpStarted,
                    pumpEnded,
                    {
                      reference,
                      events: { batches: ingested.batches, records: ingested.records, files: ingested.files.length },
                    },
                    cycleRunId,
                  );
                  reference = [];
                }
                return processCycle(ctx, cycle, ingested.records, cycleRunId, builds);
              },
              runId,
            );
            failures = 0;
            lastCheck = performance.now();
            cycles.push(result);
            options.onCycle?.(result);
          } catch (err) {
            if (options.once) throw err;
            const e = asMedallionError(err);
            failures++;
            wait = Math.min(interval * 2 ** failures, MAX_RETRY_WAIT_MS);
            progress(`run: cycle ${cycle} failed (${failures} in a row), next try in ${wait} ms: ${e.toUserLine()}`);
            log.error(
              { event: 'run.cycle.retrying', code: e.code, err: e.message, failures, waitMs: wait },
              'cycle failed',
            );
          }
        } else if (!options.once && performance.now() - lastCheck >= ctx.project.config.run.idleCheckIntervalMs) {
          // Nothing new: the checks still run now and then, so that a stream that stopped fails freshness.
          lastCheck = performance.now();
          await idleChecks(ctx, runId);
        }
        if (options.once) break;
        // Trigger interval as a processing-time trigger: the next cycle starts one interval after this one started.
        await sleep(failures > 0 ? wait : Math.max(0, wait - (performance.now() - cycleStart)), options.signal);
      }
    } finally {
      await session.close();
    }
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    const finished = new Date();
    const e = failure ? asMedallionError(failure) : undefined;
    const end = {
      runId,
      job: 'run',
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      status: e ? ('failed' as const) : ('success' as const),
      durationMs: finished.getTime() - started.getTime(),
      ...(e ? { error: { code: e.code, message: e.message } } : {}),
    };
    const counts = {
      mode: options.once ? 'once' : 'continuous',
      cycles: cycles.length,
      ingested: cycles.reduce((n, c) => n + c.ingested, 0),
      silver: cycles.reduce((n, c) => n + c.refined.silver, 0),
    };
    await appendRun(ctx.project.paths, { ...end, counts });
    await emitJobEnd({ ...end, result: counts });
    if (!options.once) progress(`run: stopped after ${cycles.length} cycle(s)`);
  }
  return cycles;
}

/** When the last whole gold build ran in this process (continuous mode builds partially in between). */
interface BuildPlan {
  readonly continuous: boolean;
  lastFullBuild: number | undefined;
}

async function processCycle(
  ctx: PipelineContext,
  cycle: number,
  ingested: number,
  runId: string,
  builds: BuildPlan,
): Promise<CycleResult> {
  const step = await refineStep(ctx, runId);
  const refined = { silver: step.silver, quarantine: step.quarantine, duplicates: step.duplicates, late: step.late };
  try {
    const loaded = await loadStep(ctx, runId);
    const events = ctx.project.config.events.dataset;
    if ((await (await ctx.warehouse()).columns(SILVER_SCHEMA, events)) === undefined) {
      // Nothing has arrived on the stream yet: gold's sources do not exist, so there is nothing to build.
      progress(`run: no ${events} in silver yet; gold is built after the first events arrive`);
      return {
        cycle,
        ingested,
        refined,
        build: null,
      };
    }
    const every = ctx.project.config.run.fullBuildIntervalMs;
    const now = performance.now();
    const full =
      !builds.continuous || every === 0 || builds.lastFullBuild === undefined || now - builds.lastFullBuild >= every;
    const changed = Object.entries(loaded.datasets)
      .filter(([, r]) => r.files > 0 || (r.reloadedPartitions ?? 0) > 0)
      .map(([d]) => d);
    let build: BuildStepResult | null = null;
    if (full) {
      build = await buildStep(ctx, { command: 'build' }, runId);
      builds.lastFullBuild = now;
    } else if (changed.length > 0) {
      // Only what the new silver rows can change: the models downstream of the changed datasets.
      build = await buildStep(
        ctx,
        { command: 'run', select: changed.map((d) => `source:${SILVER_SCHEMA}.${d}+`), mergeResults: true },
        runId,
      );
    }
    let quality: CheckStepResult | undefined;
    try {
      quality = (await checkStep(ctx, {}, runId)).summary;
    } catch (err) {
      // With --once a failed check fails the run. In continuous mode the cycle's data is committed and
      // stays so: the failure is reported (run log, status, dashboard) and the stream goes on.
      const e = asMedallionError(err);
      if (!builds.continuous || e.code !== 'MDL_CHECK_FAILED') throw err;
      progress(`run: cycle ${cycle}: ${e.toUserLine()}`);
      const report = (e.details as { report?: QualityReport }).report;
      quality = report ? checkSummary(report) : undefined;
    }
    return {
      cycle,
      ingested,
      refined,
      build,
      quality,
    };
  } finally {
    await ctx.releaseWarehouse();
  }
}

/** The data-quality checks of an idle moment of continuous mode: reported, never fatal. */
async function idleChecks(ctx: PipelineContext, runId: string): Promise<void> {
  try {
    await checkStep(ctx, {}, runId);
  } catch (err) {
    progress(`run: ${asMedallionError(err).toUserLine()}`);
  } finally {
    await ctx.releaseWarehouse();
  }
}
