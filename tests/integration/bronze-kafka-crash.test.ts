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

test('crash test: 500,000 events over 6 partitions, ingester SIGKILLed at random moments ≥ 10 times, every (partition, offset) in bronze exactly once', {
  timeout: 600_000,
}, async (t) => {
  const brokers = kafkaBrokersOrSkip(t);
  if (!brokers) return;
  const p = await tempProject(smallBatches);
  const args = ['--project', p.dir, '--kafka', brokers];
  const env = { MEDALLION_HOME: p.home };
  try {
    const sim = medallion(['simulate', '--project', p.dir, '--kafka', brokers, '--events', '500000', '--json'], env);
    const kills: number[] = [];
    for (let i = 0; i < 12; i++) {
      const ing = startIngest(args, env);
      const before = ing.batches;
      // Killed at a random moment once it writes: anywhere from mid-first-batch to some batches in.
      await Promise.race([waitFor('a first batch', () => ing.batches > before, 60_000), ing.exited]);
      const delay = Math.floor(Math.random() * 1500);
      await sleep(delay);
      ing.child.kill('SIGKILL');
      const code = await ing.exited;
      assert.equal(code, null, `ingester ${i} exited by itself: ${ing.stderr}`);
      kills.push(delay);
    }
    t.diagnostic(`SIGKILL delays after the first batch (ms): ${kills.join(', ')}`);
    const truth = await sim;
    assert.equal(truth.code, 0, truth.stderr);
    assert.equal(JSON.parse(truth.stdout).records, 500_000);
    const last = await medallion(['ingest', ...args, '--once'], {
      ...env,
      MEDALLION_KAFKA_SESSION_TIMEOUT_MS: SESSION_TIMEOUT_MS,
    });
    assert.equal(last.code, 0, last.stderr);
    await assertExactlyOnce(brokers, p.topic, ['--project', p.dir], env, 500_000);

    // Replays: from the log start, and from a timestamp, add nothing.
    for (const from of [['--from-beginning'], ['--from-timestamp', '1970-01-02T00:00:00Z']]) {
      const replay = await medallion(['ingest', ...args, '--once', ...from, '--json'], {
        ...env,
        MEDALLION_KAFKA_SESSION_TIMEOUT_MS: SESSION_TIMEOUT_MS,
      });
      assert.equal(replay.code, 0, replay.stderr);
      assert.equal(JSON.parse(replay.stdout).events.records > 0, true, 'the replay read the topic again');
      assert.equal(JSON.parse(replay.stdout).events.files, 0, 'the replay wrote nothing');
    }
    await assertExactlyOnce(brokers, p.topic, ['--project', p.dir], env, 500_000);
  } finally {
    await deleteTopic([brokers], p.topic).catch(() => {});
    await p.cleanup();
  }
});
