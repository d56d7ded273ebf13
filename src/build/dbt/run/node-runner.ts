import { MedallionError } from '../../../core/errors.ts';
import { asSubquery, type WarehouseAdapter } from '../adapter/warehouse-adapter.ts';
import { buildContext, type DbtRuntime } from '../compile/context.ts';
import { renderGenericTest } from '../compile/parse-project.ts';
import type { DbtNode, Manifest } from '../graph/manifest.ts';
import type { DbtNodeStatus } from '../types.ts';
import { runSnapshot } from './snapshot.ts';

/** Compiles a node for execution (`execute` true, strict undefined, real relations). */
export function compileNode(runtime: DbtRuntime, manifest: Manifest, node: DbtNode): string {
  const ctx = buildContext({ runtime, manifest, mode: 'compile', node });
  if (node.testMetadata) return renderGenericTest(runtime, node, ctx, 'compile');
  return runtime.engine.render(node.rawCode, ctx, {
    file: node.originalFilePath,
    startLine: node.rawCodeLine,
    strict: true,
  });
}

export interface Outcome {
  readonly status: DbtNodeStatus;
  readonly message: string;
  readonly failures?: number;
  /** The progress-line wording of what was done ("created sql view model", "snapshotted"). */
  readonly action: string;
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
    if (sql !== '') await adapter.warehouse.exec(sql);
  }
}

/** Builds a model or snapshot; returns the outcome. Throws on errors (the caller reports them). */
export async function materialize(
  runtime: DbtRuntime,
  manifest: Manifest,
  adapter: WarehouseAdapter,
  node: DbtNode,
  sql: string,
): Promise<Outcome> {
  const relation = node.relation!;
  await runHooks(runtime, manifest, adapter, node, 'pre-hook');
  let outcome: Outcome;
  if (node.resourceType === 'snapshot') {
    const { summary } = await runSnapshot(adapter, relation, sql, node.config, node.originalFilePath);
    outcome = { status: 'success', message: `OK (${summary})`, action: 'snapshotted' };
  } else {
    const materialized = String(node.config['materialized'] ?? 'view');
    if (materialized === 'view') await adapter.createView(relation, sql);
    else if (materialized === 'table') await adapter.createTable(relation, sql);
    else {
      throw new MedallionError(
        'MDL_DBT_RUN',
        `${node.originalFilePath}: materialized='${materialized}' is not supported yet (supported: view, table).`,
        { hint: "Use materialized='table' or 'view' for now." },
      );
    }
    outcome = { status: 'success', message: 'OK', action: `created sql ${materialized} model` };
  }
  await runHooks(runtime, manifest, adapter, node, 'post-hook');
  return outcome;
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
  if (severity === 'ERROR' && row.should_error === true) {
    return { status: 'fail', message: `${results}, configured to fail if ${errorIf}`, failures, action: 'test' };
  }
  if (row.should_warn === true) {
    return { status: 'warn', message: `${results}, configured to warn if ${warnIf}`, failures, action: 'test' };
  }
  return { status: 'pass', message: 'PASS', failures, action: 'test' };
}
