import type { DbtNodeEndEvent, DbtNodeObserver, DbtNodeStartEvent } from '../types.ts';

const observers = new Set<DbtNodeObserver>();

/**
 * Registers a process-wide observer of gold nodes (every runDbt call in this process tells it when
 * a model, snapshot, seed or test starts and ends); returns a function that removes it. Lineage
 * subscribes here because builds are started from several places (build, test, run, replay).
 */
export function addDbtNodeObserver(observer: DbtNodeObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

/** Calls the run's own callback and every registered observer; their errors never fail the node. */
export async function notifyNode(
  own: DbtNodeObserver | undefined,
  call: (o: DbtNodeObserver) => void | Promise<void> | undefined,
): Promise<void> {
  for (const o of own ? [own, ...observers] : [...observers]) {
    try {
      await call(o);
    } catch (err) {
      process.emitWarning(`medallion: a dbt node observer failed: ${(err as Error).message}`);
    }
  }
}

export type { DbtNodeEndEvent, DbtNodeStartEvent };
