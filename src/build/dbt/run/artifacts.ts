import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { replaceText } from '../../../core/fs-atomic.ts';
import type { DbtNode, Manifest } from '../graph/manifest.ts';
import type { DbtCommand, DbtNodeResult } from '../types.ts';

/**
 * dbt's artifacts, in their documented shapes (dbt docs "Manifest JSON file" v12 and "Run results
 * JSON file" v6): the fields tools read most are there; exact schema conformance comes with the
 * dbt-core compatibility work. Compiled SQL goes to `compiled/<project>/<file>` as dbt writes it.
 */
export const MEDALLION_DBT_VERSION = 'medallion-dbt-0.1.0';

/** Where a node's compiled SQL is written, relative to the target folder. */
export function compiledPath(projectName: string, node: DbtNode): string {
  if (node.testMetadata) return join('compiled', projectName, node.originalFilePath, `${node.fileName}.sql`);
  return join('compiled', projectName, node.originalFilePath);
}

const madeDirs = new Map<string, Promise<unknown>>();

/**
 * Writes a by-product file (compiled or run SQL, rewritten on every run: no fsync), creating its
 * folder once per process (writes run concurrently, so they share one mkdir), again if it vanished.
 * A file that already holds the text is left as it is: reading a small file is several times
 * cheaper than replacing it (a repeated compile of 1,000 models spent ~0.12 s rewriting them).
 */
async function writeByProduct(file: string, text: string): Promise<void> {
  try {
    if (readFileSync(file, 'utf8') === text) return;
  } catch {
    // Not there yet (or unreadable): written below.
  }
  const dir = dirname(file);
  let made = madeDirs.get(dir);
  if (!made) {
    made = mkdir(dir, { recursive: true }).catch((err: unknown) => {
      madeDirs.delete(dir);
      throw err;
    });
    madeDirs.set(dir, made);
  }
  await made;
  try {
    await writeFile(file, text);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dir, { recursive: true });
    await writeFile(file, text);
  }
}

/** Writes what was run for a node to `run/<project>/<file>` (dbt's `target/run/`). */
export async function writeRunSql(
  targetPath: string,
  projectName: string,
  node: DbtNode,
  statements: readonly string[],
): Promise<void> {
  if (statements.length === 0) return;
  const file = join(targetPath, compiledPath(projectName, node).replace(/^compiled/, 'run'));
  await writeByProduct(file, `${statements.join(';\n\n')};\n`);
}

export async function writeCompiled(
  targetPath: string,
  projectName: string,
  node: DbtNode,
  sql: string,
): Promise<string> {
  const rel = compiledPath(projectName, node);
  await writeByProduct(join(targetPath, rel), sql.endsWith('\n') ? sql : `${sql}\n`);
  return rel;
}

function hooksJson(value: unknown): { sql: string; transaction: boolean; index: null }[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((h) =>
    typeof h === 'object' && h !== null
      ? {
          sql: String((h as { sql?: unknown }).sql ?? ''),
          transaction: (h as { transaction?: unknown }).transaction !== false,
          index: null,
        }
      : { sql: String(h), transaction: true, index: null },
  );
}

/** A node's config as dbt writes it: hooks as `{sql, transaction, index}` lists, tags and meta always present. */
function configJson(node: DbtNode): Record<string, unknown> {
  const c: Record<string, unknown> = { enabled: true, tags: [], meta: {}, ...node.config };
  c['pre-hook'] = hooksJson(node.config['pre-hook']);
  c['post-hook'] = hooksJson(node.config['post-hook']);
  if (node.resourceType === 'test') {
    delete c['pre-hook'];
    delete c['post-hook'];
  }
  return c;
}

function columnsJson(columns: DbtNode['columns']): Record<string, unknown> {
  return Object.fromEntries(
    Object.values(columns).map((c) => [
      c.name,
      {
        name: c.name,
        description: c.description,
        meta: c.meta,
        data_type: c.dataType ?? null,
        constraints: [],
        quote: null,
        tags: c.tags,
      },
    ]),
  );
}

