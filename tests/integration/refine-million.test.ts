import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PipelineStatus } from '../../src/ops/status.ts';
import type { GroundTruth } from '../../src/simulate/index.ts';
import { medallion, medallionJson } from '../helpers/cli.ts';
import { tempContext } from '../helpers/temp-context.ts';

test('1,000,000 events with default faults: every layer equals the ground truth per fault kind; refine again changes nothing', {
  timeout: 900_000,
}, async () => {
  const { dataDir, cleanup } = await tempContext();
  const env = { MEDALLION_HOME: dataDir };
  try {
    const truth = await medallionJson<GroundTruth>(
      ['simulate', '--events', '1000000', '--faults', 'default', '--json'],
      env,
    );
    assert.equal(truth.records, 1_000_000);
    assert.equal((await medallion(['ingest', '--once'], env)).code, 0);
    const refine = await medallionJson<{ records: number; quarantineByRule: Record<string, number> }>(
      ['refine', '--json'],
      env,
    );
    assert.equal(refine.records, 1_000_000);
    const s = await medallionJson<PipelineStatus>(['status', '--json'], env);
    assert.equal(s.bronze.rows, truth.records);
    assert.equal(s.silver.rows + s.quarantine.rows + s.duplicates.rows, s.bronze.rows);
    assert.equal(s.silver.rows, truth.events);
    assert.equal(s.duplicates.rows, truth.duplicates);
    assert.equal(s.late.rows, truth.late);
    assert.equal(refine.quarantineByRule['malformed_json'], truth.malformed);
    assert.equal(refine.quarantineByRule['dbn.reference'], truth.unknownSchool);
    assert.equal(s.quarantine.rows - truth.malformed - truth.unknownSchool, truth.invalid);

    const again = await medallionJson<{ records: number }>(['refine', '--json'], env);
    assert.equal(again.records, 0);
    const s2 = await medallionJson<PipelineStatus>(['status', '--json'], env);
    assert.deepEqual(
      [s2.silver.rows, s2.quarantine.rows, s2.duplicates.rows, s2.late.rows],
      [s.silver.rows, s.quarantine.rows, s.duplicates.rows, s.late.rows],
    );
  } finally {
    await cleanup();
  }
});
