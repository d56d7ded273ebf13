import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadProject, type PipelineProject } from '../../../src/config/project.ts';
import { MedallionError } from '../../../src/core/errors.ts';
import { openDuckDb } from '../../../src/engine/duckdb.ts';
import {
  fnv1a32,
  type GroundTruth,
  parseFaultSpec,
  partitionForDbn,
  type SimulateOptions,
  simulate,
  simulationPlan,
  volumeForRecords,
} from '../../../src/simulate/index.ts';
import { audit, contractBreak, MemorySink, referenceDbns } from './stream-audit.ts';

const home = mkdtempSync(join(tmpdir(), 'medallion-sim-'));
after(() => rmSync(home, { recursive: true, force: true }));
const project = loadProject({ dataDir: home });
const L = project.config.events.allowedLatenessMinutes;
let known: Set<string>;

before(async () => {
  known = await referenceDbns([
    { file: project.resolve('reference/school_locations_2019_20.csv'), column: 'system_code' },
    { file: project.resolve('reference/demographic_snapshot_2013_18.csv'), column: 'DBN' },
    { file: project.resolve('reference/attendance_2017_21.csv'), column: 'dbn' },
    { file: project.resolve('reference/temporary_housing_2017_21.csv'), column: 'dbn' },
  ]);
});

async function run(options: SimulateOptions, partitions?: number, p: PipelineProject = project) {
  const sink = new MemorySink(partitions);
  const truth = await simulate(p, options, sink);
  return { truth, records: sink.records, sink };
}

function assertTruthMatches(truth: GroundTruth, records: MemorySink['records']) {
  const a = audit(records, known, L);
  assert.deepEqual(Object.keys(truth).slice(0, 6), [
    'records',
    'duplicates',
    'malformed',
    'invalid',
    'late',
    'unknownSchool',
  ]);
  assert.equal(truth.records, a.records);
  assert.equal(truth.duplicates, a.duplicates);
  assert.equal(truth.malformed, a.malformed);
  assert.equal(truth.invalid, a.invalid);
  assert.equal(truth.unknownSchool, a.unknownSchool);
  assert.equal(truth.late, a.late);
  assert.equal(a.lateIfEveryTimeCounted, a.late, 'extra records never move a watermark');
  assert.equal(truth.events, a.events);
  assert.deepEqual(truth.byStatus, a.byStatus);
  return a;
}

test('--events 20000 writes exactly 20,000 records whose faults match the ground truth', async () => {
  const { truth, records } = await run({ events: 20_000 });
  assert.equal(records.length, 20_000);
  const a = assertTruthMatches(truth, records);
  const base = truth.events;
  assert.equal(truth.duplicates, Math.round(0.004 * base));
  assert.equal(truth.malformed + truth.invalid + truth.unknownSchool + truth.duplicates + base, 20_000);
  assert.ok(truth.late > 0 && truth.late === Math.round(0.002 * base), `late ${truth.late}`);
  assert.equal(truth.outOfOrder, Math.round(0.01 * base));
  assert.ok(truth.malformed > 0 && truth.invalid > 0 && truth.unknownSchool > 0);
  for (const d of a.duplicateDistances) assert.ok(d >= 1 && d <= 2000, `duplicate distance ${d}`);
  for (const dbn of a.unknownDbns) {
    assert.match(dbn, /^\d{2}[MXKQR]\d{3}$/);
    assert.equal(known.has(dbn), false);
  }
  assert.equal(truth.days, 1);
  assert.equal(truth.students, base);
  for (const r of records) assert.equal(r.partition, 0);
});

test('valid events have the contract keys in order, unique uuid-shaped ids and school-hour times', async () => {
  const { records } = await run({ sample: 0.002, days: 4, startDate: '2018-11-01' });
  const windows: Record<string, [string, string]> = {
    present: ['07:30:00', '08:25:00'],
    late: ['08:25:00', '10:30:00'],
    absent: ['09:00:00', '09:45:00'],
    excused: ['07:30:00', '14:00:00'],
  };
  const offsets: Record<string, string> = {
    '2018-11-01': '-04:00',
    '2018-11-02': '-04:00',
    '2018-11-05': '-05:00',
    '2018-11-07': '-05:00',
  };
  const a = audit(records, known, L);
  const ids = new Set<string>();
  for (const line of a.validLines) {
    const o = JSON.parse(line);
    assert.deepEqual(Object.keys(o), [
      'schema_version',
      'event_id',
      'event_type',
      'dbn',
      'student_id',
      'event_time',
      'status',
    ]);
    assert.match(o.event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    ids.add(o.event_id);
    const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})([+-]\d{2}:\d{2})$/.exec(o.event_time);
    assert.ok(m, o.event_time);
    assert.equal(m[3], offsets[m[1]!], o.event_time);
    const [from, to] = windows[o.status]!;
    assert.ok(m[2]! >= from && m[2]! < to, `${o.status} at ${m[2]}`);
  }
  assert.equal(ids.size, a.validLines.length);
  assert.deepEqual(
    new Set(a.validLines.map((l) => JSON.parse(l).event_time.slice(0, 10))),
    new Set(Object.keys(offsets)),
  );
});

