import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadProject } from '../../../src/config/project.ts';
import { readQualityReport, writeQualityReport } from '../../../src/quality/quality-store.ts';
import { type CheckResult, reportOf } from '../../../src/quality/run-checks.ts';
import { PipelineFacts } from '../../../src/serve/pipeline-metrics.ts';

const volume = (status: CheckResult['status']): CheckResult => ({
  name: 'events_per_borough',
  type: 'volume',
  dataset: 'attendance_events',
  table: 'silver.attendance_events',
  severity: 'warn',
  status,
  observed: status === 'pass' ? 0 : 1,
  threshold: 0.25,
  unit: 'ratio',
  day: '2018-11-01',
  message: 'borough X',
  details: [{ key: 'X', observed: status === 'pass' ? 10 : 0, expected: 10, breach: status !== 'pass' }],
});

test("the pipeline page's facts carry the latest stored quality report, refreshed when a new one is stored", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'medallion-quality-page-'));
  try {
    const project = loadProject({ dataDir: dir });
    const facts = new PipelineFacts(project);
    assert.equal((await facts.read()).quality, null);
    const first = reportOf([volume('pass')], new Date('2026-01-01T00:00:00Z'));
    await writeQualityReport(project.paths, first);
    assert.deepEqual((await facts.read()).quality, first);
    const second = reportOf([volume('warn')], new Date('2026-01-02T00:00:00Z'));
    await writeQualityReport(project.paths, second);
    const shown = (await facts.read()).quality;
    assert.deepEqual(shown, second);
    assert.equal(shown?.status, 'warn');
    assert.deepEqual(await readQualityReport(project.paths), second);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
