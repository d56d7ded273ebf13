import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { PipelineStatus } from '../../src/ops/status.ts';
import { medallion, medallionJson } from '../helpers/cli.ts';
import { eventLine } from '../helpers/temp-context.ts';

const dayMetrics = (date: string) =>
  `SELECT sum(enrolled)::INT AS enrolled, sum(present)::INT AS present, sum(late_arriving_events)::INT AS late_arriving
   FROM gold.fact_event_metrics WHERE event_date = DATE '${date}'`;

test('duplicates re-sent days later are removed; a late event lands flagged and its day is corrected in gold', async () => {
  const home = await mkdtemp(join(tmpdir(), 'medallion-history-'));
  const env = { MEDALLION_HOME: home };
  const landing = join(home, 'landing', 'attendance_events');
  try {
    assert.equal((await medallion(['simulate', '--days', '1', '--sample', '0.004', '--faults', 'none'], env)).code, 0);
    assert.equal((await medallion(['run', '--once'], env)).code, 0);
    const day1 = await medallionJson<{ enrolled: number; present: number; late_arriving: number }[]>(
      ['query', dayMetrics('2018-10-01'), '--json'],
      env,
    );
    const first = await medallionJson<PipelineStatus>(['status', '--json'], env);

    // Two school days later: 40 events of the first day are sent again, exactly as before.
    const day1Lines = (await readFile(join(landing, (await readdir(landing)).sort()[0]!), 'utf8'))
      .split('\n')
      .filter(Boolean);
    const resent = day1Lines.filter((_, i) => i % 50 === 7).slice(0, 40);
    assert.equal(resent.length, 40);
    assert.equal(
      (
        await medallion(
          [
            'simulate',
            '--days',
            '1',
            '--sample',
            '0.004',
            '--faults',
            'none',
            '--start-date',
            '2018-10-03',
            '--seed',
            '9',
          ],
          env,
        )
      ).code,
      0,
    );
    // …and one present event of the first day that a device held back arrives after all of that.
    const lateEvent = eventLine('held-back-0001', {
      dbn: '01M015',
      student_id: '999000111',
      event_time: '2018-10-01T08:10:00-04:00',
      status: 'present',
    });
    await writeFile(join(landing, 'events-99999999T999999999Z-resent.jsonl'), `${resent.join('\n')}\n${lateEvent}\n`);
    assert.equal((await medallion(['run', '--once'], env)).code, 0);

    const s = await medallionJson<PipelineStatus>(['status', '--json'], env);
    assert.equal(s.duplicates.rows - first.duplicates.rows, 40, 'every re-sent event is a duplicate');
    assert.equal(s.late.rows - first.late.rows, 1);
    const late = await medallionJson<{ event_id: string; is_late: boolean; event_date: string }[]>(
      [
        'query',
        "SELECT event_id, is_late, event_date::VARCHAR AS event_date FROM silver.attendance_events WHERE event_id = 'held-back-0001'",
        '--json',
      ],
      env,
    );
    assert.deepEqual(late, [{ event_id: 'held-back-0001', is_late: true, event_date: '2018-10-01' }]);
    const after = await medallionJson<{ enrolled: number; present: number; late_arriving: number }[]>(
      ['query', dayMetrics('2018-10-01'), '--json'],
      env,
    );
    assert.deepEqual(after, [
      { enrolled: day1[0]!.enrolled + 1, present: day1[0]!.present + 1, late_arriving: day1[0]!.late_arriving + 1 },
    ]);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
