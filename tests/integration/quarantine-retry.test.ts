import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { FLAGSHIP_PROJECT_DIR } from '../../src/config/project.ts';
import type { PipelineStatus } from '../../src/ops/status.ts';
import type { GroundTruth } from '../../src/simulate/index.ts';
import { medallion, medallionJson } from '../helpers/cli.ts';
import { tempProject } from '../helpers/temp-project.ts';

test('quarantine --retry after a contract fix moves the records that now pass to silver, exactly once', async () => {
  const full = await readFile(join(FLAGSHIP_PROJECT_DIR, 'contracts', 'attendance_events.yml'), 'utf8');
  const strict = full.replace('accepted: [present, absent, late, excused]', 'accepted: [present, absent]');
  assert.notEqual(strict, full);
  let contractPath = '';
  const p = await tempProject((c) => {
    contractPath = c.events.contract;
  });
  const args = ['--project', p.dir];
  const env = { MEDALLION_HOME: p.home };
  try {
    const own = join(p.dir, 'contract.yml');
    await writeFile(own, strict);
    await writeFile(
      join(p.dir, 'medallion.yml'),
      (await readFile(join(p.dir, 'medallion.yml'), 'utf8')).replace(contractPath, own),
    );

    const truth = await medallionJson<GroundTruth>(['simulate', ...args, '--events', '8000', '--json'], env);
    assert.equal((await medallion(['run', ...args, '--once'], env)).code, 0);
    const before = await medallionJson<PipelineStatus>(['status', ...args, '--json'], env);
    const faults = truth.malformed + truth.invalid + truth.unknownSchool;
    assert.ok(
      before.quarantine.rows >= faults + truth.byStatus.late + truth.byStatus.excused,
      'late and excused events are quarantined by the strict contract',
    );
    assert.equal(before.silver.rows + before.quarantine.rows + before.duplicates.rows, truth.records);

    // The contract is fixed; the retry re-refines the quarantine once.
    await writeFile(own, full);
    const retry = await medallionJson<{ retried: number; silver: number; duplicates: number; quarantine: number }>(
      ['quarantine', ...args, '--retry', '--json'],
      env,
    );
    assert.equal(retry.retried, before.quarantine.rows);
    assert.equal(retry.quarantine, faults);
    const after = await medallionJson<PipelineStatus>(['status', ...args, '--json'], env);
    // Exactly what a pipeline with the fixed contract from the start would hold.
    assert.equal(after.silver.rows, truth.events);
    assert.equal(after.duplicates.rows, truth.duplicates);
    assert.equal(after.quarantine.rows, faults);
    assert.equal(after.silver.rows + after.quarantine.rows + after.duplicates.rows, truth.records);
    assert.equal(after.gold.tests.fail, 0);
    const gold = await medallionJson<{ n: number }[]>(
      ['query', ...args, 'SELECT sum(enrolled)::INT AS n FROM gold.fact_event_metrics', '--json'],
      env,
    );
    assert.deepEqual(gold, [{ n: truth.events }]);

    // Retrying again changes nothing.
    const again = await medallionJson<{ silver: number; duplicates: number; quarantine: number }>(
      ['quarantine', ...args, '--retry', '--json'],
      env,
    );
    assert.deepEqual([again.silver, again.duplicates, again.quarantine], [0, 0, faults]);
    const last = await medallionJson<PipelineStatus>(['status', ...args, '--json'], env);
    assert.deepEqual(
      [last.silver.rows, last.duplicates.rows, last.quarantine.rows],
      [after.silver.rows, after.duplicates.rows, after.quarantine.rows],
    );
  } finally {
    await p.cleanup();
  }
});
