import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/config/project.ts';
import { medallion, medallionJson } from '../helpers/cli.ts';
import { tempProject } from '../helpers/temp-project.ts';

interface RunRow {
  readonly run_id: string;
  readonly job: string;
  readonly parent_run_id: string | null;
  readonly status: string;
}

test('a run killed with SIGKILL leaves the run log readable; the next run appends to it', {
  timeout: 300_000,
}, async () => {
  const p = await tempProject((c) => {
    c['run'] = { triggerIntervalMs: 300 };
  });
  const args = ['--project', p.dir];
  const env = { MEDALLION_HOME: p.home };
  const runs = () =>
    medallionJson<RunRow[]>(
      ['query', ...args, 'SELECT run_id, job, parent_run_id, status FROM ops.runs ORDER BY finished_at', '--json'],
      env,
    );
  try {
    const sim = await medallion(['simulate', ...args, '--events', '3000', '--seed', '21', '--json'], env);
    assert.equal(sim.code, 0, sim.stderr);
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'medallion.js'), 'run', ...args, '--no-metrics'], {
      env: { ...process.env, ...env, MEDALLION_QUIET: '1', MEDALLION_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('close', (_code, signal) => resolve(signal)),
    );
    for (let i = 0; i < 600 && !stderr.includes('"event":"run.cycle.completed"'); i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(stderr, /"event":"run\.cycle\.completed"/);
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');

    const before = await runs();
    const cycle = before.find((r) => r.job === 'run.cycle');
    assert.ok(cycle, JSON.stringify(before));
    assert.equal(cycle.status, 'success');
    assert.equal(
      before.some((r) => r.job === 'run'),
      false,
      'the killed run never finished, so it has no entry',
    );
    for (const job of ['refine', 'load', 'build']) {
      assert.ok(
        before.some((r) => r.job === job && r.parent_run_id === cycle.run_id),
        `${job} is a child of the cycle`,
      );
    }
    // Had the kill landed inside a write, the log would end in half a line: make it so.
    await appendFile(join(p.home, 'runlog', 'runs.jsonl'), '{"runId":"half-written","job":"refi');

    const again = await medallion(['run', ...args, '--once', '--no-metrics'], env);
    assert.equal(again.code, 0, again.stderr);
    const after = await runs();
    assert.deepEqual(after.slice(0, before.length), before, 'every earlier entry is still there');
    const last = after.at(-1)!;
    assert.equal(last.job, 'run');
    assert.equal(last.status, 'success');
    assert.equal(
      after.some((r) => r.run_id === 'half-written'),
      false,
    );
    // The first entry written after the torn line (the new cycle's refine) is whole, not glued to it.
    const newCycle = after.find((r) => r.job === 'run.cycle' && r.parent_run_id === last.run_id);
    assert.ok(newCycle, JSON.stringify(after));
    assert.equal(after[before.length]!.job, 'refine');
    assert.equal(after[before.length]!.parent_run_id, newCycle.run_id);
    const status = await medallionJson<{ lastRun: { job: string; status: string } }>(
      ['status', ...args, '--json'],
      env,
    );
    assert.deepEqual([status.lastRun.job, status.lastRun.status], ['run', 'success']);
  } finally {
    await p.cleanup();
  }
});
