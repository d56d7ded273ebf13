import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { DataPaths } from '../../../src/config/project.ts';
import { MedallionError } from '../../../src/core/errors.ts';
import { attachLineage } from '../../../src/lineage/lineage-observer.ts';
import type { RunEvent } from '../../../src/lineage/run-event.ts';
import { FileTransport, HttpTransport, type LineageTransport, lineageFile } from '../../../src/lineage/transport.ts';
import { loggedRun, readRuns } from '../../../src/ops/run-log.ts';
import { runPipeline } from '../../../src/pipeline/run-pipeline.ts';
import { buildStep, ingestStep } from '../../../src/pipeline/steps.ts';
import { readQualityReport } from '../../../src/quality/quality-store.ts';
import { simulateToLanding } from '../../../src/simulate/index.ts';
import { tempContext } from '../../helpers/temp-context.ts';

const SCHEMAS = join(import.meta.dirname, '..', '..', 'fixtures', 'openlineage');

/** Ajv with the official OpenLineage schemas (tests/fixtures/openlineage, see its README). */
function openLineageAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat('uri', (s: string) => /^[a-z][a-z0-9+.-]*:\S+$/i.test(s));
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  ajv.addFormat('date-time', (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s));
  const core = JSON.parse(readFileSync(join(SCHEMAS, 'OpenLineage.json'), 'utf8')) as Record<string, unknown>;
  ajv.addSchema(core);
  // The assertions facet 1-0-0 names the core schema by its 1-0-2 address (see the fixtures' README).
  ajv.addSchema({ ...core, $id: 'https://openlineage.io/spec/1-0-2/OpenLineage.json' });
  for (const f of readdirSync(join(SCHEMAS, 'facets'))) {
    ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, 'facets', f), 'utf8')) as Record<string, unknown>);
  }
  return ajv;
}

/** Every facet of an event, with where it sits. */
function facetsOf(e: RunEvent): { at: string; facet: Record<string, unknown> }[] {
  const out: { at: string; facet: Record<string, unknown> }[] = [];
  const add = (at: string, facets: Readonly<Record<string, unknown>> | undefined) => {
    for (const [name, f] of Object.entries(facets ?? {}))
      out.push({ at: `${at}.${name}`, facet: f as Record<string, unknown> });
  };
  add('run', e.run.facets);
  add('job', e.job.facets);
  for (const d of [...e.inputs, ...e.outputs]) {
    add(`${d.name}.facets`, d.facets);
    add(`${d.name}.inputFacets`, d.inputFacets);
    add(`${d.name}.outputFacets`, d.outputFacets);
  }
  return out;
}

/** Writes every event to the file transport and POSTs it over HTTP: the same events through both. */
class BothTransports implements LineageTransport {
  readonly #all: LineageTransport[];
  constructor(...all: LineageTransport[]) {
    this.#all = all;
  }
  async send(event: RunEvent): Promise<void> {
    await Promise.all(this.#all.map((t) => t.send(event)));
  }
  async close(): Promise<void> {
    await Promise.all(this.#all.map((t) => t.close()));
  }
}

let events: RunEvent[] = [];
const posted: { path: string; contentType: string; body: RunEvent }[] = [];
let server: Server;
let refineByRule: Record<string, number> = {};
let cleanup: () => Promise<void>;
let silverRows = 0;
let qualityPaths: DataPaths | undefined;

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posted.push({
        path: `${req.method} ${req.url}`,
        contentType: String(req.headers['content-type']),
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as RunEvent,
      });
      res.writeHead(201).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const t = await tempContext();
  cleanup = t.cleanup;
  const { ctx } = t;
  const lineage = attachLineage(ctx, {
    transport: new BothTransports(
      new FileTransport(lineageFile(ctx.project.paths)),
      new HttpTransport(url, { timeoutMs: 5000 }),
    ),
  })!;
  try {
    await simulateToLanding(ctx.project, { events: 4000 });
    await ingestStep(ctx, { once: true });
    await runPipeline(ctx, { once: true });
    await buildStep(ctx, { command: 'test' });
    const wh = await ctx.warehouse();
    silverRows = Number((await wh.query('SELECT count(*) AS n FROM silver.attendance_events'))[0]!['n']);
    await ctx.releaseWarehouse();
  } finally {
    await lineage.close();
  }
  qualityPaths = ctx.project.paths;
  const refine = (await readRuns(ctx.project.paths)).find((r) => r.job === 'refine');
  refineByRule = (refine?.counts?.['quarantineByRule'] ?? {}) as Record<string, number>;
  const text = await readFile(lineageFile(ctx.project.paths), 'utf8');
  events = text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as RunEvent);
});

after(async () => {
  server?.close();
  await cleanup?.();
});