test('the same options and seed give byte-identical records; another seed gives others', async () => {
  const one = await run({ events: 5_000, seed: 11 });
  const two = await run({ events: 5_000, seed: 11 });
  const three = await run({ events: 5_000, seed: 12 });
  assert.deepEqual(one.records, two.records);
  assert.deepEqual(one.truth, two.truth);
  assert.notDeepEqual(
    one.records.map((r) => r.value),
    three.records.map((r) => r.value),
  );
  const ids = new Set(one.records.map((r) => r.value.slice(0, 80)));
  assert.ok(three.records.filter((r) => ids.has(r.value.slice(0, 80))).length < 10);
});

test('a sample over several days keeps the same students, and a student keeps its events across runs', async () => {
  const { truth, records } = await run({ sample: 0.001, days: 3, faults: 'none' });
  assert.equal(truth.days, 3);
  assert.equal(truth.students, Math.round(0.001 * 1_072_581));
  assert.equal(truth.records, truth.students * 3);
  assertTruthMatches(truth, records);
  const byDay = new Map<string, Set<string>>();
  for (const r of records) {
    const o = JSON.parse(r.value);
    const day = o.event_time.slice(0, 10);
    if (!byDay.has(day)) byDay.set(day, new Set());
    byDay.get(day)!.add(o.student_id);
  }
  const [d1, d2, d3] = [...byDay.values()];
  assert.deepEqual(d1, d2);
  assert.deepEqual(d2, d3);
  const wider = await run({ sample: 0.002, days: 1, faults: 'none' });
  const lines = new Set(wider.records.map((r) => r.value));
  const first = records.filter((r) => r.value.includes(`"event_time":"${[...byDay.keys()][0]}`));
  for (const r of first) assert.ok(lines.has(r.value), 'a bigger sample includes the smaller one, event for event');
});

test('kafka-style partitions: records go to fnv1a32(dbn) % partitions and late is replayed per partition', async () => {
  assert.equal(fnv1a32(''), 0x811c9dc5);
  assert.equal(fnv1a32('a'), 0xe40c292c);
  assert.equal(fnv1a32('foobar'), 0xbf9cf968);
  const { truth, records } = await run(
    {
      events: 20_000,
      faults: parseFaultSpec('late=0.01,duplicate=0.02,malformed=0.005,invalid=0.005,unknownSchool=0.005'),
    },
    3,
  );
  assert.equal(records.length, 20_000);
  assert.equal(truth.partitions, 3);
  const parts = new Set<number>();
  for (const r of records) {
    parts.add(r.partition);
    assert.equal(r.partition, partitionForDbn(r.key, 3));
    let o: { dbn?: unknown } | undefined;
    try {
      o = JSON.parse(r.value);
    } catch {}
    if (typeof o?.dbn === 'string' && /^\d{2}[MXKQR]\d{3}$/.test(o.dbn)) assert.equal(r.key, o.dbn);
  }
  assert.deepEqual([...parts].sort(), [0, 1, 2]);
  assertTruthMatches(truth, records);
  assert.ok(truth.late >= 190, `late ${truth.late}`);
  // Replayed as one stream the same records would give another late count: streams matter.
  const asOneStream = audit(
    records.map((r) => ({ ...r, partition: 0 })),
    known,
    L,
  );
  assert.ok(asOneStream.late >= truth.late);
});

