import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { deleteTopic } from '../../src/sources/kafka/index.ts';
import { medallion } from '../helpers/cli.ts';
import {
  assertExactlyOnce,
  bronzeRows,
  groupShared,
  type Ingester,
  PARTITIONS,
  sleep,
  smallBatches,
  startIngest,
  waitFor,
} from '../helpers/ingest-harness.ts';
import { kafkaBrokersOrSkip } from '../helpers/services.ts';
import { tempProject } from '../helpers/temp-project.ts';

// The events are produced in waves, each only once the group is in the state the next step needs.
// A single burst raced the ingesters' start: on a quiet machine the simulator produced 150,000
// events in about 5 s and the first members drained them before a slower one (each ingests the
// reference files first) had joined, which then had nothing to write, so waiting for members
// "writing" timed out. Whether it did depended on which was faster, not on ingest.

/** Produces `events` simulated events to the project's topic (the first call creates it). */
async function produce(args: readonly string[], env: Record<string, string>, events: number, seed: number) {
  const r = await medallion(['simulate', ...args, '--events', String(events), '--seed', String(seed), '--json'], env);
  assert.equal(r.code, 0, r.stderr);
}

test('three ingesters in one consumer group share the partitions; one SIGKILLed mid-stream: every (partition, offset) exactly once; SIGTERM exits cleanly', {
  timeout: 300_000,
}, async (t) => {
  const brokers = kafkaBrokersOrSkip(t);
  if (!brokers) return;
  const p = await tempProject(smallBatches);
  const args = ['--project', p.dir, '--kafka', brokers];
  const env = { MEDALLION_HOME: p.home };
  const queryArgs = ['--project', p.dir];
  const [SEED, WAVE_A, WAVE_B] = [6000, 60_000, 84_000];
  const EVENTS = SEED + WAVE_A + WAVE_B;
  const ingesters: Ingester[] = [];
  try {
    await produce(args, env, SEED, 1);
    for (let i = 0; i < 3; i++) ingesters.push(startIngest(args, env));
    await waitFor('three members sharing the partitions', () => groupShared(ingesters), 120_000);
    // The command replaced itself (same pid) with a process whose V8 heap is capped (bin/medallion.js).
    if (process.platform === 'linux')
      assert.match(readFileSync(`/proc/${ingesters[0]!.child.pid}/cmdline`, 'utf8'), /--max-old-space-size=256\0/);
    for (const i of ingesters) assert.equal(i.assignment!.partitions.length, PARTITIONS / 3);
    const before = ingesters.map((i) => i.batches);
    await produce(args, env, WAVE_A, 7);
    await waitFor('all three members writing', () => ingesters.every((i, n) => i.batches > before[n]!), 120_000);
    // Mid-stream: the next wave is on its way while the victim dies at a random moment.
    const victimIndex = Math.floor(Math.random() * 3);
    const victim = ingesters[victimIndex]!;
    const survivors = ingesters.filter((_, i) => i !== victimIndex);
    const waveB = produce(args, env, WAVE_B, 9);
    await sleep(Math.floor(Math.random() * 1000));
    victim.child.kill('SIGKILL');
    assert.equal(await victim.exited, null);
    await waveB;
    await waitFor(
      'the two survivors to ingest everything',
      async () => (await bronzeRows(queryArgs, env)) >= EVENTS,
      180_000,
    );
    // The survivors took the victim's partitions over (after its session timed out).
    await waitFor('the two survivors sharing every partition', () => groupShared(survivors), 60_000);
    for (const s of survivors) s.child.kill('SIGTERM');
    for (const s of survivors) assert.equal(await s.exited, 0, s.stderr);
    t.diagnostic(
      `victim ${victimIndex}; batches per ingester: ${ingesters.map((i) => i.batches).join(', ')}; survivors' partitions: ${survivors.map((s) => s.assignment!.partitions.join('+')).join(' / ')}`,
    );
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
  const queryArgs = ['--project', p.dir];
  const [SEED, WAVE_A, WAVE_B, WAVE_C] = [6000, 50_000, 40_000, 24_000];
  const EVENTS = SEED + WAVE_A + WAVE_B + WAVE_C;
  const ingesters: Ingester[] = [];
  try {
    await produce(args, env, SEED, 1);
    for (let i = 0; i < 2; i++) ingesters.push(startIngest(args, env));
    const [zombie, other] = ingesters as [Ingester, Ingester];
    await waitFor('two members sharing the partitions', () => groupShared(ingesters), 120_000);
    const before = ingesters.map((i) => i.batches);
    await produce(args, env, WAVE_A, 7);
    await waitFor('both members writing', () => ingesters.every((i, n) => i.batches > before[n]!), 120_000);
    await sleep(Math.floor(Math.random() * 500));
    // Frozen mid-work (possibly holding a batch, or a stream lock) for longer than the session
    // timeout: the group hands its partitions to the other member, which goes on writing them.
    zombie.child.kill('SIGSTOP');
    await produce(args, env, WAVE_B, 9);
    await waitFor('the other member owning every partition', () => groupShared([other]), 60_000);
    const alone = other.batches;
    // The other member may now wait for a stream lock the frozen zombie holds (it was stopped
    // mid-write): that write must finish (or die) before anyone else writes the stream.
    zombie.child.kill('SIGCONT');
    // The zombie learns it lost its membership, rejoins, and the two share the topic again.
    await waitFor('the two members sharing the partitions again', () => groupShared(ingesters), 120_000);
    await produce(args, env, WAVE_C, 11);
    await waitFor('everything ingested', async () => (await bronzeRows(queryArgs, env)) >= EVENTS, 180_000);
    for (const s of ingesters) s.child.kill('SIGTERM');
    for (const s of ingesters) assert.equal(await s.exited, 0, s.stderr);
    t.diagnostic(`batches: zombie ${zombie.batches}, other ${other.batches} (${alone} when it owned every partition)`);
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
