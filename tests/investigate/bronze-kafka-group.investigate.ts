import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deleteTopic } from '../../src/sources/kafka/index.ts';
import { medallion } from '../helpers/cli.ts';
import {
  assertExactlyOnce,
  bronzeRows,
  type Ingester,
  SESSION_TIMEOUT_MS,
  sleep,
  smallBatches,
  startIngest,
  waitFor,
} from '../helpers/ingest-harness.ts';
import { kafkaBrokersOrSkip } from '../helpers/services.ts';
import { tempProject } from '../helpers/temp-project.ts';

/** Total bronze rows of the dataset (0 before the first file). */

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
    // The first member may drain partitions before the others are assigned theirs: wait for two
    // members writing, and kill one of those mid-stream.
    await waitFor('two ingesters writing', () => ingesters.filter((i) => i.batches > 0).length >= 2, 120_000);
    const victimIndex = ingesters.findIndex((i) => i.batches > 0);
    const victim = ingesters[victimIndex]!;
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
    const survivors = ingesters.filter((_, i) => i !== victimIndex);
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
