import { randomUUID } from 'node:crypto';
import { basename, extname, join } from 'node:path';
import type { DbtNodeEndEvent, DbtNodeStartEvent } from '../build/dbt/index.ts';
import { addDbtNodeObserver } from '../build/dbt/run/node-events.ts';
import type { PipelineProject } from '../config/project.ts';
import { quoteLiteral } from '../engine/duckdb.ts';
import { addJobObserver, type JobEndEvent, type JobStartEvent } from '../ops/job-events.ts';
import type { PipelineContext } from '../pipeline/context.ts';
import { readQualityReport } from '../quality/quality-store.ts';
import { compileRules, loadContract } from '../refine/contract.ts';
import { openLayerTable } from '../refine/layer-tables.ts';
import { resolveBrokers } from '../sources/event-source.ts';
import { type ColumnLineage, columnLineageFromAst, type LineageSubtype, resolveToSources } from './column-lineage.ts';
import {
  type Facet,
  facet,
  type LineageDataset,
  outputStatisticsFacet,
  type QualityAssertion,
  qualityAssertionsFacet,
  qualityMetricsFacet,
  type RunEvent,
  runEvent,
  schemaFacet,
} from './run-event.ts';
import { createTransport, type LineageTransport } from './transport.ts';

/**
 * Supplies extra assertions for a dataset when a job that reads it completes (data-quality checks
 * beyond contracts and dbt tests plug in here); `job` is the lineage job name.
 */
export type QualityAssertionProvider = (
  dataset: { readonly namespace: string; readonly name: string },
  job: string,
) => readonly QualityAssertion[] | undefined;

const providers = new Set<QualityAssertionProvider>();

/**
 * Adds assertions to the dataQualityAssertions facet of every dataset a completed job reads
 * (freshness, volume, null-rate checks…). Returns a function that removes the provider.
 */
export function addQualityAssertionProvider(provider: QualityAssertionProvider): () => void {
  providers.add(provider);
  return () => providers.delete(provider);
}

/** An attached lineage emitter; `close` detaches it and waits for events in flight. */
export interface LineageHandle {
  readonly transport: LineageTransport;
  close(): Promise<void>;
}

type Columns = readonly { readonly name: string; readonly type: string }[];

const BUILD_JOBS = new Set(['build', 'test', 'replay', 'quarantine-retry']);

/**
 * Emits OpenLineage run events for a pipeline context: every job run (ingest, refine, load, build,
 * test, run, replay, quarantine-retry) and every gold model and test, START then COMPLETE or FAIL.
 * Returns undefined when lineage is disabled in the config.
 */
export function attachLineage(
  ctx: PipelineContext,
  options: { transport?: LineageTransport } = {},
): LineageHandle | undefined {
  const config = ctx.project.config.lineage;
  if (!config.enabled && !options.transport) return undefined;
  const transport = options.transport ?? createTransport(config, ctx.project.paths);
  const emitter = new LineageEmitter(ctx, transport);
  const removeJobs = addJobObserver({
    onStart: (e) => emitter.jobStart(e),
    onEnd: (e) => emitter.jobEnd(e),
  });
  const removeNodes = addDbtNodeObserver({
    onNodeStart: (e) => emitter.nodeStart(e),
    onNodeEnd: (e) => emitter.nodeEnd(e),
  });
  return {
    transport,
    async close() {
      removeJobs();
      removeNodes();
      await transport.close();
    },
  };
}

class LineageEmitter {
  readonly #ctx: PipelineContext;
  readonly #project: PipelineProject;
  readonly #transport: LineageTransport;
  readonly #namespace: string;
  readonly #jobs = new Map<string, JobStartEvent>();
  /** Build-like jobs in progress, newest last: the parent of gold node runs. */
  readonly #builds: JobStartEvent[] = [];
  readonly #nodeRuns = new Map<string, string>();
  /** Direct column lineage of every gold relation built in this process (`schema.table`, lower case). */
  readonly #lineage = new Map<string, ColumnLineage>();
  readonly #columns = new Map<string, Columns>();

  constructor(ctx: PipelineContext, transport: LineageTransport) {
    this.#ctx = ctx;
    this.#project = ctx.project;
    this.#transport = transport;
    this.#namespace = ctx.project.config.lineage.namespace ?? ctx.project.config.name;
  }

