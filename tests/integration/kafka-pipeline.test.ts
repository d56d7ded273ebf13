import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PipelineStatus } from '../../src/ops/status.ts';
import type { GroundTruth } from '../../src/simulate/index.ts';
import { deleteTopic } from '../../src/sources/kafka/index.ts';
import { medallion, medallionJson } from '../helpers/cli.ts';
import { kafkaBrokersOrSkip } from '../helpers/services.ts';
import { tempProject } from '../helpers/temp-project.ts';

test('simulator → Kafka → bronze → silver → gold: exact counts against the ground truth', async (t) => {
  const brokers = kafkaBrokersOrSkip(t);
  if (!brokers) return;
  const p = await tempProject();
  const args = ['--project', p.dir];
  const env = { MEDALLION_HOME: p.home };
  try {
    const truth = await medallionJson<GroundTruth>(
      ['simulate', ...args, '--events', '40000', '--kafka', brokers, '--json'],
      env,
    );
    assert.equal(truth.records, 40000);
    assert.equal(truth.partitions, 3);

    const run = await medallion(['run', ...args, '--once', '--kafka', brokers], env);
    assert.equal(run.code, 0, run.stderr);
    const s = await medallionJson<PipelineStatus>(['status', ...args, '--json'], env);
    assert.equal(s.bronze.rows, truth.records);
    assert.equal(s.silver.rows + s.quarantine.rows + s.duplicates.rows, truth.records);
    assert.equal(s.duplicates.rows, truth.duplicates);
    assert.equal(s.quarantine.rows, truth.malformed + truth.invalid + truth.unknownSchool);
    assert.equal(s.late.rows, truth.late, 'late events per Kafka partition match the simulator');
    assert.equal(s.gold.tests.fail, 0);
    assert.equal(s.gold.models, 12);

    // Every (partition, offset) of the topic is in bronze exactly once, with the Kafka columns.
    const offsets = await medallionJson<{ partitions: number; rows: number; distinct_positions: number }[]>(
      [
        'query',
        ...args,
        'SELECT count(DISTINCT kafka_partition)::INT AS partitions, count(*)::INT AS rows, count(DISTINCT (kafka_partition, kafka_offset))::INT AS distinct_positions FROM bronze.attendance_events',
        '--json',
      ],
      env,
    );
    assert.deepEqual(offsets, [{ partitions: 3, rows: truth.records, distinct_positions: truth.records }]);

    const again = await medallion(['run', ...args, '--once', '--kafka', brokers], env);
    assert.equal(again.code, 0, again.stderr);
    const s2 = await medallionJson<PipelineStatus>(['status', ...args, '--json'], env);
    assert.equal(s2.bronze.rows, s.bronze.rows);
    assert.equal(s2.silver.rows, s.silver.rows);
  } finally {
    await deleteTopic([brokers], p.topic).catch(() => {});
    await p.cleanup();
  }
});
