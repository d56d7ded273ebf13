import { readFile } from 'node:fs/promises';
import { MedallionError } from '../../../core/errors.ts';
import { asSubquery, type WarehouseAdapter } from '../adapter/warehouse-adapter.ts';
import { buildContext, type DbtRuntime, type QueryRound } from '../compile/context.ts';
import { renderGenericTest } from '../compile/parse-project.ts';
import { EphemeralRelation, type Relation } from '../compile/relation.ts';
import type { DbtNode, Manifest } from '../graph/manifest.ts';
import type { DbtNodeStatus } from '../types.ts';
import { runIncremental } from './incremental.ts';
import { loadSeed, parseCsv } from './seed.ts';
import { runSnapshot } from './snapshot.ts';

/**
 * dbt's CTE injection for ephemeral models (dbt-core `compilation.py` `_inject_ctes_into_sql`): the
 * ephemeral models a node refers to are compiled (recursively, their own ephemeral parents first)
 * and put in front of its SQL as `__dbt__cte__<name>` CTEs — merged into the node's own leading
 * `with` when it has one.
 */
export function injectCtes(sql: string, ctes: ReadonlyMap<string, string>): string {
  if (ctes.size === 0) return sql;
  const list = [...ctes].map(([name, body]) => `${name} as (\n${asSubquery(body)}\n)`).join(', ');
  const lead = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/.exec(sql)![0];
  const rest = sql.slice(lead.length);
  const withKw = /^with\b/i.exec(rest);
  if (withKw) {
    const recursive = /^with\s+recursive\b/i.exec(rest);
    const head = recursive ? recursive[0] : withKw[0];
    return `${lead}${head} ${list}, ${rest.slice(head.length).trimStart()}`;
  }
  return `${lead}with ${list}\n${rest}`;
}

/**
 * Compiles a node, running the queries its render asks for (`run_query`, `statement`) and rendering
 * again with their results, as many rounds as needed (at most 20). Without a warehouse they return
 * empty results.
 */
export async function compileNodeWithQueries(
  runtime: DbtRuntime,
  manifest: Manifest,
  node: DbtNode,
  adapter: WarehouseAdapter | undefined,
  options: { incremental?: boolean } = {},
): Promise<string> {
  const round: QueryRound = { results: new Map(), pending: new Set(), named: new Map() };
  // `adapter.get_relation` answers from the catalog: read it again if SQL changed it.
  await adapter?.freshCatalog();
  for (let pass = 0; pass < 20; pass++) {
    round.pending.clear();
    round.named.clear();
    // Set right before the synchronous render: with --threads other nodes compile between rounds.
    runtime.queries = round;
    let sql: string | undefined;
    try {
      sql = compileNode(runtime, manifest, node, options);
    } catch (err) {
      // A render that used a result it has not got yet (empty this round) may fail: retry with it.
      if (round.pending.size === 0 || !adapter) throw err;
    } finally {
      runtime.queries = undefined;
    }
    if (sql !== undefined && (round.pending.size === 0 || !adapter)) return sql;
    for (const q of round.pending) round.results.set(q, await adapter!.warehouse.query(q));
    // The queries may have been DDL: the catalog is read again before it answers.
    runtime.catalog?.invalidate();
    await adapter!.freshCatalog();
  }
  throw new MedallionError(
    'MDL_DBT_COMPILE',
    `${node.originalFilePath}: run_query/statement never settled after 20 rounds.`,
    {
      hint: 'Make the queries a model runs depend only on earlier query results, not on themselves.',
    },
  );
}

/** Compiles a node for execution (`execute` true, strict undefined, real relations, ephemeral CTEs). */
export function compileNode(
  runtime: DbtRuntime,
  manifest: Manifest,
  node: DbtNode,
  options: { incremental?: boolean } = {},
): string {
  const ctes = new Map<string, string>();
  const ephemeral = (target: DbtNode): Relation => {
    const cteName = `__dbt__cte__${target.name}`;
    if (!ctes.has(cteName)) {
      const inner = buildContext({ runtime, manifest, mode: 'compile', node: target, ephemeral });
      const body = runtime.engine.render(target.rawCode, inner, {
        file: target.originalFilePath,
        startLine: target.rawCodeLine,
        strict: true,
      });
      if (!ctes.has(cteName)) ctes.set(cteName, body);
    }
    return new EphemeralRelation(
      { database: null, schema: target.relation?.schema ?? '', identifier: cteName },
      runtime.quote,
    );
  };
  const ctx = buildContext({ runtime, manifest, mode: 'compile', node, ephemeral, incremental: options.incremental });
  const sql = node.testMetadata
    ? renderGenericTest(runtime, node, ctx, 'compile')
    : runtime.engine.render(node.rawCode, ctx, {
        file: node.originalFilePath,
        startLine: node.rawCodeLine,
        strict: true,
      });
  return injectCtes(sql, ctes);
}

export interface Outcome {
  readonly status: DbtNodeStatus;
  readonly message: string;
  readonly failures?: number;
  /** The progress-line wording of what was done ("created sql view model", "snapshotted"). */
  readonly action: string;
  /** For seeds: the rows loaded. */
  readonly rows?: number;
  /** The statements sent (written to `target/run/`). */
  readonly statements?: readonly string[];
}

function hooks(node: DbtNode, key: 'pre-hook' | 'post-hook'): string[] {
  const v = node.config[key];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((h) =>
    typeof h === 'object' && h !== null ? String((h as { sql?: unknown }).sql ?? '') : String(h),
  );
}

