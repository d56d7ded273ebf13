import { join } from 'node:path';
import { progress } from '../core/logger.ts';
import { type IngestResult, runIngest } from '../ingest/ingest-job.ts';
import { ingestReference, type ReferenceIngestResult } from '../ingest/reference-ingest.ts';
import { type LoadResult, runLoad } from '../load/load-job.ts';
import { loggedRun } from '../ops/run-log.ts';
import { type RefineResult, runRefine } from '../refine/refine-job.ts';
import { createEventSource } from '../sources/event-source.ts';
import type { PipelineContext } from './context.ts';

/** Options of the ingest step. */
export interface IngestStepOptions {
  /** Kafka brokers; undefined → the landing directory. */
  readonly kafka?: string;
  readonly once: boolean;
  readonly signal?: AbortSignal;
}

/** The ingest job: reference files, then the event stream, into bronze. */
export async function ingestStep(
  ctx: PipelineContext,
  options: IngestStepOptions,
  parentRunId?: string,
): Promise<{ reference: ReferenceIngestResult[]; events: Omit<IngestResult, 'files'> & { files: number } }> {
  return loggedRun(
    ctx.project.paths,
    'ingest',
    async () => {
      const reference = await ingestReference(ctx.project, ctx.storage, ctx.engine);
      const source = await createEventSource(ctx.project, options.kafka);
      const r = await runIngest(ctx.project, source, ctx.storage, ctx.engine, {
        once: options.once,
        signal: options.signal,
      });
      return { reference, events: { batches: r.batches, records: r.records, files: r.files.length } };
    },
    parentRunId,
  );
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
    async () => runLoad(ctx.project, ctx.storage, await ctx.warehouse()),
    parentRunId,
  );
}

/** Where the landing directory of the event dataset is. */
export function landingDir(ctx: PipelineContext): string {
  return join(ctx.project.paths.landing, ctx.project.config.events.dataset);
}

/** Prints a one-line progress message prefixed with the step name. */
export function stepProgress(step: string, message: string): void {
  progress(`${step}: ${message}`);
}