  // ---- datasets -----------------------------------------------------------------------------

  #lake(layer: string, dataset: string, facets?: Record<string, Facet>): LineageDataset {
    return { namespace: 'file', name: join(this.#project.paths.lake, layer, dataset), ...(facets ? { facets } : {}) };
  }

  #warehouseNamespace(): string {
    return `duckdb://${this.#project.paths.warehouse}`;
  }

  #warehouseName(relation: string): string {
    const db = basename(this.#project.paths.warehouse, extname(this.#project.paths.warehouse));
    return `${db}.${relation}`;
  }

  #table(schema: string, table: string): LineageDataset {
    return { namespace: this.#warehouseNamespace(), name: this.#warehouseName(`${schema}.${table}`) };
  }

  #eventSource(): LineageDataset {
    const brokers = resolveBrokers();
    const dataset = this.#project.config.events.dataset;
    if (brokers) {
      return { namespace: `kafka://${brokers.split(',')[0]!.trim()}`, name: this.#project.config.events.kafka.topic };
    }
    return { namespace: 'file', name: join(this.#project.paths.landing, dataset) };
  }

  async #lakeSchema(prefix: string): Promise<Record<string, Facet> | undefined> {
    try {
      const files = (await this.#ctx.storage.list(prefix)).filter((f) => f.key.endsWith('.parquet'));
      const last = files.at(-1);
      if (!last) return undefined;
      const cols = await this.#ctx.engine.all<{ column_name: string; column_type: string }>(
        `DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(this.#ctx.storage.uri(last.key))})`,
      );
      return { schema: schemaFacet(cols.map((c) => ({ name: c.column_name, type: c.column_type }))) };
    } catch {
      return undefined;
    }
  }

  async #silverEventsSchema(layer: 'silver' | 'quarantine' | 'duplicates'): Promise<Record<string, Facet> | undefined> {
    try {
      const table = await openLayerTable(this.#project, this.#ctx.storage, this.#ctx.engine, layer);
      if (!table) return undefined;
      const snap = await table.snapshot();
      return { schema: schemaFacet(snap.columns.map((c) => ({ name: c.name, type: c.type }))) };
    } catch {
      return undefined;
    }
  }

  /**
   * Row count of a warehouse table, and null counts of its columns — over the whole table, or, with
   * `where`, over the rows it selects (the partitions a load changed: the cost follows the batch).
   */
  async #tableMetrics(
    schema: string,
    table: string,
    columns: Columns | undefined,
    where?: { sql: string; params: unknown[] },
  ): Promise<{ rowCount: number; nullCounts?: Record<string, number> } | undefined> {
    try {
      const wh = await this.#ctx.warehouse();
      const q = (s: string) => wh.quote(s);
      const withNulls = this.#project.config.lineage.columnMetrics && columns && columns.length > 0;
      const parts: string[] = [];
      if (withNulls) {
        for (const [i, c] of columns.entries()) parts.push(`count(*) - count(${q(c.name)}) AS "c${i}"`);
      }
      const from = `FROM ${q(schema)}.${q(table)}`;
      let row: Record<string, unknown>;
      if (where) {
        const n = (await wh.query(`SELECT count(*) AS "n" ${from}`))[0] ?? {};
        const nulls = withNulls
          ? ((await wh.query(`SELECT ${parts.join(', ')} ${from} WHERE ${where.sql}`, where.params))[0] ?? {})
          : {};
        row = { ...nulls, n: n['n'] };
      } else {
        row = (await wh.query(`SELECT ${['count(*) AS "n"', ...parts].join(', ')} ${from}`))[0] ?? {};
      }
      const nullCounts: Record<string, number> = {};
      if (withNulls) {
        for (const [i, c] of columns.entries()) nullCounts[c.name] = Number(row[`c${i}`] ?? 0);
      }
      return { rowCount: Number(row['n'] ?? 0), ...(withNulls ? { nullCounts } : {}) };
    } catch {
      return undefined;
    }
  }

  async #warehouseColumns(schema: string, table: string): Promise<Columns | undefined> {
    try {
      return await (await this.#ctx.warehouse()).columns(schema, table);
    } catch {
      return undefined;
    }
  }

