import { IngestSession } from '../ingest/ingest-job.ts';
import { ingestReference, type ReferenceIngestResult } from '../ingest/reference-ingest.ts';
import { type LoadResult, runLoad } from '../load/load-job.ts';
import { loggedRun } from '../ops/run-log.ts';
import { type RefineResult, runRefine } from '../refine/refine-job.ts';
import { createEventSource } from '../sources/event-source.ts';
import type { PipelineContext } from './context.ts';

/** Options of the ingest step. */
export interface IngestStepOptions {
  /** Kafka brokers; undefined → MEDALLION_KAFKA_BROKERS, else the landing directory. */
  readonly kafka?: string;
  readonly once: boolean;
  readonly signal?: AbortSignal;
}

/** Counts of one ingest step. */
export interface IngestStepResult {
  readonly reference: ReferenceIngestResult[];
  readonly events: { readonly batches: number; readonly records: number; readonly files: number };
}

/** The ingest job: reference files, then the event stream, into bronze. */
export function ingestStep(ctx: PipelineContext, options: IngestStepOptions, parentRunId?: string): Promise<IngestStepResult> {
  return loggedRun(
    ctx.project.paths,
    'ingest',
    async () => {
      const reference = await ingestReference(ctx.project, ctx.storage, ctx.engine);
      const session = await IngestSession.open(ctx.project, await createEventSource(ctx.project, options.kafka), ctx.storage, ctx.engine);
      try {
        const r = await session.pump({ until: options.once ? 'caught-up' : 'forever', signal: options.signal });
        return { reference, events: { batches: r.batches, records: r.records, files: r.files.length } };
      } finally {
        await session.close();
      }
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
  return loggedRun(ctx.project.paths, 'load', async () => runLoad(ctx.project, ctx.storage, await ctx.warehouse()), parentRunId);
}
