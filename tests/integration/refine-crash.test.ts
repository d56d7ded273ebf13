import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/config/project.ts';
import type { PipelineStatus } from '../../src/ops/status.ts';
import type { GroundTruth } from '../../src/simulate/index.ts';
import { deltaPythonOrSkip, peerRead } from '../fixtures/delta/delta-peer.ts';
import { medallion, medallionJson } from '../helpers/cli.ts';
import { tempContext } from '../helpers/temp-context.ts';

/** Starts `medallion refine` and SIGKILLs it after `ms` (or lets it finish first); resolves when it is gone. */
function refineKilledAfter(ms: number, env: Record<string, string>): Promise<'killed' | 'finished'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'medallion.js'), 'refine'], {
      env: { ...process.env, ...env, MEDALLION_QUIET: '1' },
      stdio: 'ignore',
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve('killed');
      else if (code === 0) resolve('finished');
      else reject(new Error(`refine exited ${code}`));
    });
  });
}

test('SIGKILL during refine commits leaves every table readable; rerunning completes with nothing lost or doubled', {
  timeout: 600_000,
}, async (t) => {
  const python = deltaPythonOrSkip(t);
  if (!python) return;
  const { dataDir, cleanup } = await tempContext();
  const env = { MEDALLION_HOME: dataDir, MEDALLION_REFINE_CHUNK_ROWS: '5000' };
  try {
    const truth = await medallionJson<GroundTruth>(['simulate', '--events', '300000', '--json'], env);
    const ingest = await medallion(['ingest', '--once'], env);
    assert.equal(ingest.code, 0, ingest.stderr);

    let kills = 0;
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let round = 0; round < 40 && kills < 10; round++) {
      const outcome = await refineKilledAfter(250 + Math.floor(random() * 750), env);
      if (outcome === 'finished') break;
      kills++;
      // Every table is readable, by delta-rs and by Medallion, at whatever version it is.
      for (const layer of ['silver', 'quarantine', 'duplicates']) {
        try {
          await peerRead(python, join(dataDir, 'lake', layer, 'attendance_events'));
        } catch (err) {
          if (!/No files in log segment|not a Delta table|TableNotFound|no log files/i.test(String(err))) throw err;
        }
      }
      const q = await medallion(['query', 'SELECT count(*) FROM bronze.attendance_events'], env);
      assert.equal(q.code, 0, q.stderr);
    }
    assert.ok(kills >= 10, `only ${kills} kills landed before refine finished`);

    const done = await medallion(['refine'], env);
    assert.equal(done.code, 0, done.stderr);
    const s = await medallionJson<PipelineStatus>(['status', '--json'], env);
    assert.equal(s.bronze.rows, truth.records);
    assert.equal(s.silver.rows, truth.events);
    assert.equal(s.duplicates.rows, truth.duplicates);
    assert.equal(s.quarantine.rows, truth.malformed + truth.invalid + truth.unknownSchool);
    assert.equal(s.late.rows, truth.late);
    const unique = await medallionJson<{ n: number; ids: number }[]>(
      [
        'query',
        'SELECT count(*)::INT AS n, count(DISTINCT event_id)::INT AS ids FROM silver.attendance_events',
        '--json',
      ],
      env,
    );
    assert.deepEqual(unique, [{ n: truth.events, ids: truth.events }]);
    const peer = await peerRead(python, join(dataDir, 'lake', 'silver', 'attendance_events'));
    assert.equal(peer.rows.length, truth.events);
  } finally {
    await cleanup();
  }
});
