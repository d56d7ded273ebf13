import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/config/project.ts';
import { endOffsets, parseBrokers } from '../../src/sources/kafka/index.ts';
import { medallion, medallionJson } from '../helpers/cli.ts';
import { kafkaBrokersOrSkip } from '../helpers/services.ts';
import { type EditableConfig, tempProject } from '../helpers/temp-project.ts';

const PARTITIONS = 6;
/** The broker's smallest session timeout: a SIGKILLed member leaves the group after it. */
const SESSION_TIMEOUT_MS = '6000';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function smallBatches(c: EditableConfig): void {
  Object.assign(c.events.kafka, { partitions: PARTITIONS });
  c.events['batch'] = { maxRecords: 4000, maxBytes: 4 * 1024 * 1024, maxWaitMs: 200 };
}

/** A `medallion ingest` child process; `batches` counts the batches it reported durable. */
interface Ingester {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  batches: number;
  stderr: string;
}

function startIngest(args: readonly string[], env: Record<string, string>): Ingester {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'medallion.js'), 'ingest', ...args], {
    env: { ...process.env, ...env, MEDALLION_QUIET: '0', MEDALLION_KAFKA_SESSION_TIMEOUT_MS: SESSION_TIMEOUT_MS },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
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

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface PartitionCount {
  p: number;
  n: number;
  d: number;
  lo: number;
  hi: number;
}

/** Per partition: rows, distinct offsets, lowest and highest offset in bronze (DuckDB over the Parquet files). */
function bronzeCounts(args: readonly string[], env: Record<string, string>): Promise<PartitionCount[]> {
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
async function assertExactlyOnce(
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

/** Runs scripts/kafka.sh with a private port and state folder (a second broker, never the shared one). */
function kafkaSh(
  command: 'start' | 'stop',
  port: number,
  dir: string,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [join(REPO_ROOT, 'scripts', 'kafka.sh'), command], {
      env: { ...process.env, MEDALLION_KAFKA_PORT: String(port), MEDALLION_KAFKA_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

async function bronzeRows(args: readonly string[], env: Record<string, string>): Promise<number> {
  const counts = await bronzeCounts(args, env).catch(() => [] as PartitionCount[]);
  return counts.reduce((a, c) => a + c.n, 0);
}

test('broker restart mid-stream: the ingester reconnects, nothing lost or doubled', { timeout: 420_000 }, async (t) => {
  // The shared broker's presence says Kafka can run here; this test starts its own on another port.
  if (!kafkaBrokersOrSkip(t)) return;
  const port = 19092 + (process.pid % 500) * 2;
  const state = await mkdtemp(join(tmpdir(), 'medallion-kafka2-'));
  const p = await tempProject(smallBatches);
  const env = { MEDALLION_HOME: p.home };
  let ing: Ingester | undefined;
  try {
    const up = await kafkaSh('start', port, state);
    assert.equal(up.code, 0, up.err);
    const brokers = `127.0.0.1:${port}`;
    const EVENTS = 100_000;
    const sim = await medallion(
      ['simulate', '--project', p.dir, '--kafka', brokers, '--events', String(EVENTS), '--json'],
      env,
    );
    assert.equal(sim.code, 0, sim.stderr);
    ing = startIngest(['--project', p.dir, '--kafka', brokers], env);
    await waitFor('a first batch', () => ing!.batches > 0, 120_000);
    const down = await kafkaSh('stop', port, state);
    assert.equal(down.code, 0, down.err);
    const batchesWhileDown = ing.batches;
    await sleep(3000);
    assert.equal(ing.child.exitCode, null, `the ingester died with the broker: ${ing.stderr}`);
    const again = await kafkaSh('start', port, state);
    assert.equal(again.code, 0, again.err);
    const queryArgs = ['--project', p.dir];
    await waitFor(
      'everything ingested after the restart',
      async () => (await bronzeRows(queryArgs, env)) >= EVENTS,
      240_000,
    );
    assert.ok(ing.batches > batchesWhileDown);
    ing.child.kill('SIGTERM');
    assert.equal(await ing.exited, 0, ing.stderr);
    t.diagnostic(
      `batches: ${ing.batches}; ingester said: ${ing.stderr.match(/reconnecting[^\n]*/)?.[0] ?? '(no reconnect line)'}`,
    );
    await assertExactlyOnce(brokers, p.topic, queryArgs, env, EVENTS);
  } finally {
    ing?.child.kill('SIGKILL');
    await kafkaSh('stop', port, state);
    await rm(state, { recursive: true, force: true });
    await p.cleanup();
  }
});
