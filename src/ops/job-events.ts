/**
 * Job lifecycle events: every job run that goes through `loggedRun` (ingest, refine, load, build,
 * test, replay, quarantine-retry) and the `run` pipeline itself announces its start and its end to
 * the observers registered here. Metrics, the run log table and OpenLineage subscribe; jobs do not
 * know who listens.
 *
 * Every start and end is also written to the structured log with a stable event code
 * (`<job>.started`, `<job>.completed`, `<job>.failed`; see LOG_EVENTS in src/core/logger.ts).
 */
import { logger } from '../core/logger.ts';

/** A job run has started. */
export interface JobStartEvent {
  readonly runId: string;
  readonly job: string;
  readonly parentRunId?: string;
  readonly startedAt: string;
}

/** A job run has ended, with its result (on success) or its error (on failure). */
export interface JobEndEvent extends JobStartEvent {
  readonly finishedAt: string;
  readonly status: 'success' | 'failed';
  readonly durationMs: number;
  /** The job's result object (counts etc.) when it succeeded. */
  readonly result?: unknown;
  readonly error?: { readonly code: string; readonly message: string };
}

/** Something that wants to hear about job runs. Errors it throws are logged, never fail the job. */
export interface JobObserver {
  onStart?(event: JobStartEvent): void | Promise<void>;
  onEnd?(event: JobEndEvent): void | Promise<void>;
}

const observers = new Set<JobObserver>();

/** Registers an observer for this process; returns a function that removes it. */
export function addJobObserver(observer: JobObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

async function notify(call: (o: JobObserver) => void | Promise<void> | undefined): Promise<void> {
  for (const o of [...observers]) {
    try {
      await call(o);
    } catch (err) {
      process.emitWarning(`medallion: a job observer failed: ${(err as Error).message}`);
    }
  }
}

const log = logger.child({ component: 'jobs' });

/** Tells every observer that a job started. */
export function emitJobStart(event: JobStartEvent): Promise<void> {
  log.info(
    { event: `${event.job}.started`, job: event.job, runId: event.runId, parentRunId: event.parentRunId },
    `${event.job} started`,
  );
  return notify((o) => o.onStart?.(event));
}

/** Tells every observer that a job ended. */
export function emitJobEnd(event: JobEndEvent): Promise<void> {
  const fields = { job: event.job, runId: event.runId, parentRunId: event.parentRunId, durationMs: event.durationMs };
  if (event.status === 'success') {
    log.info({ event: `${event.job}.completed`, ...fields, result: event.result }, `${event.job} completed`);
  } else {
    // At info, like the rest of the lifecycle: the command that ran the job reports its failure
    // itself (one line on stderr; `run` logs a failed micro-batch at error).
    log.info({ event: `${event.job}.failed`, ...fields, error: event.error }, `${event.job} failed`);
  }
  return notify((o) => o.onEnd?.(event));
}
