import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { FLAGSHIP_PROJECT_DIR } from '../../src/config/project.ts';
import type { PipelineStatus } from '../../src/ops/status.ts';
import type { GroundTruth } from '../../src/simulate/index.ts';
import { medallion, medallionJson } from '../helpers/cli.ts';
import { tempProject } from '../helpers/temp-project.ts';

test('schema v1 and v2 are both accepted; unknown fields are rescued, and a contract that learns them loads them as columns', async () => {
  const full = await readFile(join(FLAGSHIP_PROJECT_DIR, 'contracts', 'attendance_events.yml'), 'utf8');
  const v1Only = full.slice(0, full.indexOf('  # Schema version 2 adds optional fields'));
  assert.ok(!v1Only.includes('device_id'));
  let contractPath = '';
  const p = await tempProject((c) => {
    contractPath = c.events.contract;
  });
  const args = ['--project', p.dir];
  const env = { MEDALLION_HOME: p.home };
  try {
    // The project starts with a contract that knows only schema version 1.
    const ownContract = join(p.dir, 'contract-v1.yml');
    await writeFile(ownContract, v1Only);
    const config = await readFile(join(p.dir, 'medallion.yml'), 'utf8');
    await writeFile(join(p.dir, 'medallion.yml'), config.replace(contractPath, ownContract));

    const t1 = await medallionJson<GroundTruth>(
      ['simulate', ...args, '--events', '6000', '--schema-v2', '0.5', '--json'],
      env,
    );
    assert.ok(t1.schemaV2Events > 1000 && t1.schemaV2Events < t1.events);
    assert.equal((await medallion(['run', ...args, '--once'], env)).code, 0);
    const rescued = await medallionJson<{ v: number; n: number; rescued: number; sample: string }[]>(
      [
        'query',
        ...args,
        `SELECT schema_version AS v, count(*)::INT AS n, count(_rescued_data)::INT AS rescued, any_value(_rescued_data) AS sample
         FROM silver.attendance_events GROUP BY 1 ORDER BY 1`,
        '--json',
      ],
      env,
    );
    assert.equal(rescued[0]!.rescued, 0);
    assert.equal(rescued[1]!.n, t1.schemaV2Events);
    assert.equal(rescued[1]!.rescued, t1.schemaV2Events, 'every v2 field the contract does not know is kept');
    assert.match(rescued[1]!.sample, /^\{"device_id":"\d{2}[MXKQR]\d{3}-k\d"\}$/);

    // The contract learns version 2: new events get the column; the warehouse table gains it.
    await writeFile(ownContract, full);
    const t2 = await medallionJson<GroundTruth>(
      [
        'simulate',
        ...args,
        '--events',
        '4000',
        '--schema-v2',
        '0.5',
        '--seed',
        '5',
        '--start-date',
        '2018-10-02',
        '--json',
      ],
      env,
    );
    const run = await medallion(['run', ...args, '--once'], env);
    assert.equal(run.code, 0, run.stderr);
    const byDay = await medallionJson<{ d: string; device: number; rescued: number }[]>(
      [
        'query',
        ...args,
        `SELECT event_date::VARCHAR AS d, count(device_id)::INT AS device, count(_rescued_data)::INT AS rescued
         FROM silver.attendance_events GROUP BY 1 ORDER BY 1`,
        '--json',
      ],
      env,
    );
    assert.deepEqual(byDay, [
      { d: '2018-10-01', device: 0, rescued: t1.schemaV2Events },
      { d: '2018-10-02', device: t2.schemaV2Events, rescued: 0 },
    ]);
    const s = await medallionJson<PipelineStatus>(['status', ...args, '--json'], env);
    assert.equal(s.silver.rows + s.quarantine.rows + s.duplicates.rows, t1.records + t2.records);
    assert.equal(s.gold.tests.fail, 0);
  } finally {
    await p.cleanup();
  }
});
