import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DeltaTable } from '../../src/lake/delta/delta-table.ts';
import { EVENT_SCHEMA, readRows, tempLake } from '../fixtures/delta/table-fixture.ts';

const run = promisify(execFile);
const CHILD = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'delta', 'writer-child.ts');
const PATH = 'silver/attendance_events';

test('three writer processes committing at once never share a version and lose no commit', async (t) => {
  const lake = await tempLake();
  t.after(() => lake.cleanup());
  await DeltaTable.create(lake.storage, PATH, lake.engine, { schema: EVENT_SCHEMA, partitionColumns: ['event_date'] });
  const commits = 12;
  const writers = ['w1', 'w2', 'w3'];
  const outputs = await Promise.all(
    writers.map((w) => run(process.execPath, [CHILD, 'append', lake.root, PATH, w, String(commits)])),
  );
  const results = outputs.flatMap((o) =>
    o.stdout
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { writer: string; i: number; version: number; committed: boolean; attempts: number },
      ),
  );
  assert.equal(results.length, writers.length * commits);
  assert.ok(results.every((r) => r.committed));
  const versions = results.map((r) => r.version).sort((a, b) => a - b);
  assert.deepEqual(
    versions,
    Array.from({ length: writers.length * commits }, (_, i) => i + 1),
    'every version won by exactly one writer',
  );
  const retried = results.filter((r) => r.attempts > 1).length;
  process.stderr.write(
    `delta concurrency: ${results.length} commits by ${writers.length} processes, ${retried} retried after losing a version\n`,
  );
  const table = await DeltaTable.open(lake.storage, PATH, lake.engine);
  const rows = await readRows(table);
  assert.equal(rows.length, writers.length * commits * 5);
  assert.equal(new Set(rows.map((r) => r.event_id)).size, rows.length);
  const snap = await table.snapshot();
  assert.equal(snap.version, writers.length * commits);
  assert.ok(await lake.storage.exists(`${PATH}/_delta_log/00000000000000000030.checkpoint.parquet`));
});