function nodeJson(node: DbtNode, compiled: Map<string, string>, defaultSchema: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    database: node.relation?.database ?? null,
    schema: node.relation?.schema ?? node.auditRelation?.schema ?? defaultSchema,
    name: node.name,
    resource_type: node.resourceType,
    package_name: node.packageName,
    path: node.path,
    original_file_path: node.originalFilePath,
    unique_id: node.uniqueId,
    fqn: node.fqn,
    alias: node.relation?.identifier ?? node.name,
    checksum: { name: 'sha256', checksum: createHash('sha256').update(node.rawCode).digest('hex') },
    config: configJson(node),
    tags: node.config['tags'] ?? [],
    description: node.description,
    columns: columnsJson(node.columns),
    meta: (node.config['meta'] as Record<string, unknown> | undefined) ?? {},
    docs: { show: true, node_color: null },
    relation_name:
      node.config['materialized'] === 'ephemeral'
        ? null
        : (node.relation?.render() ?? node.auditRelation?.render() ?? null),
    raw_code: node.rawCode,
  };
  if (node.resourceType === 'seed') {
    out['root_path'] = null;
    out['depends_on'] = { macros: [] };
    return out;
  }
  out['language'] = 'sql';
  out['refs'] = node.refs.map((r) => ({ name: r.name, package: r.package, version: null }));
  out['sources'] = node.sources;
  out['depends_on'] = node.dependsOn;
  const code = compiled.get(node.uniqueId);
  if (code !== undefined) {
    out['compiled_path'] = compiledPath('', node).replace(/^compiled\/+/, 'target/compiled/');
    out['compiled'] = true;
    out['compiled_code'] = code;
    out['extra_ctes_injected'] = true;
    out['extra_ctes'] = [];
  }
  if (node.testMetadata) {
    out['test_metadata'] = {
      name: node.testMetadata.name,
      kwargs: {
        ...node.testMetadata.kwargs,
        column_name: node.testMetadata.columnName,
        model: `{{ get_where_subquery(${node.testMetadata.modelExpression}) }}`,
      },
      namespace: node.testMetadata.namespace,
    };
    out['column_name'] = node.testMetadata.columnName;
    out['attached_node'] = node.testMetadata.attachedTo.startsWith('source.') ? null : node.testMetadata.attachedTo;
  }
  return out;
}

export async function writeManifest(
  targetPath: string,
  manifest: Manifest,
  meta: { invocationId: string; adapterType: string; defaultSchema: string },
  compiled: Map<string, string>,
): Promise<void> {
  const parentMap: Record<string, string[]> = {};
  const childMap: Record<string, string[]> = {};
  for (const id of [...manifest.nodes.keys(), ...manifest.sources.keys()]) childMap[id] = [];
  for (const node of manifest.nodes.values()) {
    parentMap[node.uniqueId] = [...node.dependsOn.nodes];
    for (const p of node.dependsOn.nodes) {
      childMap[p] = childMap[p] ?? [];
      childMap[p].push(node.uniqueId);
    }
  }
  for (const id of manifest.sources.keys()) parentMap[id] = [];
  for (const list of Object.values(childMap)) list.sort();
  const doc = {
    metadata: {
      dbt_schema_version: 'https://schemas.getdbt.com/dbt/manifest/v12.json',
      dbt_version: MEDALLION_DBT_VERSION,
      generated_at: new Date().toISOString(),
      invocation_id: meta.invocationId,
      project_name: manifest.projectName,
      adapter_type: meta.adapterType,
      env: {},
    },
    nodes: Object.fromEntries(
      [...manifest.nodes.values()].map((n) => [n.uniqueId, nodeJson(n, compiled, meta.defaultSchema)]),
    ),
    sources: Object.fromEntries(
      [...manifest.sources.values()].map((s) => [
        s.uniqueId,
        {
          unique_id: s.uniqueId,
          resource_type: 'source',
          name: s.name,
          source_name: s.sourceName,
          package_name: s.packageName,
          original_file_path: s.originalFilePath,
          path: s.originalFilePath,
          fqn: s.fqn,
          database: s.relation.database,
          schema: s.relation.schema,
          identifier: s.relation.identifier,
          relation_name: s.relation.render(),
          description: s.description,
          source_description: s.sourceDescription,
          loader: s.loader,
          meta: s.meta,
          source_meta: {},
          tags: (s.config['tags'] as string[] | undefined) ?? [],
          config: { enabled: true, tags: [], meta: {}, ...s.config },
          columns: columnsJson(s.columns),
        },
      ]),
    ),
    macros: Object.fromEntries(
      [...manifest.macros.values()].map((m) => [
        m.uniqueId,
        {
          name: m.name,
          resource_type: 'macro',
          package_name: m.packageName,
          path: m.originalFilePath,
          original_file_path: m.originalFilePath,
          unique_id: m.uniqueId,
          macro_sql: m.body,
          depends_on: { macros: [] },
          description: '',
          meta: {},
          arguments: [],
        },
      ]),
    ),
    docs: {},
    exposures: {},
    metrics: {},
    groups: {},
    selectors: {},
    disabled: {},
    parent_map: parentMap,
    child_map: childMap,
    group_map: {},
    saved_queries: {},
    semantic_models: {},
    unit_tests: {},
  };
  // Compact, as dbt-core writes its artifacts.
  await replaceText(join(targetPath, 'manifest.json'), JSON.stringify(doc));
}

