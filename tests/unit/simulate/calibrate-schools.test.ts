import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadProject } from '../../../src/config/project.ts';
import { openDuckDb, quoteLiteral } from '../../../src/engine/duckdb.ts';
import { DBN_PATTERN, loadReferenceData, simulationPlan, studentIdOf } from '../../../src/simulate/index.ts';
import { parseCsv } from '../../../src/simulate/parse-csv.ts';

const home = mkdtempSync(join(tmpdir(), 'medallion-sim-'));
after(() => rmSync(home, { recursive: true, force: true }));
const project = loadProject({ dataDir: home });

test('the CSV reader reads the reference files exactly as DuckDB does', async () => {
  const db = await openDuckDb(':memory:');
  try {
    for (const ref of project.config.reference) {
      const path = project.resolve(ref.file);
      const ours = parseCsv(readFileSync(path, 'utf8'));
      const { columns, rows } = await db.table(`SELECT * FROM read_csv(${quoteLiteral(path)}, all_varchar = true)`);
      assert.deepEqual(ours[0], columns, ref.dataset);
      assert.equal(ours.length - 1, rows.length, ref.dataset);
      for (let i = 0; i < rows.length; i++) {
        assert.deepEqual(
          ours[i + 1],
          rows[i]!.map((v) => (v === null ? '' : v)),
          `${ref.dataset} row ${i + 1}`,
        );
      }
    }
  } finally {
    await db.close();
  }
});

test('open schools with 2017-18 enrollment: 1,793 schools and 1,072,581 students, valid unique DBNs', async () => {
  const ref = await loadReferenceData(project);
  assert.equal(ref.schools.length, 1793);
  assert.equal(
    ref.schools.reduce((s, x) => s + x.enrollment, 0),
    1_072_581,
  );
  assert.equal(new Set(ref.schools.map((s) => s.dbn)).size, ref.schools.length);
  for (const s of ref.schools) {
    assert.match(s.dbn, DBN_PATTERN);
    assert.ok(s.enrollment > 0);
    assert.ok(s.attendancePct > 0 && s.attendancePct <= 100, s.dbn);
    assert.ok(s.chronicAbsentPct >= 0 && s.chronicAbsentPct <= 100, s.dbn);
    assert.ok(ref.knownDbns.has(s.dbn));
  }
});

test('calibration takes the 2018-19 All Grades figures and falls back to district, then city means', async () => {
  const db = await openDuckDb(':memory:');
  const file = project.resolve('reference/attendance_2017_21.csv');
  const official = new Map(
    (
      await db.all<{ dbn: string; a: number; c: number }>(
        `SELECT dbn, TRY_CAST(attendance AS DOUBLE) a, TRY_CAST(chronically_absent_1 AS DOUBLE) c
         FROM read_csv(${quoteLiteral(file)}, all_varchar = true)
         WHERE year = '2018-19' AND grade = 'All Grades' AND category = 'All Students'`,
      )
    ).map((r) => [r.dbn, r]),
  );
  const districtMean = new Map(
    (
      await db.all<{ d: string; a: number }>(
        `SELECT substr(dbn, 1, 2) d, avg(TRY_CAST(attendance AS DOUBLE)) a
         FROM read_csv(${quoteLiteral(file)}, all_varchar = true)
         WHERE year = '2018-19' AND grade = 'All Grades' AND category = 'All Students' GROUP BY 1`,
      )
    ).map((r) => [r.d, r.a]),
  );
  await db.close();
  const ref = await loadReferenceData(project);
  const bySource = { school: 0, district: 0, city: 0 };
  for (const s of ref.schools) {
    bySource[s.attendanceSource]++;
    const row = official.get(s.dbn);
    if (s.attendanceSource === 'school') {
      assert.equal(s.attendancePct, row!.a);
      assert.equal(s.chronicAbsentPct, row!.c);
    } else if (s.attendanceSource === 'district') {
      assert.equal(row, undefined);
      assert.ok(Math.abs(s.attendancePct - districtMean.get(s.district)!) < 1e-9);
    } else {
      assert.equal(districtMean.has(s.district), false, s.dbn);
    }
  }
  assert.ok(bySource.school > 1400, JSON.stringify(bySource));
  assert.ok(bySource.district > 0 && bySource.city > 0, JSON.stringify(bySource));
  const charters = ref.schools.filter((s) => s.district === '84');
  assert.ok(charters.length > 200);
  for (const s of charters) assert.equal(s.attendanceSource, 'city');
});

test('the plan draws chronic students at the school share and matches expected attendance', async () => {
  const plan = await simulationPlan(project, { seed: 7 });
  assert.equal(plan.students, 1_072_581);
  let chronic = 0;
  let expectedChronic = 0;
  let unclipped = 0;
  for (const s of plan.schools) {
    chronic += s.chronicStudents;
    expectedChronic += (s.enrollment * s.chronicAbsentPct) / 100;
    let sum = 0;
    for (let g = s.firstStudent; g < s.firstStudent + s.enrollment; g++) {
      const p = plan.attendProbability[g]!;
      assert.ok(p >= 0.5 && p <= 0.995, `${s.dbn} ${p}`);
      if (plan.chronic[g]) assert.ok(p >= 0.55 && p < 0.88);
      sum += p;
    }
    assert.ok(Math.abs((100 * sum) / s.enrollment - s.expectedAttendancePct) < 1e-6);
    if (s.regularAttendanceProbability > 0.5 && s.regularAttendanceProbability < 0.995) {
      unclipped++;
      assert.ok(Math.abs(s.expectedAttendancePct - s.attendancePct) < 1e-6, s.dbn);
    }
  }
  // U(0.55, 0.88) for chronic students is often too low for a school's official attendance, so the
  // other students hit the 0.995 ceiling in about 790 schools (their expected attendance is lower).
  assert.ok(unclipped > 1000, `${unclipped}`);
  assert.ok(Math.abs(chronic - expectedChronic) / expectedChronic < 0.01, `${chronic} vs ${expectedChronic}`);
});

test('student ids are unique 9-digit strings that do not depend on the seed', () => {
  const seen = new Set<string>();
  for (let g = 0; g < 1_072_581; g++) {
    const id = studentIdOf(g);
    assert.ok(/^[1-9]\d{8}$/.test(id), id);
    seen.add(id);
  }
  assert.equal(seen.size, 1_072_581);
});
