import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/config/project.ts';
import { readRuns } from '../../src/ops/run-log.ts';
import type { PipelineStatus } from '../../src/ops/status.ts';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.ts';
import { medallion, medallionJson } from '../helpers/cli.ts';
import { tempProject } from '../helpers/temp-project.ts';

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, attempts = 240): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < attempts; i++) {
    last = await read();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

// A micro-batch that cannot finish (here: another process holds the warehouse, so load cannot open
// it) fails as a whole, is reported, and is retried with growing waits; once the warehouse is free,
// the retry loads and builds everything exactly once. While the stream is idle, the data-quality
// checks keep running.
test('continuous run: a failed micro-batch is retried with backoff and lands exactly once; checks run while idle', {
  timeout: 240_000,
}, async () => {
  const p = await tempProject((c) => {
    c['run'] = { triggerIntervalMs: 300, idleCheckIntervalMs: 1000 };
  });
  const args = ['--project', p.dir];
  const env = { MEDALLION_HOME: p.home };
  const paths = { runLog: join(p.home, 'runlog') } as Parameters<typeof readRuns>[0];
  // Progress lines on (they report each failed cycle and its next try).
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'medallion.js'), 'run', ...args, '--no-metrics'], {
    env: { ...process.env, ...env, MEDALLION_QUIET: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let holder: DuckDbWarehouse | undefined;
  try {
    const status = () => medallionJson<PipelineStatus>(['status', ...args, '--json'], env);
    const cycles = async () => (await readRuns(paths, 10_000)).filter((r) => r.job === 'run.cycle');
    assert.equal((await medallion(['simulate', ...args, '--events', '3000', '--seed', '1'], env)).code, 0);
    await until('the first 3,000 records in gold', status, (s) => s.bronze.rows === 3000 && s.gold.builtAt !== null);

    // Idle: the checks still run now and then, with no new cycle.
    const idleFrom = (await readRuns(paths, 10_000)).length;
    const checksAfter = async () => (await readRuns(paths, 10_000)).slice(idleFrom).filter((r) => r.job === 'check');
    const idleChecks = await until('two checks while idle', checksAfter, (c) => c.length >= 2);
    assert.ok(idleChecks.every((c) => c.status === 'success' || c.error?.code === 'MDL_CHECK_FAILED'));
    assert.equal(
      (await cycles()).filter((c) => Date.parse(c.startedAt) > Date.parse(idleChecks[0]!.startedAt)).length,
      0,
    );

    // Another writer holds the warehouse while the next day arrives: the cycle cannot load.
    holder = await DuckDbWarehouse.open(join(p.home, 'warehouse', 'medallion.duckdb'));
    assert.equal(
      (await medallion(['simulate', ...args, '--events', '2000', '--seed', '2', '--start-date', '2018-10-02'], env))
        .code,
      0,
    );
    const failed = await until(
      'two failed cycles',
      async () => (await cycles()).filter((c) => c.status === 'failed'),
      (f) => f.length >= 2,
    );
    assert.ok(
      failed.every((c) => c.error?.code === 'MDL_WAREHOUSE_LOCKED'),
      JSON.stringify(failed),
    );
    assert.match(stderr, /cycle \d+ failed \(1 in a row\), next try in 600 ms/);
    assert.match(stderr, /cycle \d+ failed \(2 in a row\), next try in 1200 ms/);
    await holder.close();
    holder = undefined;

    const s = await until('the second day in gold', status, (x) => x.bronze.rows === 5000 && x.lastRun !== null);
    const days = await until(
      'both days in fact_event_metrics',
      () =>
        medallionJson<{ d: number; n: number }[]>(
          [
            'query',
            ...args,
            'SELECT count(DISTINCT event_date)::INT AS d, sum(enrolled)::INT AS n FROM gold.fact_event_metrics',
            '--json',
          ],
          env,
        ).catch(() => [{ d: 0, n: 0 }]),
      (r) => r[0]!.d === 2,
    );
    const final = await status();
    assert.equal(final.bronze.rows, 5000);
    assert.equal(final.silver.rows + final.quarantine.rows + final.duplicates.rows, 5000);
    assert.equal(days[0]!.n, final.silver.rows, 'gold counts every silver event once');
    assert.ok(s.gold.tests.fail === 0);
    const after = await cycles();
    assert.equal(after.at(-1)?.status, 'success');

    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  } finally {
    await holder?.close();
    if (child.exitCode === null) child.kill('SIGKILL');
    await p.cleanup();
  }
});
