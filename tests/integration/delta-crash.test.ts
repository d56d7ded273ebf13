import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { vacuumTable } from '../../src/lake/delta/delta-maintenance.ts';
import { DeltaTable } from '../../src/lake/delta/delta-table.ts';
import { deltaPythonOrSkip, normalizeRows, peerRead } from '../fixtures/delta/delta-peer.ts';
import { EVENT_SCHEMA, readRows, tempLake } from '../fixtures/delta/table-fixture.ts';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'delta', 'writer-child.ts');
const PATH = 'silver/attendance_events';
const ROUNDS = 16;

interface Marks {
  ready?: number;
  files?: number;
  committed?: number;
}

/**
 * Runs a batch writer. With `kill`, SIGKILLs it `delayMs` after it printed the `after` mark (`ready`:
 * table opened; `files`: data files written, commit starting). Returns its output and when each mark came.
 */
function runBatch(
  root: string,
  batch: number,
  kill?: { after: 'ready' | 'files'; delayMs: number },
): Promise<{ out: string; killed: boolean; marks: Marks }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const marks: Marks = {};
    const child = spawn(process.execPath, [CHILD, 'batch', root, PATH, String(batch)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: kill ? { ...process.env, DELTA_CHILD_LINGER_MS: '3000' } : process.env,
    });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const mark of ['ready', 'files', 'committed'] as const) {
        if (marks[mark] === undefined && out.includes(mark)) {
          marks[mark] = performance.now() - started;
          if (kill && kill.after === mark) timer = setTimeout(() => child.kill('SIGKILL'), kill.delayMs);
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal === 'SIGKILL') resolve({ out, killed: true, marks });
      else if (code === 0) resolve({ out, killed: false, marks });
      else reject(new Error(`batch writer exited ${code}: ${err}`));
    });
  });
}

test('SIGKILL while writing a batch leaves the table readable at its previous version; rerunning completes it exactly once', async (t) => {
  const python = deltaPythonOrSkip(t);
  if (!python) return;
  const lake = await tempLake();
  t.after(() => lake.cleanup());
  const table = await DeltaTable.create(lake.storage, PATH, lake.engine, {
    schema: EVENT_SCHEMA,
    partitionColumns: ['event_date'],
  });
  const dir = join(lake.root, PATH);
  // Batch 0 unharmed, to learn how long a writer runs.
  const first = await runBatch(lake.root, 0);
  assert.match(first.out, /committed 1 true/);
  const writeSpan = (first.marks.committed! - first.marks.ready!) * 1.2;
  const commitSpan = (first.marks.committed! - first.marks.files!) * 1.5;
  const outcome = { beforeFiles: 0, filesNotCommitted: 0, committed: 0, notKilledInTime: 0 };
  let seed = 20181001;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let batch = 1; batch <= ROUNDS; batch++) {
    const before = await table.snapshot();
    // Odd rounds: any moment of the batch; even rounds: any moment of the commit itself.
    const kill =
      batch % 2 === 1
        ? { after: 'ready' as const, delayMs: random() * writeSpan }
        : { after: 'files' as const, delayMs: random() * commitSpan };
    const killed = await runBatch(lake.root, batch, kill);
    // Whatever the moment of the kill, the table is readable, at its previous version or with the whole batch.
    const after = await table.snapshot();
    const rows = await readRows(table);
    const committed = after.version === before.version + 1;
    assert.ok(after.version === before.version || committed);
    assert.equal(rows.length, (committed ? batch + 1 : batch) * 100);
    const peer = await peerRead(python, dir);
    assert.equal(peer.version, after.version);
    assert.deepEqual(peer.rows, normalizeRows(rows));
    if (!killed.killed) outcome.notKilledInTime++;
    else if (committed) outcome.committed++;
    else if (killed.out.includes('files')) outcome.filesNotCommitted++;
    else outcome.beforeFiles++;
    // Rerun the same batch (same txn): it completes it, or sees it is already in.
    const rerun = await runBatch(lake.root, batch);
    assert.match(rerun.out, committed ? /already/ : /committed \d+ true/);
    const final = await readRows(table);
    assert.equal(final.length, (batch + 1) * 100, 'nothing lost or doubled');
    assert.equal(new Set(final.map((r) => r.event_id)).size, final.length);
    assert.equal(await table.txnVersion('crash-test'), batch);
  }
  process.stderr.write(
    `delta crash test: ${ROUNDS} rounds (kill 0–${Math.round(writeSpan)} ms into the batch or 0–${Math.round(commitSpan)} ms into its commit): ${JSON.stringify(outcome)}\n`,
  );
  const peer = await peerRead(python, dir);
  assert.equal(peer.rows.length, (ROUNDS + 1) * 100);
  // The files of the killed attempts were never committed: vacuum removes them as orphans.
  const orphans = await vacuumTable(table, { retentionHours: 0, force: true, now: Date.now() + 1000 });
  assert.equal(orphans.deleted.length > 0, outcome.filesNotCommitted + outcome.committed > 0);
  const live = new Set((await table.snapshot()).activeFiles.map((f) => f.key));
  assert.ok(orphans.deleted.every((k) => !live.has(k)));
  const leftovers = await lake.engine.all(`SELECT file FROM glob('${dir}/**/*.tmp')`);
  assert.deepEqual(leftovers, [], 'no temporary file of a killed writer is left');
  assert.equal((await peerRead(python, dir)).rows.length, (ROUNDS + 1) * 100);
});
