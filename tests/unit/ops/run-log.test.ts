import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadProject } from '../../../src/config/project.ts';
import { addJobObserver, type JobEndEvent } from '../../../src/ops/job-events.ts';
import { appendRun, loggedRun, readRuns, readRunsFrom, runLogFile } from '../../../src/ops/run-log.ts';
import { runQuery } from '../../../src/query/query.ts';
import { LocalStorage } from '../../../src/storage/local/local-storage.ts';

function entry(job: string, n: number) {
  return {
    runId: `run-${job}-${n}`,
    job,
    startedAt: `2026-01-0${n}T10:00:00.000Z`,
    finishedAt: `2026-01-0${n}T10:00:01.500Z`,
    status: 'success' as const,
    durationMs: 1500,
    counts: { records: n * 100 },
  };
}

test('the run log survives a torn line: readers skip it, the next append is whole, ops.runs lists the rest', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'medallion-runlog-'));
  try {
    const project = loadProject({ dataDir });
    const paths = project.paths;
    await appendRun(paths, entry('ingest', 1));
    await appendRun(paths, entry('refine', 2));
    // What a process killed in the middle of its write leaves: half a line, no newline.
    await appendFile(runLogFile(paths), '{"runId":"torn","job":"load","startedAt":"2026-01-03T1');
    const before = await readRunsFrom(paths, 0);
    assert.deepEqual(
      before.entries.map((e) => e.job),
      ['ingest', 'refine'],
    );
    const again = await readRunsFrom(paths, before.next);
    assert.equal(again.entries.length, 0, 'an unfinished line is left for a later read');
    assert.equal(again.next, before.next);

    await appendRun(paths, { ...entry('build', 4), status: 'failed', error: { code: 'MDL_DBT_RUN', message: 'boom' } });
    const text = await readFile(runLogFile(paths), 'utf8');
    assert.equal(text.split('\n').filter(Boolean).length, 4, 'the torn fragment stays a line of its own');
    assert.deepEqual(
      (await readRuns(paths)).map((e) => e.job),
      ['ingest', 'refine', 'build'],
    );
    const tail = await readRunsFrom(paths, before.next);
    assert.deepEqual(
      tail.entries.map((e) => e.job),
      ['build'],
    );
    assert.equal(tail.next, (await stat(runLogFile(paths))).size);

    const storage = new LocalStorage(paths.lake);
    const r = await runQuery(
      project,
      storage,
      "SELECT job, status, duration_ms, (counts->>'records')::INT AS records, error_code, error_message, version, epoch_ms(finished_at) AS finished_ms FROM ops.runs ORDER BY finished_at",
    );
    assert.deepEqual(r.columns, [
      'job',
      'status',
      'duration_ms',
      'records',
      'error_code',
      'error_message',
      'version',
      'finished_ms',
    ]);
    const version = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')).version;
    assert.deepEqual(
      r.rows.map((row) => row.map((v) => (typeof v === 'bigint' ? Number(v) : v))),
      [
        ['ingest', 'success', 1500, 100, null, null, version, Date.parse('2026-01-01T10:00:01.500Z')],
        ['refine', 'success', 1500, 200, null, null, version, Date.parse('2026-01-02T10:00:01.500Z')],
        ['build', 'failed', 1500, 400, 'MDL_DBT_RUN', 'boom', version, Date.parse('2026-01-04T10:00:01.500Z')],
      ],
    );
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('loggedRun writes the run with its parent and tells the observers, also when the job fails', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'medallion-runlog-'));
  const ended: JobEndEvent[] = [];
  const stop = addJobObserver({ onEnd: (e) => void ended.push(e) });
  try {
    const { paths } = loadProject({ dataDir });
    const parent = await loggedRun(paths, 'run.cycle', async (cycleId) => {
      await loggedRun(paths, 'refine', async () => ({ records: 7 }), cycleId);
      return { cycleId };
    });
    await assert.rejects(
      loggedRun(paths, 'load', async () => {
        throw Object.assign(new Error('disk full'), { code: 'MDL_STORAGE' });
      }),
    );
    const runs = await readRuns(paths);
    assert.deepEqual(
      runs.map((r) => [r.job, r.status, r.parentRunId ?? null, r.error?.code ?? null]),
      [
        ['refine', 'success', parent.cycleId, null],
        ['run.cycle', 'success', null, null],
        ['load', 'failed', null, 'MDL_STORAGE'],
      ],
    );
    assert.equal(runs[1]!.runId, parent.cycleId);
    assert.deepEqual(
      ended.filter((e) => runs.some((r) => r.runId === e.runId)).map((e) => `${e.job}:${e.status}`),
      ['refine:success', 'run.cycle:success', 'load:failed'],
    );
  } finally {
    stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
