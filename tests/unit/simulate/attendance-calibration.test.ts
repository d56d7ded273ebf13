import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadProject } from '../../../src/config/project.ts';
import { simulate, simulationPlan } from '../../../src/simulate/index.ts';
import { MemorySink } from './stream-audit.ts';

const home = mkdtempSync(join(tmpdir(), 'medallion-sim-'));
after(() => rmSync(home, { recursive: true, force: true }));
const project = loadProject({ dataDir: home });

test('over 60 school days a sample attends and is chronically absent as calibrated', async () => {
  const days = 60;
  const sink = new MemorySink();
  const truth = await simulate(project, { sample: 0.01, days, faults: 'none' }, sink);
  assert.equal(truth.records, truth.students * days);
  const plan = await simulationPlan(project);
  const schoolOf = new Map(plan.schools.map((s) => [s.dbn, s]));
  const attended = new Map<string, { dbn: string; n: number }>();
  for (const r of sink.records) {
    const o = JSON.parse(r.value) as { dbn: string; student_id: string; status: string };
    const a = attended.get(o.student_id) ?? { dbn: o.dbn, n: 0 };
    if (o.status === 'present' || o.status === 'late') a.n++;
    attended.set(o.student_id, a);
  }
  assert.equal(attended.size, truth.students);
  let chronic = 0;
  let expectedChronic = 0;
  let rate = 0;
  let expectedRate = 0;
  for (const { dbn, n } of attended.values()) {
    const s = schoolOf.get(dbn)!;
    if (n / days < 0.9) chronic++;
    expectedChronic += s.chronicAbsentPct / 100;
    rate += n / days;
    expectedRate += s.expectedAttendancePct / 100;
  }
  const share = chronic / attended.size;
  const expectedShare = expectedChronic / attended.size;
  // Chronic students attend at most 88%, the others at their school's regular rate; over 60 days a
  // few of either cross the 90% line, so the realised share is close to, not equal to, the official one.
  assert.ok(Math.abs(share - expectedShare) < 0.02, `chronic ${share.toFixed(3)} vs ${expectedShare.toFixed(3)}`);
  assert.ok(
    Math.abs(rate / attended.size - expectedRate / attended.size) < 0.002,
    `attendance ${(rate / attended.size).toFixed(4)} vs ${(expectedRate / attended.size).toFixed(4)}`,
  );
  assert.ok(truth.byStatus.late > 0 && truth.byStatus.excused > 0 && truth.byStatus.absent > 0);
  const absent = truth.byStatus.absent + truth.byStatus.excused;
  assert.ok(Math.abs(truth.byStatus.excused / absent - 0.25) < 0.01);
  const present = truth.byStatus.present + truth.byStatus.late;
  assert.ok(Math.abs(truth.byStatus.late / present - 0.04) < 0.002);
});
