import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deleteTopic } from '../../src/sources/kafka/index.ts';
import { medallion } from '../helpers/cli.ts';
import {
  assertExactlyOnce,
  SESSION_TIMEOUT_MS,
  sleep,
  smallBatches,
  startIngest,
  waitFor,
} from '../helpers/ingest-harness.ts';
import { kafkaBrokersOrSkip } from '../helpers/services.ts';
import { tempProject } from '../helpers/temp-project.ts';

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
      // Once the topic is drained an ingester has nothing to write: it is killed idle, after a while.
      await Promise.race([waitFor('a first batch', () => ing.batches > before, 15_000).catch(() => {}), ing.exited]);
      // Short enough that twelve ingesters never drain the topic before the simulator is done.
      const delay = Math.floor(Math.random() * 700);
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
