import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadProject } from '../../../src/config/project.ts';
import { MedallionError } from '../../../src/core/errors.ts';
import { simulate } from '../../../src/simulate/index.ts';
import { MemorySink } from './stream-audit.ts';

const home = mkdtempSync(join(tmpdir(), 'medallion-sim-drop-'));
after(() => rmSync(home, { recursive: true, force: true }));
const project = loadProject({ dataDir: home });

/** Valid event lines by date and borough letter (faults off, so every line is an event). */
function byDayAndBorough(records: MemorySink['records']): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  for (const r of records) {
    const e = JSON.parse(r.value) as { dbn: string; event_time: string };
    const day = e.event_time.slice(0, 10);
    const m = out.get(day) ?? new Map<string, string[]>();
    m.set(e.dbn[2]!, [...(m.get(e.dbn[2]!) ?? []), r.value]);
    out.set(day, m);
  }
  return out;
}

test('--drop-borough silences one borough from --drop-from on; earlier days are those of a run without it', async () => {
  const options = { days: 3, sample: 0.002, faults: 'none', startDate: '2018-10-01' } as const;
  const plain = new MemorySink();
  await simulate(project, options, plain);
  const dropped = new MemorySink();
  const truth = await simulate(project, { ...options, dropBorough: 'X', dropFrom: '2018-10-02' }, dropped);
  const a = byDayAndBorough(plain.records);
  const b = byDayAndBorough(dropped.records);
  assert.deepEqual(b.get('2018-10-01'), a.get('2018-10-01'), 'the day before the drop is unchanged');
  for (const day of ['2018-10-02', '2018-10-03']) {
    assert.equal(b.get(day)!.has('X'), false, `no Bronx event on ${day}`);
    assert.ok(a.get(day)!.get('X')!.length > 0, `the run without the drop has Bronx events on ${day}`);
    for (const borough of ['M', 'K', 'Q', 'R']) {
      assert.equal(b.get(day)!.get(borough)!.length, a.get(day)!.get(borough)!.length, `${borough} on ${day}`);
    }
  }
  assert.equal(truth.records, dropped.records.length);
  assert.equal(
    truth.records,
    plain.records.length - a.get('2018-10-02')!.get('X')!.length - a.get('2018-10-03')!.get('X')!.length,
  );
  await assert.rejects(
    simulate(project, { ...options, dropBorough: 'Z' }, new MemorySink()),
    (e: unknown) => e instanceof MedallionError && e.code === 'MDL_USAGE' && /borough letter/.test(e.message),
  );
  await assert.rejects(
    simulate(project, { ...options, dropFrom: '2018-10-02' }, new MemorySink()),
    (e: unknown) => e instanceof MedallionError && /--drop-from needs --drop-borough/.test(e.message),
  );
});
