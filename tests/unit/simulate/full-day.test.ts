import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadProject } from '../../../src/config/project.ts';
import { simulateToLanding } from '../../../src/simulate/index.ts';

const home = mkdtempSync(join(tmpdir(), 'medallion-sim-'));
after(() => rmSync(home, { recursive: true, force: true }));
const project = loadProject({ dataDir: home });
const FIELDS =
  /^\{"schema_version":1,"event_id":"[^"]+","event_type":"attendance","dbn":"([^"]+)","student_id":"([^"]+)","event_time":"([^"]+)","status":"[a-z]+"\}$/;

test('one day of the whole city: one event per enrolled student, to the landing directory', async () => {
  const { truth, files } = await simulateToLanding(project, { faults: 'none' });
  assert.equal(truth.records, 1_072_581);
  assert.equal(truth.students, 1_072_581);
  assert.equal(truth.schools, 1793);
  assert.equal(truth.late, 0);
  assert.equal(files.length, 11);
  const perSchool = new Map<string, number>();
  const students = new Set<string>();
  let previous = '';
  for (const f of files) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (line === '') continue;
      const m = FIELDS.exec(line);
      assert.ok(m, line);
      const [, dbn, student, time] = m as unknown as [string, string, string, string];
      assert.match(dbn, /^\d{2}[MXKQR]\d{3}$/);
      assert.match(student, /^\d{9}$/);
      assert.ok(time >= previous, 'without faults, events come in event-time order');
      previous = time;
      perSchool.set(dbn, (perSchool.get(dbn) ?? 0) + 1);
      students.add(student);
    }
  }
  assert.equal(students.size, 1_072_581);
  assert.equal(perSchool.size, 1793);
  assert.equal(
    [...perSchool.values()].reduce((s, n) => s + n, 0),
    1_072_581,
  );
});
