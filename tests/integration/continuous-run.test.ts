import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/config/project.ts';
import type { PipelineStatus } from '../../src/ops/status.ts';
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

test('run (continuous) picks up new events in micro-batches and stops cleanly on SIGINT', {
  timeout: 240_000,
}, async () => {
  const p = await tempProject((c) => {
    c['run'] = { triggerIntervalMs: 300 };
  });
  const args = ['--project', p.dir];
  const env = { MEDALLION_HOME: p.home };
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'medallion.js'), 'run', ...args], {
    env: { ...process.env, ...env, MEDALLION_QUIET: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    const status = () => medallionJson<PipelineStatus>(['status', ...args, '--json'], env);
    const first = await medallion(['simulate', ...args, '--events', '3000', '--seed', '1', '--json'], env);
    assert.equal(first.code, 0, first.stderr);
    const s1 = await until(
      'the first 3,000 records in gold',
      status,
      (s) => s.bronze.rows === 3000 && s.gold.builtAt !== null,
    );
    assert.equal(s1.silver.rows + s1.quarantine.rows + s1.duplicates.rows, 3000);

    const second = await medallion(
      ['simulate', ...args, '--events', '2000', '--seed', '2', '--start-date', '2018-10-02', '--json'],
      env,
    );
    assert.equal(second.code, 0, second.stderr);
    const days = () =>
      medallion(
        ['query', ...args, 'SELECT count(DISTINCT event_date)::INT AS d FROM gold.fact_event_metrics', '--json'],
        env,
      ).then((r) => (r.code === 0 ? (JSON.parse(r.stdout) as { d: number }[])[0]!.d : -1));
    await until('the second day in gold', days, (d) => d === 2);
    const s2 = await status();
    assert.equal(s2.bronze.rows, 5000);
    assert.equal(s2.silver.rows + s2.quarantine.rows + s2.duplicates.rows, 5000);
    assert.equal(s2.gold.tests.fail, 0);

    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
    const s3 = await status();
    assert.equal(s3.lastRun?.job, 'run');
    assert.equal(s3.lastRun?.status, 'success');
    assert.equal(s3.lastRun?.counts?.mode, 'continuous');
    assert.ok(Number(s3.lastRun?.counts?.['cycles'] ?? 0) >= 2);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await p.cleanup();
  }
});
