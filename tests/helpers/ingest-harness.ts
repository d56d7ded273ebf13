import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
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

/**
 * A `medallion ingest` child process; `batches` counts the batches it reported durable,
 * `assignment` is the last consumer-group assignment it reported (Kafka only), `records` the
 * records of its batches.
 */
export interface Ingester {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  batches: number;
  records: number;
  assignment: { generation: number; partitions: readonly number[] } | undefined;
  stderr: string;
}

/** Ingesters still running; whatever a test leaves behind (a failed assertion) is killed when its file ends. */
const live = new Set<ChildProcess>();
after(() => {
  for (const child of live) child.kill('SIGKILL');
});

let started = 0;

/**
 * With MEDALLION_TEST_INGEST_LOGS=DIR, every ingester's whole stderr (progress lines and info-level
 * JSON logs) is also appended to DIR/ingest-<pid>.log, for investigating a failed run.
 */
const LOG_DIR = process.env.MEDALLION_TEST_INGEST_LOGS;

export function startIngest(args: readonly string[], env: Record<string, string>): Ingester {
  const logFile = LOG_DIR ? join(LOG_DIR, `ingest-${process.pid}-${++started}.log`) : undefined;
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'medallion.js'), 'ingest', ...args], {
    env: {
      ...process.env,
      ...(logFile ? { MEDALLION_LOG_LEVEL: 'info' } : {}),
      ...env,
      MEDALLION_QUIET: '0',
      MEDALLION_KAFKA_SESSION_TIMEOUT_MS: SESSION_TIMEOUT_MS,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  live.add(child);
  child.on('close', () => live.delete(child));
  const ing: Ingester = {
    child,
    exited: new Promise((resolve) => child.on('close', (code) => resolve(code))),
    batches: 0,
    records: 0,
    assignment: undefined,
    stderr: '',
  };
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    const text = d.toString();
    if (logFile) appendFileSync(logFile, text);
    ing.stderr = (ing.stderr + text).slice(-4000);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const batch = /^ingest: batch \d+: ([\d,]+) records/.exec(line);
      if (batch) {
        ing.batches++;
        ing.records += Number(batch[1]!.replaceAll(',', ''));
      }
      const group = /^ingest: consumer group \S+ generation (\d+): partitions ([\d, ]+|none) of /.exec(line);
      if (group)
        ing.assignment = {
          generation: Number(group[1]),
          partitions: group[2] === 'none' ? [] : group[2]!.split(', ').map(Number),
        };
    }
  });
  return ing;
}

/**
 * True when the group is stable with exactly these members: each reported an assignment of the
 * same generation, none empty, together every partition once.
 */
export function groupShared(members: readonly Ingester[], partitions = PARTITIONS): boolean {
  const seen: number[] = [];
  const generations = new Set<number>();
  for (const m of members) {
    if (!m.assignment || m.assignment.partitions.length === 0) return false;
    generations.add(m.assignment.generation);
    seen.push(...m.assignment.partitions);
  }
  seen.sort((a, b) => a - b);
  return generations.size === 1 && seen.length === partitions && seen.every((p, i) => p === i);
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