async function runHooks(
  runtime: DbtRuntime,
  manifest: Manifest,
  adapter: WarehouseAdapter,
  node: DbtNode,
  key: 'pre-hook' | 'post-hook',
): Promise<void> {
  for (const hook of hooks(node, key)) {
    const ctx = buildContext({ runtime, manifest, mode: 'compile', node });
    const sql = runtime.engine.render(hook, ctx, { file: `${node.originalFilePath} (${key})`, strict: true }).trim();
    if (sql !== '') {
      await adapter.warehouse.exec(sql);
      runtime.catalog?.invalidate();
    }
  }
}

/** Whether an incremental model builds incrementally this run (dbt's `is_incremental()`). */
export async function isIncrementalRun(
  runtime: DbtRuntime,
  adapter: WarehouseAdapter | undefined,
  node: DbtNode,
): Promise<boolean> {
  if (!adapter || node.resourceType !== 'model' || node.config['materialized'] !== 'incremental') return false;
  const fr = node.config['full_refresh'];
  const fullRefresh = fr === undefined || fr === null ? runtime.fullRefresh === true : fr === true;
  if (fullRefresh) return false;
  return (await adapter.relationKind(node.relation!)) === 'table';
}

/** Builds a model or snapshot; returns the outcome. Throws on errors (the caller reports them). */
export async function materialize(
  runtime: DbtRuntime,
  manifest: Manifest,
  adapter: WarehouseAdapter,
  node: DbtNode,
  sql: string,
  options: { incremental?: boolean } = {},
): Promise<Outcome> {
  const relation = node.relation!;
  await runHooks(runtime, manifest, adapter, node, 'pre-hook');
  let outcome: Outcome;
  let statements: readonly string[] = [];
  if (node.resourceType === 'seed') {
    const table = parseCsv(await readFile(node.seedPath!, 'utf8'), node.originalFilePath);
    const rows = await loadSeed(adapter, relation, table, node.config);
    outcome = { status: 'success', message: `INSERT ${rows}`, action: 'loaded seed file', rows };
  } else if (node.resourceType === 'snapshot') {
    const snap = await runSnapshot(adapter, relation, sql, node.config, node.originalFilePath);
    const summary = snap.summary;
    statements = snap.statements;
    outcome = { status: 'success', message: `OK (${summary})`, action: 'snapshotted' };
  } else {
    const materialized = String(node.config['materialized'] ?? 'view');
    if (materialized === 'view') statements = await adapter.createView(relation, sql);
    else if (materialized === 'table') statements = await adapter.createTable(relation, sql);
    else if (materialized === 'incremental') {
      statements = options.incremental
        ? await runIncremental(adapter, relation, sql, node.config, node.originalFilePath)
        : await adapter.createTable(relation, sql);
    } else {
      throw new MedallionError(
        'MDL_DBT_RUN',
        `${node.originalFilePath}: materialized='${materialized}' is not supported (supported: view, table, incremental, ephemeral).`,
        { hint: 'Use one of the supported materializations, or run this project with dbt-core.' },
      );
    }
    outcome = { status: 'success', message: 'OK', action: `created sql ${materialized} model` };
  }
  await runHooks(runtime, manifest, adapter, node, 'post-hook');
  return { ...outcome, statements };
}

/**
 * Runs a test query the way dbt does (`get_test_sql`): counts its rows with `fail_calc` (default
 * `count(*)`) and compares with `warn_if` / `error_if` (default `!= 0`); `severity: warn` turns a
 * failure into a warning. `limit` caps the rows counted.
 */
export async function runTest(adapter: WarehouseAdapter, node: DbtNode, sql: string): Promise<Outcome> {
  const cfg = node.config;
  const failCalc = String(cfg['fail_calc'] ?? 'count(*)');
  const warnIf = String(cfg['warn_if'] ?? '!= 0');
  const errorIf = String(cfg['error_if'] ?? '!= 0');
  const limit = cfg['limit'] === undefined || cfg['limit'] === null ? '' : `\nlimit ${Number(cfg['limit'])}`;
  const statements: string[] = [];
  if (node.auditRelation) {
    // dbt's store_failures: the test query's rows go to a table in the audit schema, and the test
    // then counts from that table.
    const audit = node.auditRelation;
    await adapter.ensureSchema(audit.schema);
    const kind = await adapter.relationKind(audit);
    if (kind) await adapter.drop(audit, kind);
    const create = `create table ${audit.render()} as (\n${asSubquery(sql)}\n)`;
    await adapter.warehouse.exec(create);
    await adapter.settle(audit, 'table');
    statements.push(create);
    sql = `select * from ${audit.render()}`;
  }
  const query = `select
    ${failCalc} as failures,
    (${failCalc}) ${warnIf} as should_warn,
    (${failCalc}) ${errorIf} as should_error
from (
${asSubquery(sql)}${limit}
) dbt_internal_test`;
  const rows = await adapter.warehouse.query<{ failures: unknown; should_warn: unknown; should_error: unknown }>(query);
  const row = rows[0] ?? { failures: 0, should_warn: false, should_error: false };
  const failures = Number(row.failures ?? 0);
  const severity = String(cfg['severity'] ?? 'ERROR').toUpperCase();
  const results = `Got ${failures} result${failures === 1 ? '' : 's'}`;
  statements.push(query);
  if (severity === 'ERROR' && row.should_error === true) {
    return {
      status: 'fail',
      message: `${results}, configured to fail if ${errorIf}`,
      failures,
      action: 'test',
      statements,
    };
  }
  if (row.should_warn === true) {
    return {
      status: 'warn',
      message: `${results}, configured to warn if ${warnIf}`,
      failures,
      action: 'test',
      statements,
    };
  }
  return { status: 'pass', message: 'PASS', failures, action: 'test', statements };
}