test('malformed lines are not JSON for DuckDB either, and invalid ones break exactly the contract', async () => {
  const { records } = await run({
    events: 30_000,
    faults: parseFaultSpec('none,malformed=0.02,invalid=0.02,unknownSchool=0.01'),
  });
  const a = audit(records, known, L);
  assert.ok(a.malformedLines.length >= 500);
  const reasons = new Set(a.invalidRecords.map((r) => r.reason));
  assert.deepEqual([...reasons].sort(), [
    'dbn',
    'event_id',
    'event_time',
    'event_type',
    'schema_version',
    'status',
    'student_id',
  ]);
  const shapes = new Set(a.malformedLines.map((l) => l.slice(0, 3)));
  assert.ok(shapes.size >= 5, 'malformed lines are varied');
  const db = await openDuckDb(':memory:');
  try {
    await db.append(
      'lines',
      [
        { name: 'kind', type: 'VARCHAR' },
        { name: 'v', type: 'VARCHAR' },
      ],
      [
        ...a.malformedLines.map((v) => ['malformed', v]),
        ...a.invalidRecords.filter((r) => r.reason === 'event_time').map((r) => ['bad_time', r.line]),
        ...a.validLines.slice(0, 2000).map((v) => ['valid', v]),
      ],
    );
    const rows = await db.all<{ kind: string; json_ok: number; time_ok: number; n: number }>(
      `SELECT kind, count(*) FILTER (WHERE json_valid(v)) json_ok,
              count(*) FILTER (WHERE CASE WHEN json_valid(v) THEN json_type(v, '$.event_time') = 'VARCHAR'
                AND TRY_CAST(json_extract_string(v, '$.event_time') AS TIMESTAMPTZ) IS NOT NULL ELSE false END) time_ok,
              count(*) n
       FROM lines GROUP BY kind ORDER BY kind`,
    );
    const by = Object.fromEntries(rows.map((r) => [r.kind, r]));
    assert.equal(by['malformed']!.json_ok, 0);
    assert.equal(by['bad_time']!.json_ok, by['bad_time']!.n);
    assert.equal(by['bad_time']!.time_ok, 0);
    assert.equal(by['valid']!.time_ok, by['valid']!.n);
  } finally {
    await db.close();
  }
  for (const r of a.invalidRecords) {
    const o = JSON.parse(r.line);
    if (r.reason !== 'event_id') assert.equal(typeof o.event_id, 'string');
  }
  assert.equal(contractBreak({}), 'schema_version');
});

test('--events is exact for any size and fault mix', () => {
  const rates = [
    { duplicate: 0.004, late: 0.002, outOfOrder: 0.01, malformed: 0.001, invalid: 0.001, unknownSchool: 0.001 },
    { duplicate: 0.5, late: 0.5, outOfOrder: 0.5, malformed: 0.5, invalid: 0.5, unknownSchool: 0.5 },
    { duplicate: 0.013, late: 0, outOfOrder: 0, malformed: 0.27, invalid: 0.031, unknownSchool: 0.0049 },
  ];
  for (const r of rates) {
    for (let n = 1; n <= 3000; n++) {
      const { base, faults } = volumeForRecords(n, r);
      assert.equal(base + faults.duplicate + faults.malformed + faults.invalid + faults.unknownSchool, n, `${n}`);
      assert.ok(base >= 1 && faults.duplicate <= base);
    }
  }
});

test('tiny and fault-heavy runs still write exactly N records and the truth holds', async () => {
  for (const events of [1, 2, 7, 150]) {
    const { truth, records } = await run({
      events,
      faults: parseFaultSpec('duplicate=0.5,malformed=0.5,late=0.5,outOfOrder=0.5'),
    });
    assert.equal(records.length, events, `${events}`);
    assertTruthMatches(truth, records);
  }
});

test('bad options are usage errors', async () => {
  const bad: SimulateOptions[] = [
    { events: 0 },
    { events: 1.5 },
    { days: 0 },
    { sample: 0 },
    { sample: 1.5 },
    { events: 10, days: 2 },
    { events: 10, sample: 0.5 },
    { seed: 0.5 },
    { startDate: '2018-13-01' },
  ];
  for (const options of bad) {
    await assert.rejects(
      run(options),
      (err: unknown) => err instanceof MedallionError && err.code === 'MDL_USAGE',
      JSON.stringify(options),
    );
  }
});

test('the plan and a run agree on schools and students', async () => {
  const plan = await simulationPlan(project);
  const { truth, records } = await run({ sample: 0.05, faults: 'none' });
  assert.equal(truth.students, Math.round(0.05 * plan.students));
  const dbns = new Set(plan.schools.map((s) => s.dbn));
  for (const r of records) assert.ok(dbns.has(r.key));
});

test('faults over several days and partitions: the truth holds across day boundaries', async () => {
  const progress: string[] = [];
  const sink = new MemorySink(4);
  const truth = await simulate(
    project,
    {
      sample: 0.005,
      days: 3,
      startDate: '2018-11-02',
      seed: 99,
      faults: parseFaultSpec('late=0.02,duplicate=0.02,outOfOrder=0.05'),
      onProgress: (p) => progress.push(`${p.day}/${p.days} ${p.date} ${p.records}`),
    },
    sink,
  );
  assert.equal(truth.days, 3);
  assert.deepEqual([truth.firstDate, truth.lastDate], ['2018-11-02', '2018-11-07']);
  assert.equal(progress.length, 3);
  assert.equal(progress[2], `3/3 2018-11-07 ${truth.records}`);
  const a = assertTruthMatches(truth, sink.records);
  assert.ok(truth.late >= Math.round(0.02 * truth.events) - 3, `late ${truth.late}`);
  for (const d of a.duplicateDistances) assert.ok(d >= 1 && d <= 2000);
});
