import { loadProject } from '../config/project.ts';

/**
 * V8 heap settings of the `medallion ingest` process.
 *
 * The live set of an ingester is small and bounded (at most two micro-batches of records, plus the
 * fetch response being decoded), but every batch leaves its records behind as garbage, and V8,
 * whose default old-space limit is a quarter of the machine's memory, lets its heap grow lazily
 * with that garbage: with 200,000-record batches the resident size passed 900 MiB although the
 * records in hand never exceeded about 150 MiB. A cap sized from the batch limits makes V8 collect
 * before growing; `bin/medallion.js` restarts the ingest process in place (same pid, `execve`) with
 * it, unless NODE_OPTIONS or the command line already set a heap size.
 */

/** The smallest old-space cap (MiB): enough for the default batch limits with room to spare. */
export const INGEST_MIN_OLD_SPACE_MIB = 256;

const MIB = 1024 * 1024;
/** JavaScript memory of one record besides its value bytes (objects, strings' headers, key). */
const RECORD_OVERHEAD_BYTES = 256;

/** Old-space cap (MiB) for batches of these limits: four batches' worth (two in hand, their garbage) plus a base. */
export function ingestOldSpaceMiB(limits: { readonly maxRecords: number; readonly maxBytes: number }): number {
  const batch = limits.maxBytes + limits.maxRecords * RECORD_OVERHEAD_BYTES;
  return Math.max(INGEST_MIN_OLD_SPACE_MIB, 128 + Math.ceil((4 * batch) / MIB));
}

/** True when the Node options or flags already choose a V8 heap size. */
export function heapSizeChosen(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((a) =>
    /^--(max-old-space-size|max-heap-size|max_old_space_size|max_heap_size)(=|$)/.test(a),
  );
}

/**
 * The V8 flags `medallion ingest <args>` should run with: none when a heap size was chosen by the
 * user, else the old-space cap for the project's batch limits (the defaults when the project
 * cannot be read here; the command itself then reports why).
 */
export function ingestNodeFlags(
  args: readonly string[],
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env['NODE_OPTIONS'],
): string[] {
  if (heapSizeChosen(execArgv, nodeOptions)) return [];
  let projectDir: string | undefined;
  args.forEach((a, i) => {
    if (a === '--project') projectDir = args[i + 1];
    else if (a.startsWith('--project=')) projectDir = a.slice('--project='.length);
  });
  let limits = { maxRecords: 0, maxBytes: 0 };
  try {
    limits = loadProject({ projectDir }).config.events.batch;
  } catch {
    // The command reports a missing or invalid project itself.
  }
  return [`--max-old-space-size=${ingestOldSpaceMiB(limits)}`];
}