export interface ExecutedNode {
  readonly result: DbtNodeResult;
  readonly startedAt: Date;
  readonly completedAt: Date;
  readonly compiledCode: string | undefined;
  readonly relationName: string | undefined;
}

/** A project hook (`on-run-start`/`on-run-end`) that ran. */
export interface OperationRun {
  readonly uniqueId: string;
  readonly startedAt: Date;
  readonly completedAt: Date;
  readonly sql: string;
}

export async function writeRunResults(
  targetPath: string,
  executed: readonly ExecutedNode[],
  operations: readonly OperationRun[],
  meta: { invocationId: string; command: DbtCommand; elapsedS: number; args: Record<string, unknown> },
): Promise<void> {
  const doc = {
    metadata: {
      dbt_schema_version: 'https://schemas.getdbt.com/dbt/run-results/v6.json',
      dbt_version: MEDALLION_DBT_VERSION,
      generated_at: new Date().toISOString(),
      invocation_id: meta.invocationId,
      env: {},
    },
    results: executed
      .map((e) => ({
        unique_id: e.result.uniqueId,
        status: e.result.status,
        timing: [
          { name: 'compile', started_at: e.startedAt.toISOString(), completed_at: e.startedAt.toISOString() },
          { name: 'execute', started_at: e.startedAt.toISOString(), completed_at: e.completedAt.toISOString() },
        ],
        thread_id: 'Thread-1',
        execution_time: e.result.executionTimeS,
        adapter_response: {},
        message: e.result.message,
        failures: e.result.failures ?? null,
        compiled: e.compiledCode !== undefined,
        compiled_code: e.compiledCode ?? null,
        relation_name: e.relationName ?? null,
      }))
      .concat(
        operations.map((o) => ({
          unique_id: o.uniqueId,
          status: 'success',
          timing: [
            { name: 'compile', started_at: o.startedAt.toISOString(), completed_at: o.startedAt.toISOString() },
            { name: 'execute', started_at: o.startedAt.toISOString(), completed_at: o.completedAt.toISOString() },
          ],
          thread_id: 'main',
          execution_time: (o.completedAt.getTime() - o.startedAt.getTime()) / 1000,
          adapter_response: {},
          message: 'OK',
          failures: null,
          compiled: true,
          compiled_code: o.sql,
          relation_name: null,
        })),
      ),
    elapsed_time: meta.elapsedS,
    args: { which: meta.command, ...meta.args },
  };
  await replaceText(join(targetPath, 'run_results.json'), JSON.stringify(doc));
}