test('every event of a real pipeline run validates against the OpenLineage schema and its facet schemas', () => {
  const ajv = openLineageAjv();
  const core = ajv.getSchema('https://openlineage.io/spec/2-0-2/OpenLineage.json')!;
  assert.ok(events.length > 60, `only ${events.length} events`);
  const schemaUrls = new Set<string>();
  for (const e of events) {
    assert.ok(core(e), `${e.job.name} ${e.eventType}: ${ajv.errorsText(core.errors)}`);
    assert.equal(e.schemaURL, 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent');
    for (const { at, facet } of facetsOf(e)) {
      const url = String(facet['_schemaURL']);
      assert.equal(typeof facet['_producer'], 'string', `${at}: _producer`);
      const validate = ajv.getSchema(url);
      assert.ok(validate, `${at}: no vendored schema for ${url}`);
      assert.ok(validate(facet), `${e.job.name} ${at}: ${ajv.errorsText(validate.errors)}`);
      schemaUrls.add(url.replace(/^.*\/facets\/[^/]+\//, '').replace(/\.json.*$/, ''));
    }
  }
  assert.deepEqual([...schemaUrls].sort(), [
    'ColumnLineageDatasetFacet',
    'DataQualityAssertionsDatasetFacet',
    'DataQualityMetricsInputDatasetFacet',
    'JobTypeJobFacet',
    'OutputStatisticsOutputDatasetFacet',
    'ParentRunFacet',
    'SQLJobFacet',
    'SchemaDatasetFacet',
  ]);
});

test('every job run has one START and one COMPLETE with the same run id; gold runs name their parent', () => {
  const byRun = new Map<string, RunEvent[]>();
  for (const e of events) byRun.set(e.run.runId, [...(byRun.get(e.run.runId) ?? []), e]);
  for (const [runId, list] of byRun) {
    assert.deepEqual(
      list.map((e) => e.eventType),
      ['START', 'COMPLETE'],
      `${list[0]!.job.name} ${runId}: ${list.map((e) => e.eventType).join(',')}`,
    );
  }
  const jobs = new Set(events.map((e) => e.job.name));
  for (const j of ['ingest', 'run', 'refine', 'load', 'build', 'test']) assert.ok(jobs.has(j), `no ${j} events`);
  for (const m of [
    'dim_school',
    'dim_borough',
    'dim_district',
    'fact_event_metrics',
    'fact_equity_metrics',
    'stg_stream_events',
  ]) {
    assert.ok(jobs.has(`gold.model.nyc_schools_gold.${m}`), `no events for model ${m}`);
  }
  assert.ok([...jobs].some((j) => j.startsWith('gold.test.nyc_schools_gold.not_null_dim_school_dbn')));
  const run = events.find((e) => e.job.name === 'run')!;
  const cycle = events.find((e) => e.job.name === 'run.cycle' && e.eventType === 'COMPLETE')!;
  assert.deepEqual(cycle.run.facets?.['parent']?.['run'], { runId: run.run.runId });
  assert.deepEqual(cycle.run.facets?.['parent']?.['job'], { namespace: 'nyc-schools', name: 'run' });
  for (const j of ['refine', 'load', 'build']) {
    const e = events.find((x) => x.job.name === j && x.eventType === 'COMPLETE')!;
    assert.deepEqual(e.run.facets?.['parent']?.['run'], { runId: cycle.run.runId }, `${j} parent`);
  }
  const build = events.find((e) => e.job.name === 'build' && e.eventType === 'START')!;
  const model = events.find(
    (e) => e.job.name === 'gold.model.nyc_schools_gold.fact_equity_metrics' && e.eventType === 'COMPLETE',
  )!;
  assert.deepEqual(model.run.facets?.['parent']?.['run'], { runId: build.run.runId });
  assert.match(String(model.job.facets?.['sql']?.['query']), /grouping sets/i);
});

test("fact_equity_metrics' column lineage names the silver and reference columns it comes from", () => {
  const e = events.find(
    (x) => x.job.name === 'gold.model.nyc_schools_gold.fact_equity_metrics' && x.eventType === 'COMPLETE',
  )!;
  const fields = e.outputs[0]!.facets?.['columnLineage']?.['fields'] as Record<
    string,
    { inputFields: { namespace: string; name: string; field: string; transformations: { subtype: string }[] }[] }
  >;
  const from = (column: string) =>
    fields[column]!.inputFields.map((f) => `${f.name.replace(/^medallion\./, '')}.${f.field}`).sort();
  // count(*) filter (where status …) over the stream's rows: status is the one column the value is computed from.
  assert.deepEqual(from('streaming_attendance_rate'), ['silver.attendance_events.status']);
  // borough and district come from the DBN; the ENI quintile is ntile(5) over (order by ENI, DBN).
  assert.deepEqual(from('group_key'), [
    'silver.demographic_snapshot.DBN',
    'silver.demographic_snapshot.Economic Need Index',
    'silver.school_locations.system_code',
  ]);
  assert.deepEqual(from('official_attendance_rate'), [
    'silver.attendance.days_present',
    'silver.attendance.total_days',
  ]);
  assert.deepEqual(from('economic_need_index'), [
    'silver.demographic_snapshot.Economic Need Index',
    'silver.demographic_snapshot.Total Enrollment',
  ]);
  assert.deepEqual(from('share_temporary_housing'), [
    'silver.demographic_snapshot.Total Enrollment',
    'silver.temporary_housing.students_in_temporary_housing_1',
  ]);
  // Every input of every column is a silver table (the staging views and dim_school are followed through).
  for (const [column, f] of Object.entries(fields)) {
    for (const i of f.inputFields) assert.match(i.name, /^medallion\.silver\./, `${column} ← ${i.name}.${i.field}`);
  }
  const rate = fields['streaming_attendance_rate']!.inputFields.find((f) => f.field === 'status')!;
  assert.equal(rate.transformations[0]!.subtype, 'AGGREGATION');
});

test('refine reports the contract rules as assertions and load the silver row and null counts', () => {
  const refine = events.find((e) => e.job.name === 'refine' && e.eventType === 'COMPLETE')!;
  const bronze = refine.inputs.find((d) => d.name.endsWith('/bronze/attendance_events'))!;
  const assertions = bronze.inputFacets?.['dataQualityAssertions']?.['assertions'] as {
    assertion: string;
    success: boolean;
  }[];
  const failed = assertions
    .filter((a) => !a.success)
    .map((a) => a.assertion)
    .sort();
  assert.deepEqual(
    failed,
    Object.keys(refineByRule)
      .filter((k) => (refineByRule[k] ?? 0) > 0)
      .sort(),
  );
  assert.ok(assertions.some((a) => a.assertion === 'dbn.reference'));
  assert.ok(assertions.length >= 10);

  const load = events.find((e) => e.job.name === 'load' && e.eventType === 'COMPLETE')!;
  const silver = load.inputs.find((d) => d.name.endsWith('/silver/attendance_events'))!;
  const metrics = silver.inputFacets?.['dataQualityMetrics'] as unknown as {
    rowCount: number;
    columnMetrics: Record<string, { nullCount: number }>;
  };
  assert.equal(metrics.rowCount, silverRows);
  assert.equal(metrics.columnMetrics['event_id']?.nullCount, 0);
  assert.ok('event_time' in metrics.columnMetrics);

  const tests = events.filter((e) => e.job.name.startsWith('gold.test.') && e.eventType === 'COMPLETE');
  assert.ok(tests.length > 10);
  for (const t of tests) {
    const a = t.inputs.flatMap((d) => (d.inputFacets?.['dataQualityAssertions']?.['assertions'] as unknown[]) ?? []);
    assert.equal(a.length, 1, t.job.name);
  }
});

test('the data-quality checks are assertions on the tables they read, as the stored report says', async () => {
  const report = await readQualityReport(qualityPaths!);
  assert.ok(report && report.results.length > 0);
  const check = events.filter((e) => e.job.name === 'check' && e.eventType !== 'START').at(-1)!;
  assert.ok(check, 'a check job ended');
  const got = check.inputs
    .flatMap((d) =>
      (
        (d.inputFacets?.['dataQualityAssertions']?.['assertions'] as { assertion: string; success: boolean }[]) ?? []
      ).map((a) => `${d.name.split('.').slice(-2).join('.')} ${a.assertion} ${a.success}`),
    )
    .sort();
  const want = report.results
    .filter((r) => r.status !== 'skip')
    .map((r) => `${r.table} ${r.type}:${r.name} ${r.status === 'pass' || r.status === 'warn'}`)
    .sort();
  assert.ok(want.length >= 2, `judged checks: ${want.length}`);
  assert.deepEqual(got, want);
});

test('the HTTP transport POSTs the same events to {url}/api/v1/lineage as JSON', () => {
  assert.equal(posted.length, events.length);
  assert.ok(posted.every((p) => p.path === 'POST /api/v1/lineage' && p.contentType === 'application/json'));
  assert.deepEqual(
    posted.map((p) => p.body),
    events,
  );
});

test('a failed job ends with a FAIL event that carries the error message facet, and validates', async () => {
  const { ctx, cleanup: done } = await tempContext();
  const sent: RunEvent[] = [];
  const lineage = attachLineage(ctx, {
    transport: { send: async (e) => void sent.push(e), close: async () => {} },
  })!;
  try {
    await assert.rejects(
      loggedRun(ctx.project.paths, 'load', async () => {
        throw new MedallionError('MDL_WAREHOUSE_LOCKED', 'the warehouse is locked.', { hint: 'Retry.' });
      }),
    );
  } finally {
    await lineage.close();
    await done();
  }
  assert.deepEqual(
    sent.map((e) => [e.job.name, e.eventType]),
    [
      ['load', 'START'],
      ['load', 'FAIL'],
    ],
  );
  const fail = sent[1]!;
  assert.equal(fail.run.facets?.['errorMessage']?.['message'], 'MDL_WAREHOUSE_LOCKED: the warehouse is locked.');
  const ajv = openLineageAjv();
  const core = ajv.getSchema('https://openlineage.io/spec/2-0-2/OpenLineage.json')!;
  assert.ok(core(fail), ajv.errorsText(core.errors));
  const facetSchema = ajv.getSchema(String(fail.run.facets?.['errorMessage']?.['_schemaURL']))!;
  assert.ok(facetSchema(fail.run.facets?.['errorMessage']), ajv.errorsText(facetSchema.errors));
});
