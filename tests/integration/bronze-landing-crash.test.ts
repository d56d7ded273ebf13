import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { medallion, medallionJson } from '../helpers/cli.ts';
import { smallBatches as batchesOf, sleep, startIngest, waitFor } from '../helpers/ingest-harness.ts';
import { tempProject } from '../helpers/temp-project.ts';

const smallBatches = (c: Parameters<typeof batchesOf>[0]) => batchesOf(c, undefined);

interface FileCount {
  f: string;
  n: number;
  d: number;
  lo: number;
  hi: number;
}

test('landing crash test: 500,000 events in landing files, ingester SIGKILLed at random moments ≥ 10 times, every (file, line) in bronze exactly once', {
  timeout: 600_000,
}, async (t) => {
  const p = await tempProject(smallBatches);
  const args = ['--project', p.dir];
  const env = { MEDALLION_HOME: p.home };
  try {
    const sim = medallion(['simulate', ...args, '--events', '500000', '--json'], env);
    const kills: number[] = [];
    for (let i = 0; i < 12; i++) {
      const ing = startIngest(args, env);
      const before = ing.batches;
      // Once every file is in bronze an ingester has nothing to write: it is killed idle, after a while.
      await Promise.race([waitFor('a first batch', () => ing.batches > before, 15_000).catch(() => {}), ing.exited]);
      const delay = Math.floor(Math.random() * 700);
      await sleep(delay);
      ing.child.kill('SIGKILL');
      assert.equal(await ing.exited, null, `ingester ${i} exited by itself: ${ing.stderr}`);
      kills.push(delay);
    }
    t.diagnostic(`SIGKILL delays after the first batch (ms): ${kills.join(', ')}`);
    const truth = await sim;
    assert.equal(truth.code, 0, truth.stderr);
    assert.equal(JSON.parse(truth.stdout).records, 500_000);
    const last = await medallion(['ingest', ...args, '--once'], env);
    assert.equal(last.code, 0, last.stderr);

    // Ground truth: the complete lines of every landing file.
    const dir = join(p.home, 'landing', 'attendance_events');
    const expected: FileCount[] = [];
    for (const f of (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort()) {
      const text = await readFile(join(dir, f));
      let lines = 0;
      for (const b of text) if (b === 0x0a) lines++;
      expected.push({ f, n: lines, d: lines, lo: 1, hi: lines });
    }
    assert.equal(
      expected.reduce((a, e) => a + e.n, 0),
      500_000,
    );
    const counts = await medallionJson<FileCount[]>(
      [
        'query',
        ...args,
        `SELECT source_file AS f, count(*)::INT AS n, count(DISTINCT source_line)::INT AS d,
                min(source_line)::INT AS lo, max(source_line)::INT AS hi
         FROM bronze.attendance_events GROUP BY 1 ORDER BY 1`,
        '--json',
      ],
      env,
    );
    assert.deepEqual(counts, expected);

    // Reading every file again from its first line adds nothing.
    const replay = await medallion(['ingest', ...args, '--once', '--from-beginning', '--json'], env);
    assert.equal(replay.code, 0, replay.stderr);
    assert.equal(JSON.parse(replay.stdout).events.files, 0);
  } finally {
    await p.cleanup();
  }
});