  #withProviders(ds: LineageDataset, job: string, base: readonly QualityAssertion[] = []): LineageDataset {
    const extra = [...providers].flatMap((p) => p({ namespace: ds.namespace, name: ds.name }, job) ?? []);
    const all = [...base, ...extra];
    if (all.length === 0) return ds;
    return { ...ds, inputFacets: { ...ds.inputFacets, dataQualityAssertions: qualityAssertionsFacet(all) } };
  }

  // ---- jobs ---------------------------------------------------------------------------------

  #parentOf(parentRunId: string | undefined): { runId: string; namespace: string; name: string } | undefined {
    if (!parentRunId) return undefined;
    const parent = this.#jobs.get(parentRunId);
    return { runId: parentRunId, namespace: this.#namespace, name: parent?.job ?? 'run' };
  }

  async #send(event: RunEvent): Promise<void> {
    await this.#transport.send(event);
  }

  async jobStart(e: JobStartEvent): Promise<void> {
    this.#jobs.set(e.runId, e);
    if (BUILD_JOBS.has(e.job)) this.#builds.push(e);
    const { inputs, outputs } = this.#jobDatasets(e.job);
    await this.#send(
      runEvent({
        eventType: 'START',
        eventTime: e.startedAt,
        runId: e.runId,
        job: { namespace: this.#namespace, name: e.job },
        parent: this.#parentOf(e.parentRunId),
        jobType: { processingType: 'BATCH', jobType: e.job === 'run' ? 'PIPELINE' : 'JOB' },
        inputs,
        outputs,
      }),
    );
  }

  async jobEnd(e: JobEndEvent): Promise<void> {
    const i = this.#builds.findIndex((b) => b.runId === e.runId);
    if (i >= 0) this.#builds.splice(i, 1);
    let datasets = this.#jobDatasets(e.job);
    if (e.status === 'success' || e.job === 'check') {
      try {
        datasets = await this.#completedDatasets(e.job, e.result);
      } catch {
        // Facets are best effort: the event still goes out with the plain datasets.
      }
    }
    await this.#send(
      runEvent({
        eventType: e.status === 'success' ? 'COMPLETE' : 'FAIL',
        eventTime: e.finishedAt,
        runId: e.runId,
        job: { namespace: this.#namespace, name: e.job },
        parent: this.#parentOf(e.parentRunId),
        jobType: { processingType: 'BATCH', jobType: e.job === 'run' ? 'PIPELINE' : 'JOB' },
        error: e.error ? { message: `${e.error.code}: ${e.error.message}` } : undefined,
        inputs: datasets.inputs,
        outputs: datasets.outputs,
      }),
    );
    this.#jobs.delete(e.runId);
  }

  /** The datasets a pipeline job reads and writes (names only). */
  #jobDatasets(job: string): { inputs: LineageDataset[]; outputs: LineageDataset[] } {
    const events = this.#project.config.events.dataset;
    const refs = this.#project.config.reference;
    switch (job) {
      case 'ingest':
        return {
          inputs: [
            this.#eventSource(),
            ...refs.map((r) => ({ namespace: 'file', name: this.#project.resolve(r.file) })),
          ],
          outputs: [this.#lake('bronze', events), ...refs.map((r) => this.#lake('bronze', r.dataset))],
        };
      case 'refine':
        return {
          inputs: [this.#lake('bronze', events), ...refs.map((r) => this.#lake('bronze', r.dataset))],
          outputs: [
            this.#lake('silver', events),
            this.#lake('quarantine', events),
            this.#lake('duplicates', events),
            ...refs.map((r) => this.#lake('silver', r.dataset)),
          ],
        };
      case 'load':
        return {
          inputs: [this.#lake('silver', events), ...refs.map((r) => this.#lake('silver', r.dataset))],
          outputs: [this.#table('silver', events), ...refs.map((r) => this.#table('silver', r.dataset))],
        };
      case 'check':
        return { inputs: [this.#table('silver', events)], outputs: [] };
      default:
        return { inputs: [], outputs: [] };
    }
  }

  /**
   * The data-quality checks as dataQualityAssertions on the warehouse tables they read, from the
   * report the check job stored (also when it failed: the report is stored before the job fails).
   */
  async #checkDatasets(): Promise<{ inputs: LineageDataset[]; outputs: LineageDataset[] }> {
    const report = await readQualityReport(this.#project.paths);
    if (!report) return this.#jobDatasets('check');
    const byTable = new Map<string, QualityAssertion[]>();
    for (const r of report.results) {
      if (r.status === 'skip') continue;
      const list = byTable.get(r.table) ?? [];
      list.push({
        assertion: `${r.type}:${r.name}`,
        success: r.status === 'pass' || r.status === 'warn',
      });
      byTable.set(r.table, list);
    }
    const inputs = [...byTable].map(([table, assertions]) => {
      const [schema, name] = table.includes('.') ? (table.split('.', 2) as [string, string]) : ['silver', table];
      return {
        ...this.#table(schema, name),
        inputFacets: { dataQualityAssertions: qualityAssertionsFacet(assertions) },
      };
    });
    return { inputs, outputs: [] };
  }

  /** The datasets of a completed job with what its result tells (counts, rules, schemas). */
  async #completedDatasets(
    job: string,
    result: unknown,
  ): Promise<{ inputs: LineageDataset[]; outputs: LineageDataset[] }> {
    const events = this.#project.config.events.dataset;
    const refs = this.#project.config.reference;
    const r = (result ?? {}) as Record<string, unknown>;
    if (job === 'check') return this.#checkDatasets();
    if (job === 'ingest') {
      const base = this.#jobDatasets(job);
      const ev = r['events'] as { records?: number; files?: number } | undefined;
      const refRows = new Map(
        ((r['reference'] as { dataset: string; rows: number; written: boolean }[] | undefined) ?? []).map((x) => [
          x.dataset,
          x.written ? x.rows : 0,
        ]),
      );
      const outputs: LineageDataset[] = [
        {
          ...this.#lake('bronze', events, await this.#lakeSchema(`bronze/${events}`)),
          outputFacets: { outputStatistics: outputStatisticsFacet(ev?.records ?? 0, ev?.files) },
        },
      ];
      for (const ref of refs) {
        outputs.push({
          ...this.#lake('bronze', ref.dataset, await this.#lakeSchema(`bronze/${ref.dataset}`)),
          outputFacets: { outputStatistics: outputStatisticsFacet(refRows.get(ref.dataset) ?? 0) },
        });
      }
      return { inputs: base.inputs.map((d) => this.#withProviders(d, job)), outputs };
    }
    if (job === 'refine') {
      const byRule = (r['quarantineByRule'] as Record<string, number> | undefined) ?? {};
      const bronze: LineageDataset = {
        ...this.#lake('bronze', events, await this.#lakeSchema(`bronze/${events}`)),
        inputFacets: {
          dataQualityMetrics: qualityMetricsFacet({
            rowCount: Number(r['records'] ?? 0),
            fileCount: Number(r['bronzeFiles'] ?? 0),
          }),
        },
      };
      const inputs = [
        this.#withProviders(bronze, job, this.#contractAssertions(byRule)),
        ...(await Promise.all(
          refs.map(async (ref) => this.#lake('bronze', ref.dataset, await this.#lakeSchema(`bronze/${ref.dataset}`))),
        )),
      ];
      const stat = (n: unknown) => ({ outputStatistics: outputStatisticsFacet(Number(n ?? 0)) });
      const outputs: LineageDataset[] = [
        { ...this.#lake('silver', events, await this.#silverEventsSchema('silver')), outputFacets: stat(r['silver']) },
        {
          ...this.#lake('quarantine', events, await this.#silverEventsSchema('quarantine')),
          outputFacets: stat(r['quarantine']),
        },
        {
          ...this.#lake('duplicates', events, await this.#silverEventsSchema('duplicates')),
          outputFacets: stat(r['duplicates']),
        },
        ...(await Promise.all(
          refs.map(async (ref) => this.#lake('silver', ref.dataset, await this.#lakeSchema(`silver/${ref.dataset}`))),
        )),
      ];
      return { inputs, outputs };
    }
    if (job === 'load') {
      const loaded =
        (r['datasets'] as Record<string, { rows: number; files: number; version?: number }> | undefined) ?? {};
      const inputs: LineageDataset[] = [];
      const outputs: LineageDataset[] = [];
      for (const d of [events, ...refs.map((x) => x.dataset)]) {
        const columns = await this.#warehouseColumns('silver', d);
        // Metrics only for what this load changed; for the event table, null counts over the event dates it touched.
        const version = loaded[d]?.version;
        const changed = (loaded[d]?.files ?? 0) > 0;
        const where =
          d === events && version !== undefined
            ? {
                sql: 'event_date IN (SELECT event_date FROM "_medallion".loaded_partitions WHERE dataset = ? AND version = ?)',
                params: [d, version],
              }
            : undefined;
        const metrics = columns && changed ? await this.#tableMetrics('silver', d, columns, where) : undefined;
        const lake = this.#lake('silver', d, columns ? { schema: schemaFacet(columns) } : undefined);
        inputs.push(
          this.#withProviders(
            metrics
              ? {
                  ...lake,
                  inputFacets: {
                    dataQualityMetrics: qualityMetricsFacet({
                      rowCount: metrics.rowCount,
                      fileCount: loaded[d]?.files,
                      nullCounts: metrics.nullCounts,
                    }),
                  },
                }
              : lake,
            job,
          ),
        );
        outputs.push({
          ...this.#table('silver', d),
          ...(columns ? { facets: { schema: schemaFacet(columns) } } : {}),
          outputFacets: { outputStatistics: outputStatisticsFacet(loaded[d]?.rows ?? 0, loaded[d]?.files) },
        });
      }
      return { inputs, outputs };
    }
    return this.#jobDatasets(job);
  }

  /** The contract's rules as assertions on bronze: a rule succeeded when no record in this run broke it. */
  #contractAssertions(byRule: Readonly<Record<string, number>>): QualityAssertion[] {
    try {
      const contract = loadContract(this.#project.resolve(this.#project.config.events.contract));
      const stub = { type: () => 't', text: () => 'x', value: () => 'v' };
      const rules = compileRules(contract, stub, () => 'r').map((rule) => rule.name);
      const names = [...new Set(['malformed_json', ...rules, ...Object.keys(byRule)])];
      return names.map((name) => {
        const column = name.includes('.') ? name.slice(0, name.indexOf('.')) : undefined;
        return { assertion: name, success: (byRule[name] ?? 0) === 0, ...(column ? { column } : {}) };
      });
    } catch {
      return Object.entries(byRule).map(([name, n]) => ({ assertion: name, success: n === 0 }));
    }
  }

  // ---- gold nodes ---------------------------------------------------------------------------

  #nodeParent(): { runId: string; namespace: string; name: string } | undefined {
    const b = this.#builds.at(-1);
    return b ? { runId: b.runId, namespace: this.#namespace, name: b.job } : undefined;
  }

  #nodeJobName(e: DbtNodeStartEvent): string {
    return `gold.${e.uniqueId}`;
  }

  async nodeStart(e: DbtNodeStartEvent): Promise<void> {
    const runId = randomUUID();
    this.#nodeRuns.set(`${e.invocationId}/${e.uniqueId}`, runId);
    await this.#send(
      runEvent({
        eventType: 'START',
        eventTime: e.startedAt,
        runId,
        job: { namespace: this.#namespace, name: this.#nodeJobName(e) },
        parent: this.#nodeParent(),
        jobType: { processingType: 'BATCH', jobType: e.resourceType.toUpperCase() },
        inputs: e.inputs.map((i) => this.#table(i.schema, i.identifier)),
        outputs: e.relation ? [this.#table(e.relation.schema, e.relation.identifier)] : [],
      }),
    );
  }

  async nodeEnd(e: DbtNodeEndEvent): Promise<void> {
    const runKey = `${e.invocationId}/${e.uniqueId}`;
    const runId = this.#nodeRuns.get(runKey) ?? randomUUID();
    this.#nodeRuns.delete(runKey);
    const ok = e.result.status === 'success' || e.result.status === 'pass' || e.result.status === 'warn';
    for (const i of e.inputs) if (i.columns) this.#columns.set(`${i.schema}.${i.identifier}`.toLowerCase(), i.columns);
    if (e.relation && e.columns)
      this.#columns.set(`${e.relation.schema}.${e.relation.identifier}`.toLowerCase(), e.columns);
    const job = this.#nodeJobName(e);
    let inputs: LineageDataset[];
    let outputs: LineageDataset[] = [];
    try {
      inputs = e.inputs.map((i) => {
        const ds: LineageDataset = {
          ...this.#table(i.schema, i.identifier),
          ...(i.columns ? { facets: { schema: schemaFacet(i.columns) } } : {}),
        };
        if (e.resourceType === 'test' && e.test && i.uniqueId === e.test.attachedTo) {
          const assertion: QualityAssertion = {
            assertion: e.test.name,
            success: e.result.status === 'pass',
            ...(e.test.column ? { column: e.test.column } : {}),
          };
          return this.#withProviders(ds, job, [assertion]);
        }
        return ds;
      });
      if (e.relation && e.resourceType !== 'test' && ok) {
        outputs = [await this.#modelOutput(e)];
      } else if (e.relation) {
        outputs = [this.#table(e.relation.schema, e.relation.identifier)];
      }
    } catch {
      inputs = e.inputs.map((i) => this.#table(i.schema, i.identifier));
    }
    await this.#send(
      runEvent({
        eventType: ok ? 'COMPLETE' : 'FAIL',
        eventTime: e.completedAt,
        runId,
        job: { namespace: this.#namespace, name: job },
        parent: this.#nodeParent(),
        jobType: { processingType: 'BATCH', jobType: e.resourceType.toUpperCase() },
        sql: e.compiledSql,
        error: ok ? undefined : { message: e.result.message },
        inputs,
        outputs,
      }),
    );
  }

  async #modelOutput(e: DbtNodeEndEvent): Promise<LineageDataset> {
    const rel = e.relation!;
    const facets: Record<string, Facet> = {};
    if (e.columns) facets['schema'] = schemaFacet(e.columns);
    const lineage = e.compiledSql ? await this.#directLineage(e) : undefined;
    if (lineage) {
      const key = `${rel.schema}.${rel.identifier}`.toLowerCase();
      this.#lineage.set(key, lineage);
      const resolved =
        this.#project.config.lineage.columnLineage === 'sources'
          ? resolveToSources(lineage, (r) => (r === key ? undefined : this.#lineage.get(r)))
          : lineage;
      facets['columnLineage'] = this.#columnLineageFacet(resolved);
    }
    const outputFacets: Record<string, Facet> = {};
    if (e.materialized !== 'view' && e.materialized !== 'ephemeral') {
      const metrics = await this.#tableMetrics(rel.schema, rel.identifier, undefined);
      if (metrics) outputFacets['outputStatistics'] = outputStatisticsFacet(metrics.rowCount);
    }
    return {
      ...this.#table(rel.schema, rel.identifier),
      ...(Object.keys(facets).length > 0 ? { facets } : {}),
      ...(Object.keys(outputFacets).length > 0 ? { outputFacets } : {}),
    };
  }

  async #directLineage(e: DbtNodeEndEvent): Promise<ColumnLineage | undefined> {
    try {
      const rows = await this.#ctx.engine.all<{ ast: string }>(
        'SELECT json_serialize_sql(?::VARCHAR)::VARCHAR AS ast',
        [e.compiledSql!],
      );
      const ast = JSON.parse(rows[0]!.ast) as unknown;
      const known = new Map<string, readonly string[]>();
      for (const i of e.inputs) {
        const cols = i.columns ?? this.#columns.get(`${i.schema}.${i.identifier}`.toLowerCase());
        if (cols)
          known.set(
            `${i.schema}.${i.identifier}`.toLowerCase(),
            cols.map((c) => c.name),
          );
      }
      return columnLineageFromAst(
        ast,
        (schema, table) =>
          known.get(`${schema}.${table}`) ?? this.#columns.get(`${schema}.${table}`)?.map((c) => c.name),
        e.columns?.map((c) => c.name),
      );
    } catch {
      return undefined;
    }
  }

  #columnLineageFacet(lineage: ColumnLineage): Facet {
    const fields: Record<string, { inputFields: unknown[] }> = {};
    for (const [column, origins] of lineage) {
      fields[column] = {
        inputFields: [...origins.values()].map(({ source, subtype }) => {
          const dot = source.relation.indexOf('.');
          return {
            ...this.#table(source.relation.slice(0, dot), source.relation.slice(dot + 1)),
            field: source.column,
            transformations: [{ type: 'DIRECT', subtype: subtype as LineageSubtype }],
          };
        }),
      };
    }
    return facet('columnLineage', { fields });
  }
}
