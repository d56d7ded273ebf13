import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { PipelineStatus } from '../../src/ops/status.ts';
import type { GroundTruth } from '../../src/simulate/index.ts';
import { medallion, medallionJson } from '../helpers/cli.ts';

test('simulate --faults default → run --once: status reconciles exactly with the ground truth, and a second run changes nothing', async () => {
  const home = await mkdtemp(join(tmpdir(), 'medallion-cli-'));
  const env = { MEDALLION_HOME: home };
  try {
    const truth = await medallionJson<GroundTruth>(
      ['simulate', '--events', '30000', '--faults', 'default', '--json'],
      env,
    );
    assert.equal(truth.records, 30000);
    assert.ok(
      truth.duplicates > 0 && truth.malformed > 0 && truth.invalid > 0 && truth.late > 0 && truth.unknownSchool > 0,
    );

    const run = await medallion(['run', '--once'], env);
    assert.equal(run.code, 0, run.stderr);
    const s = await medallionJson<PipelineStatus>(['status', '--json'], env);
    assert.equal(s.bronze.rows, truth.records);
    assert.equal(s.silver.rows + s.quarantine.rows + s.duplicates.rows, truth.records);
    assert.equal(s.duplicates.rows, truth.duplicates);
    assert.equal(s.quarantine.rows, truth.malformed + truth.invalid + truth.unknownSchool);
    assert.equal(s.silver.rows, truth.events);
    assert.equal(s.late.rows, truth.late);
    assert.equal(s.gold.tests.fail, 0);
    assert.ok(s.gold.tests.pass >= 30, `gold tests passed: ${s.gold.tests.pass}`);
    assert.equal(s.gold.models, 12);
    assert.deepEqual(s.lastRun && [s.lastRun.job, s.lastRun.status], ['run', 'success']);

    const again = await medallion(['run', '--once'], env);
    assert.equal(again.code, 0, again.stderr);
    const s2 = await medallionJson<PipelineStatus>(['status', '--json'], env);
    for (const layer of ['bronze', 'silver', 'quarantine', 'duplicates', 'late'] as const) {
      assert.equal(s2[layer].rows, s[layer].rows, `${layer} changed on the second run`);
    }

    // Gold agrees with silver: students reporting per day add up to the distinct valid events.
    const rows = await medallionJson<{ n: number }[]>(
      ['query', 'SELECT sum(enrolled)::BIGINT AS n FROM gold.fact_event_metrics', '--json'],
      env,
    );
    assert.deepEqual(rows, [{ n: truth.events }]);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('bad arguments and bad config exit non-zero with a code and what to do', async () => {
  const home = await mkdtemp(join(tmpdir(), 'medallion-cli-'));
  try {
    const unknown = await medallion(['simulate', '--evnts', '5'], { MEDALLION_HOME: home });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /MDL_USAGE: .*--evnts.*Run `medallion simulate --help`/);
    const badNumber = await medallion(['simulate', '--events', 'many'], { MEDALLION_HOME: home });
    assert.equal(badNumber.code, 2);
    assert.match(badNumber.stderr, /MDL_USAGE: --events must be a whole number/);
    const badProject = await medallion(['status', '--project', home], { MEDALLION_HOME: home });
    assert.equal(badProject.code, 1);
    assert.match(badProject.stderr, /MDL_PROJECT_NOT_FOUND: No medallion.yml/);
    const help = await medallion(['run', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: medallion run \[--once\]/);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('demo --no-serve simulates, runs every layer and exits 0; a second demo reuses what landed', async () => {
  const home = await mkdtemp(join(tmpdir(), 'medallion-demo-'));
  const env = { MEDALLION_HOME: home };
  try {
    const first = await medallion(['demo', '--no-serve', '--events', '8000'], env);
    assert.equal(first.code, 0, first.stderr);
    const s = await medallionJson<PipelineStatus>(['status', '--json'], env);
    assert.equal(s.bronze.rows, 8000);
    assert.equal(s.silver.rows + s.quarantine.rows + s.duplicates.rows, 8000);
    assert.equal(s.gold.tests.fail, 0);
    const second = await medallion(['demo', '--no-serve', '--events', '8000'], { ...env, MEDALLION_QUIET: '0' });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /reusing the events already in/);
    assert.equal((await medallionJson<PipelineStatus>(['status', '--json'], env)).bronze.rows, 8000);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
