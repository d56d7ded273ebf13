import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/config/project.ts';
import { medallion } from '../helpers/cli.ts';
import {
  assertExactlyOnce,
  bronzeRows,
  type Ingester,
  sleep,
  smallBatches,
  startIngest,
  waitFor,
} from '../helpers/ingest-harness.ts';
import { kafkaBrokersOrSkip } from '../helpers/services.ts';
import { tempProject } from '../helpers/temp-project.ts';

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
