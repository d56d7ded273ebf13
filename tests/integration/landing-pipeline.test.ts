import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { MedallionError } from '../../src/core/errors.ts';
import { IngestSession } from '../../src/ingest/ingest-job.ts';
import { readStatus } from '../../src/ops/status.ts';
import { ingestStep, loadStep, refineStep } from '../../src/pipeline/steps.ts';
import { runQuery } from '../../src/query/query.ts';
import { LandingSource } from '../../src/sources/landing/landing-source.ts';
import type { SourceBatch } from '../../src/sources/source.ts';
import { eventLine, tempContext } from '../helpers/temp-context.ts';

/** A landing source that "crashes" after bronze is durable but before the checkpoint is written. */
class CrashBeforeAck extends LandingSource {
  override async acknowledge(_batch: SourceBatch): Promise<void> {
    throw new Error('simulated crash before acknowledge');
  }
}

test('landing → bronze → silver → warehouse accounts for every record, exactly once', async () => {
  const { ctx, cleanup } = await tempContext();
  try {
    const dir = join(ctx.project.paths.landing, 'attendance_events');
    await mkdir(dir, { recursive: true });
    const lines = [
      eventLine('e1'),
      eventLine('e2', { student_id: '204512346', status: 'absent', event_time: '2018-10-01T09:30:00-04:00' }),
      eventLine('e1'), // duplicate in the same batch
      eventLine('e3', { dbn: '01M999' }), // well-formed DBN, unknown school
      eventLine('e4', { event_time: 'yesterday', status: 'maybe' }), // two rules broken
      '{"schema_version":1,"event_id":"e5",', // malformed JSON
      eventLine('e6', { student_id: '204512349', status: 'late', event_time: '2018-10-01T07:00:00-04:00' }), // late: 2.5 h behind
      eventLine('e7', { student_id: '204512350', event_time: '2018-10-01T09:00:00-04:00' }), // out of order, within lateness
    ];
    const bytes = Buffer.concat([Buffer.from(`${lines.join('\n')}\n`), Buffer.from([0xff, 0xfe, 0x7b, 0x0a])]); // + invalid UTF-8
    await writeFile(join(dir, 'events-0001.jsonl'), bytes);

    const first = await ingestStep(ctx, { once: true });
    assert.equal(first.events.records, 9);
    assert.equal(first.reference.length, 4);

    const r = await refineStep(ctx);
    assert.deepEqual(
      { records: r.records, silver: r.silver, quarantine: r.quarantine, duplicates: r.duplicates, late: r.late },
      { records: 9, silver: 4, quarantine: 4, duplicates: 1, late: 1 },
    );
    assert.deepEqual(r.quarantineByRule, {
      'dbn.reference': 1,
      'event_time.type': 1,
      malformed_json: 2,
      'status.accepted': 1,
    });

    // A duplicate of e2 arriving in a later file is still a duplicate (dedup across history).
    await writeFile(
      join(dir, 'events-0002.jsonl'),
      `${lines[1]}\n${eventLine('e8', { student_id: '204512351', event_time: '2018-10-01T09:35:00-04:00' })}\n`,
    );
    await ingestStep(ctx, { once: true });
    const r2 = await refineStep(ctx);
    assert.deepEqual({ silver: r2.silver, duplicates: r2.duplicates }, { silver: 1, duplicates: 1 });

    const loaded = await loadStep(ctx);
    assert.equal(loaded.datasets['attendance_events']?.rows, 5);

    // Re-running every step changes nothing.
    const again = await ingestStep(ctx, { once: true });
    assert.equal(again.events.records, 0);
    assert.equal((await refineStep(ctx)).records, 0);
    assert.equal((await loadStep(ctx)).datasets['attendance_events']?.rows, 0);

    const status = await readStatus(ctx.project, ctx.storage, ctx.engine);
    assert.deepEqual(
      [status.bronze.rows, status.silver.rows, status.quarantine.rows, status.duplicates.rows, status.late.rows],
      [11, 5, 4, 2, 1],
    );

    const silver = await runQuery(
      ctx.project,
      ctx.storage,
      'SELECT event_id, is_late FROM silver.attendance_events ORDER BY event_id',
    );
    assert.deepEqual(silver.rows, [
      ['e1', false],
      ['e2', false],
      ['e6', true],
      ['e7', false],
      ['e8', false],
    ]);
    const raw = await runQuery(
      ctx.project,
      ctx.storage,
      'SELECT count(*) FROM bronze.attendance_events WHERE value_bytes IS NOT NULL',
    );
    assert.deepEqual(raw.rows, [[1]]);
  } finally {
    await cleanup();
  }
});

test('a crash after bronze is durable but before the checkpoint does not double any record', async () => {
  const { ctx, cleanup } = await tempContext();
  try {
    const dir = join(ctx.project.paths.landing, 'attendance_events');
    await mkdir(dir, { recursive: true });
    const lines = Array.from({ length: 50 }, (_, i) => eventLine(`c${i}`, { student_id: String(204500000 + i) }));
    await writeFile(join(dir, 'events-0001.jsonl'), `${lines.join('\n')}\n`);
    const checkpointPath = join(ctx.project.paths.state, 'ingest-landing-attendance_events.json');
    const crashing = await IngestSession.open(
      ctx.project,
      new CrashBeforeAck({ dir, checkpointPath }),
      ctx.storage,
      ctx.engine,
    );
    await assert.rejects(crashing.pump({ until: 'caught-up' }), /simulated crash/);
    await crashing.close();

    const resumed = await ingestStep(ctx, { once: true });
    assert.equal(resumed.events.records, 0, 'the file written before the crash is recognised as durable');
    const count = await runQuery(
      ctx.project,
      ctx.storage,
      'SELECT count(*), count(DISTINCT source_line) FROM bronze.attendance_events',
    );
    assert.deepEqual(count.rows, [[50, 50]]);
  } finally {
    await cleanup();
  }
});

test('query is read-only and explains what is wrong', async () => {
  const { ctx, cleanup } = await tempContext();
  try {
    await ingestStep(ctx, { once: true });
    await refineStep(ctx);
    await assert.rejects(
      runQuery(ctx.project, ctx.storage, 'DELETE FROM silver.school_locations'),
      (e: MedallionError) => e.code === 'MDL_QUERY_READ_ONLY',
    );
    await assert.rejects(
      runQuery(ctx.project, ctx.storage, "COPY (SELECT 1) TO '/tmp/x.csv'"),
      (e: MedallionError) => e.code === 'MDL_QUERY_READ_ONLY',
    );
    await assert.rejects(
      runQuery(ctx.project, ctx.storage, 'SELECT 1; SELECT 2'),
      (e: MedallionError) => e.code === 'MDL_QUERY_READ_ONLY',
    );
    await assert.rejects(
      runQuery(ctx.project, ctx.storage, 'SELEC 1'),
      (e: MedallionError) => e.code === 'MDL_QUERY_INVALID',
    );
    const n = await runQuery(
      ctx.project,
      ctx.storage,
      "SELECT count(*) FROM silver.school_locations WHERE status_descriptions = 'Open'",
    );
    assert.deepEqual(n.rows, [[1843]]);
  } finally {
    await cleanup();
  }
});
