import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDuckDb, quoteIdent } from '../../src/engine/duckdb.ts';
import { attachLayers } from '../../src/query/layer-catalog.ts';
import { startDashboard } from '../../src/serve/dashboard.ts';
import { medallion } from '../helpers/cli.ts';
import { tempContext } from '../helpers/temp-context.ts';

test('raw student ids never reach silver, gold, the logs or the dashboard API; nor does the HMAC key', async () => {
  const { ctx, dataDir, cleanup } = await tempContext();
  const key = 'test-pseudonym-key-0123456789';
  const env = {
    MEDALLION_HOME: dataDir,
    MEDALLION_PSEUDONYM_KEY: key,
    MEDALLION_LOG_LEVEL: 'debug',
    MEDALLION_QUIET: '0',
  };
  try {
    const sim = await medallion(['simulate', '--events', '4000', '--json'], env);
    assert.equal(sim.code, 0, sim.stderr);
    const run = await medallion(['run', '--once'], env);
    assert.equal(run.code, 0, run.stderr);

    // Every student id the stream carried, read back from the landing files (as a consumer would).
    const ids = new Set<string>();
    const landing = join(dataDir, 'landing', 'attendance_events');
    for (const f of await readdir(landing)) {
      for (const m of (await readFile(join(landing, f), 'utf8')).matchAll(/"student_id":"(\d{9})"/g)) ids.add(m[1]!);
    }
    assert.ok(ids.size > 3000, `expected thousands of student ids, got ${ids.size}`);

    // Silver and gold: every text column of every table, substring match against every id.
    const engine = await openDuckDb(':memory:');
    try {
      await attachLayers(engine, ctx.project, ctx.storage);
      await engine.append(
        'raw_ids',
        [{ name: 'id', type: 'VARCHAR' }],
        [...ids].map((id) => [id]),
      );
      const columns = await engine.all<{ schema: string; name: string; column: string }>(
        `SELECT table_schema AS schema, table_name AS name, column_name AS column FROM information_schema.columns
         WHERE table_catalog = 'memory' AND table_schema IN ('silver', 'gold') AND data_type = 'VARCHAR'`,
      );
      assert.ok(columns.some((c) => c.schema === 'silver' && c.name === 'attendance_events'));
      assert.ok(
        columns.some((c) => c.schema === 'gold' && c.name === 'fact_event_metrics') ||
          columns.some((c) => c.schema === 'gold'),
      );
      for (const c of columns) {
        const t = `${c.schema}.${quoteIdent(c.name)}`;
        const hits = await engine.all<{ n: number }>(
          `SELECT count(*)::BIGINT AS n FROM (SELECT DISTINCT ${quoteIdent(c.column)} AS v FROM ${t} WHERE ${quoteIdent(c.column)} IS NOT NULL) x
           JOIN raw_ids ON contains(x.v, raw_ids.id)`,
        );
        assert.equal(hits[0]!.n, 0, `${t}.${c.column} holds raw student ids`);
      }
      const keys = await engine.all<{ n: number }>(
        `SELECT count(DISTINCT student_key)::BIGINT AS n FROM silver.attendance_events`,
      );
      assert.ok(keys[0]!.n > 3000, 'students are still told apart by their pseudonym');
    } finally {
      await engine.close();
    }

    // Logs (debug level, every SQL statement) and the run log.
    const logs = sim.stderr + run.stderr + (await readFile(join(dataDir, 'runlog', 'runs.jsonl'), 'utf8'));
    assert.ok(logs.includes('"component":"sql"'), 'debug logs were captured');
    for (const id of ids) assert.ok(!logs.includes(id), `a log line holds student id ${id}`);
    assert.ok(!logs.includes(key), 'a log line holds the HMAC key');
    assert.ok(!logs.includes(Buffer.from(key).toString('hex')), 'a log line holds the HMAC key in hex');

    // The dashboard's API and page.
    const dashboard = await startDashboard({ project: ctx.project, port: 0 });
    try {
      let body = '';
      for (const path of ['', 'api/now', 'api/dates', 'api/health']) {
        const res = await fetch(new URL(path, dashboard.url));
        body += await res.text();
      }
      assert.ok(body.includes('attendanceRate') || body.includes('attendance'), 'the API answered with data');
      for (const id of ids) assert.ok(!body.includes(id), `the dashboard serves student id ${id}`);
    } finally {
      await dashboard.close();
    }
  } finally {
    await cleanup();
  }
});
