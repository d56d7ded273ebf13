import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/config/project.ts';
import { deleteTopic, endOffsets, parseBrokers } from '../../src/sources/kafka/index.ts';
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

/** Total bronze rows of the dataset (0 before the first file). */
async function bronzeRows(args: readonly string[], env: Record<string, string>): Promise<number> {
  const counts = await bronzeCounts(args, env).catch(() => [] as PartitionCount[]);
  return counts.reduce((a, c) => a + c.n, 0);
}

test('three ingesters in one consumer group, one SIGKILLed mid-stream: every (partition, offset) exactly once; SIGTERM exits cleanly', {
  timeout: 300_000,
}, async (t) => {
  const brokers = kafkaBrokersOrSkip(t);
  if (!brokers) return;
  const p = await tempProject(smallBatches);
  const args = ['--project', p.dir, '--kafka', brokers];
  const env = { MEDALLION_HOME: p.home };
  const EVENTS = 150_000;
  const ingesters: Ingester[] = [];
  try {
    // The topic first, so the three join a group with partitions to share.
    const seed = await medallion(
      ['simulate', '--project', p.dir, '--kafka', brokers, '--events', '6000', '--json'],
      env,
    );
    assert.equal(seed.code, 0, seed.stderr);
    for (let i = 0; i < 3; i++) ingesters.push(startIngest(args, env));
    const sim = medallion(
      ['simulate', '--project', p.dir, '--kafka', brokers, '--events', String(EVENTS - 6000), '--seed', '7', '--json'],
      env,
    );
    await waitFor('all three ingesters writing', () => ingesters.every((i) => i.batches > 0), 120_000);
    const victim = ingesters[1]!;
    await sleep(Math.floor(Math.random() * 1000));
    victim.child.kill('SIGKILL');
    assert.equal(await victim.exited, null);
    const produced = await sim;
    assert.equal(produced.code, 0, produced.stderr);
    const queryArgs = ['--project', p.dir];
    await waitFor(
      'the two survivors to ingest everything',
      async () => (await bronzeRows(queryArgs, env)) >= EVENTS,
      180_000,
    );
    const survivors = [ingesters[0]!, ingesters[2]!];
    for (const s of survivors) s.child.kill('SIGTERM');
    for (const s of survivors) assert.equal(await s.exited, 0, s.stderr);
    t.diagnostic(`batches per ingester: ${ingesters.map((i) => i.batches).join(', ')}`);
    await assertExactlyOnce(brokers, p.topic, queryArgs, env, EVENTS);
  } finally {
    for (const i of ingesters) i.child.kill('SIGKILL');
    await deleteTopic([brokers], p.topic).catch(() => {});
    await p.cleanup();
  }
});

test('a zombie member (SIGSTOPped past its session, then resumed) and the new owner never write an offset twice', {
  timeout: 300_000,
}, async (t) => {
  const brokers = kafkaBrokersOrSkip(t);
  if (!brokers) return;
  const p = await tempProject(smallBatches);
  const args = ['--project', p.dir, '--kafka', brokers];
  const env = { MEDALLION_HOME: p.home };
  const EVENTS = 120_000;
  const ingesters: Ingester[] = [];
  try {
    const seed = await medallion(
      ['simulate', '--project', p.dir, '--kafka', brokers, '--events', '6000', '--json'],
      env,
    );
    assert.equal(seed.code, 0, seed.stderr);
    for (let i = 0; i < 2; i++) ingesters.push(startIngest(args, env));
    const sim = medallion(
      ['simulate', '--project', p.dir, '--kafka', brokers, '--events', String(EVENTS - 6000), '--seed', '9', '--json'],
      env,
    );
    await waitFor('both ingesters writing', () => ingesters.every((i) => i.batches > 0), 120_000);
    const zombie = ingesters[0]!;
    await sleep(Math.floor(Math.random() * 500));
    // Frozen mid-work (possibly holding a batch, or a stream lock) for longer than the session
    // timeout: the group hands its partitions to the other member, which goes on writing them.
    zombie.child.kill('SIGSTOP');
    const before = ingesters[1]!.batches;
    await sleep(Number(SESSION_TIMEOUT_MS) + 6000);
    zombie.child.kill('SIGCONT');
    const produced = await sim;
    assert.equal(produced.code, 0, produced.stderr);
    const queryArgs = ['--project', p.dir];
    await waitFor('everything ingested', async () => (await bronzeRows(queryArgs, env)) >= EVENTS, 180_000);
    for (const s of ingesters) s.child.kill('SIGTERM');
    for (const s of ingesters) assert.equal(await s.exited, 0, s.stderr);
    t.diagnostic(`batches: zombie ${zombie.batches}, other ${ingesters[1]!.batches} (${before} before the freeze)`);
    await assertExactlyOnce(brokers, p.topic, queryArgs, env, EVENTS);
  } finally {
    for (const i of ingesters) {
      i.child.kill('SIGCONT');
      i.child.kill('SIGKILL');
    }
    await deleteTopic([brokers], p.topic).catch(() => {});
    await p.cleanup();
  }
});
