/**
 * Job lifecycle events: every job run that goes through `loggedRun` (ingest, refine, load, build,
 * test, replay, quarantine-retry) and the `run` pipeline itself announces its start and its end to
 * the observers registered here. Metrics, the run log table and OpenLineage subscribe; jobs do not
 * know who listens.
 */

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

/** Tells every observer that a job started. */
export function emitJobStart(event: JobStartEvent): Promise<void> {
  return notify((o) => o.onStart?.(event));
}

/** Tells every observer that a job ended. */
export function emitJobEnd(event: JobEndEvent): Promise<void> {
  return notify((o) => o.onEnd?.(event));
}
