import { loggedRun } from '../ops/run-log.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import { createEventSource, type StartFrom } from '../sources/event-source.ts';
import { IngestSession } from './ingest-job.ts';
import { ingestReference, type ReferenceIngestResult } from './reference-ingest.ts';

/** Options of the `ingest` command's job. */
export interface IngestRunOptions {
  /** Kafka brokers; undefined → MEDALLION_KAFKA_BROKERS, else the landing directory. */
  readonly kafka?: string;
  /** Process what is available now and return; else keep going until `signal` aborts. */
  readonly once: boolean;
  readonly startFrom?: StartFrom;
  readonly signal?: AbortSignal;
  /** Connect attempts before giving up (default: 5 with `once`, unbounded otherwise). */
  readonly connectAttempts?: number;
}

/** Counts of one `ingest` run. */
export interface IngestRunResult {
  readonly reference: ReferenceIngestResult[];
  readonly events: { readonly batches: number; readonly records: number; readonly files: number };
}

/**
 * The `ingest` command's job (kafka_to_bronze, logged in the run log): reference files, then the
 * event stream. Connecting retries with exponential backoff while the broker is unreachable (a
 * bounded number of attempts with `once`); while running continuously, a broker that goes away
 * makes the session reconnect rather than fail. SIGINT/SIGTERM (`signal`) finish the batch in hand:
 * it is written and acknowledged, then the source leaves its consumer group.
 */
export function runIngest(ctx: PipelineContext, options: IngestRunOptions): Promise<IngestRunResult> {
  return loggedRun(ctx.project.paths, 'ingest', async () => {
    const reference = await ingestReference(ctx.project, ctx.storage, ctx.engine);
    const make = () => createEventSource(ctx.project, options.kafka, { startFrom: options.startFrom });
    const again = () => createEventSource(ctx.project, options.kafka);
    const session = await IngestSession.open(ctx.project, make, ctx.storage, ctx.engine, {
      reconnect: again,
      connectAttempts: options.connectAttempts ?? (options.once ? 5 : undefined),
      signal: options.signal,
    });
    try {
      const r = await session.pump({ until: options.once ? 'caught-up' : 'forever', signal: options.signal });
      return { reference, events: { batches: r.batches, records: r.records, files: r.files.length } };
    } finally {
      await session.close();
    }
  });
}
