import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { deleteTopic } from '../../src/sources/kafka/index.ts';
import { medallion } from '../helpers/cli.ts';
import { groupShared, type Ingester, startIngest, waitFor } from '../helpers/ingest-harness.ts';
import { kafkaBrokersOrSkip } from '../helpers/services.ts';
import { type EditableConfig, tempProject } from '../helpers/temp-project.ts';

/**
 * `medallion ingest` replaces itself (same pid) with a process whose V8 old space is capped from
 * the project's batch limits, unless the user chose a heap size. Read from the live process's
 * command line once it has joined its group and owns every partition.
 */
async function ingestCommandLine(
  t: import('node:test').TestContext,
  edit: (c: EditableConfig) => void,
  extraEnv: Record<string, string> = {},
): Promise<string[] | undefined> {
  const brokers = kafkaBrokersOrSkip(t);
  if (!brokers) return undefined;
  const p = await tempProject((c) => {
    Object.assign(c.events.kafka, { partitions: 2 });
    edit(c);
  });
  const args = ['--project', p.dir, '--kafka', brokers];
  const env = { MEDALLION_HOME: p.home, ...extraEnv };
  let ing: Ingester | undefined;
  try {
    const sim = await medallion(['simulate', ...args, '--events', '200', '--json'], env);
    assert.equal(sim.code, 0, sim.stderr);
    ing = startIngest(args, env);
    const it = ing;
    await waitFor('the ingester owning both partitions', () => groupShared([it], 2), 120_000);
    const cmdline = readFileSync(`/proc/${ing.child.pid}/cmdline`, 'utf8').split('\0');
    ing.child.kill('SIGTERM');
    assert.equal(await ing.exited, 0, ing.stderr);
    return cmdline;
  } finally {
    ing?.child.kill('SIGKILL');
    await deleteTopic([brokers], p.topic).catch(() => {});
    await p.cleanup();
  }
}

const heapFlags = (cmdline: string[]) => cmdline.filter((a) => a.startsWith('--max-old-space-size'));

test('ingest caps its V8 heap from the batch limits, and leaves a heap size the user chose alone', {
  skip: process.platform !== 'linux' && 'reads /proc',
  timeout: 300_000,
}, async (t) => {
  // Defaults (20,000 records / 8 MiB): the floor.
  const defaults = await ingestCommandLine(t, () => {});
  if (!defaults) return;
  assert.deepEqual(heapFlags(defaults), ['--max-old-space-size=256']);
  // 200,000 records / 64 MiB: 128 MiB + 4 × (64 MiB + 256 B × 200,000) = 580 MiB.
  const large = await ingestCommandLine(t, (c) => {
    c.events['batch'] = { maxRecords: 200_000, maxBytes: 64 * 1024 * 1024, maxWaitMs: 200 };
  });
  assert.deepEqual(heapFlags(large!), ['--max-old-space-size=580']);
  // The user's NODE_OPTIONS wins: no flag added (NODE_OPTIONS itself is not on the command line).
  const chosen = await ingestCommandLine(t, () => {}, { NODE_OPTIONS: '--max-old-space-size=300' });
  assert.deepEqual(heapFlags(chosen!), []);
  assert.ok(chosen!.some((a) => a.endsWith('medallion.js')));
});
