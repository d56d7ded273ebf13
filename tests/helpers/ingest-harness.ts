import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after } from 'node:test';
import { REPO_ROOT } from '../../src/config/project.ts';
import { endOffsets, parseBrokers } from '../../src/sources/kafka/index.ts';
import { medallionJson } from './cli.ts';
import type { EditableConfig } from './temp-project.ts';

/** Shared by the bronze fault tests: ingester child processes and exactly-once checks over bronze. */

export const PARTITIONS = 6;
/** The broker's smallest session timeout: a SIGKILLed member leaves the group after it. */
export const SESSION_TIMEOUT_MS = '6000';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Small batches (quick restarts); with `partitions`, the Kafka topic gets that many partitions. */
export function smallBatches(c: EditableConfig, partitions: number | undefined = PARTITIONS): void {
  if (partitions !== undefined) Object.assign(c.events.kafka, { partitions });
  c.events['batch'] = { maxRecords: 4000, maxBytes: 4 * 1024 * 1024, maxWaitMs: 200 };
}

/** A `medallion ingest` child process; `batches` counts the batches it reported durable. */
export interface Ingester {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  batches: number;
  stderr: string;
}

/** Ingesters still running; whatever a test leaves behind (a failed assertion) is killed when its file ends. */
const live = new Set<ChildProcess>();
after(() => {
  for (const child of live) child.kill('SIGKILL');
});

export function startIngest(args: readonly string[], env: Record<string, string>): Ingester {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'medallion.js'), 'ingest', ...args], {
    env: { ...process.env, ...env, MEDALLION_QUIET: '0', MEDALLION_KAFKA_SESSION_TIMEOUT_MS: SESSION_TIMEOUT_MS },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  live.add(child);
  child.on('close', () => live.delete(child));
  const ing: Ingester = {
    child,
    exited: new Promise((resolve) => child.on('close', (code) => resolve(code))),
    batches: 0,
    stderr: '',
  };
  child.stderr!.on('data', (d: Buffer) => {
    const text = d.toString();
    ing.batches += text.match(/^ingest: batch /gm)?.length ?? 0;
    ing.stderr = (ing.stderr + text).slice(-4000);
  });
  return ing;
}

export async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export interface PartitionCount {
  p: number;
  n: number;
  d: number;
  lo: number;
  hi: number;
}

/** Per partition: rows, distinct offsets, lowest and highest offset in bronze (DuckDB over the Parquet files). */
export function bronzeCounts(args: readonly string[], env: Record<string, string>): Promise<PartitionCount[]> {
  return medallionJson<PartitionCount[]>(
    [
      'query',
      ...args,
      `SELECT kafka_partition::INT AS p, count(*)::INT AS n, count(DISTINCT kafka_offset)::INT AS d,
              min(kafka_offset)::INT AS lo, max(kafka_offset)::INT AS hi
       FROM bronze.attendance_events GROUP BY 1 ORDER BY 1`,
      '--json',
    ],
    env,
  );
}

/** Every (partition, offset) from 0 to the end offset is in bronze exactly once. */
export async function assertExactlyOnce(
  brokers: string,
  topic: string,
  args: readonly string[],
  env: Record<string, string>,
  expectedTotal: number,
): Promise<void> {
  const ends = await endOffsets(parseBrokers(brokers), topic);
  assert.equal(
    [...ends.values()].reduce((a, b) => a + b, 0),
    expectedTotal,
  );
  const counts = await bronzeCounts(args, env);
  assert.deepEqual(
    counts,
    [...ends].map(([p, end]) => ({ p, n: end, d: end, lo: 0, hi: end - 1 })),
  );
}

/** Rows in bronze (0 while bronze has no table yet). */
export async function bronzeRows(args: readonly string[], env: Record<string, string>): Promise<number> {
  const counts = await bronzeCounts(args, env).catch(() => [] as PartitionCount[]);
  return counts.reduce((a, c) => a + c.n, 0);
}
