import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { asMedallionError, MedallionError } from '../../../core/errors.ts';
import { progress } from '../../../core/logger.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import { WarehouseAdapter } from '../adapter/warehouse-adapter.ts';
import { buildContext, Catalog, type DbtRuntime, envVarFunction, MacroRegistry } from '../compile/context.ts';
import { builtinMacros, macrosFromText, parseProject } from '../compile/parse-project.ts';
import { PARTIAL_PARSE_FILE, PartialParse } from '../compile/partial-parse.ts';
import { DependencyGraph } from '../graph/graph.ts';
import type { DbtNode, MacroDefinition, Manifest } from '../graph/manifest.ts';
import { nodesForCommand, selectIds } from '../graph/selector.ts';
import { JinjaEngine } from '../jinja/jinja-engine.ts';
import { TemplateCache } from '../jinja/template-cache.ts';
import { readDbtProject } from '../project/dbt-project.ts';
import { loadTarget } from '../project/profiles.ts';
import { listProjectFiles, readText } from '../project/project-files.ts';
import type {
  DbtNodeInput,
  DbtNodeResult,
  DbtNodeStartEvent,
  DbtRunOptions,
  DbtRunResult,
  DbtTotals,
} from '../types.ts';
import {
  type ExecutedNode,
  type OperationRun,
  writeCompiled,
  writeManifest,
  writeRunResults,
  writeRunSql,
} from './artifacts.ts';
import { sourceFreshness } from './freshness.ts';
import { notifyNode } from './node-events.ts';
import { compileNodeWithQueries, isIncrementalRun, materialize, type Outcome, runTest } from './node-runner.ts';
import { countsPhrase, progressLine, seconds } from './progress-lines.ts';

const EXECUTING = new Set(['build', 'run', 'test', 'snapshot']);

/** Compiled Jinja templates kept between runs, in the target folder (see TemplateCache). */
export const TEMPLATE_CACHE_FILE = 'medallion_template_cache.json';

/** Opens the profile's DuckDB file; DuckDB is loaded only when a command needs the database. */
async function openProfileWarehouse(path: string): Promise<Warehouse> {
  const { DuckDbWarehouse } = await import('../../../warehouse/duckdb/duckdb-warehouse.ts');
  return DuckDbWarehouse.openWithRetry(path);
}

function standardQuote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

async function loadMacros(
  projectDir: string,
  folders: readonly string[],
  packageName: string,
): Promise<MacroDefinition[]> {
  const seen = new Map<string, MacroDefinition>();
  for (const f of await listProjectFiles(projectDir, folders, ['.sql'])) {
    for (const m of macrosFromText(await readText(f), f.file, packageName)) {
      const prev = seen.get(m.name);
      if (prev) {
        throw new MedallionError(
          'MDL_DBT_PROJECT_INVALID',
          `macro "${m.name}" is defined twice: ${prev.originalFilePath} and ${m.originalFilePath}.`,
          { hint: 'Rename or remove one of them.' },
        );
      }
      seen.set(m.name, m);
    }
  }
  return [...seen.values()];
}

/**
 * dbt build's extra edges (dbt-core `graph/queue` "build" mode): a test of a node runs before that
 * node's children, so that a failing test stops them — unless that would make a cycle (a
 * relationships test between a parent and its own child).
 */
function executionGraph(manifest: Manifest, nodes: readonly DbtNode[], withTestEdges: boolean): DependencyGraph {
  const base = new DependencyGraph();
  const ids = new Set(nodes.map((n) => n.uniqueId));
  // Ephemeral models do not run: their parents become parents of their children.
  const parentsOf = (n: DbtNode, seen: Set<string>): string[] =>
    n.dependsOn.nodes.flatMap((p) => {
      if (ids.has(p)) return [p];
      const pn = manifest.nodes.get(p);
      if (pn?.config['materialized'] === 'ephemeral' && !seen.has(p)) return parentsOf(pn, seen.add(p));
      return [];
    });
  for (const n of nodes) {
    base.addNode(n.uniqueId);
    for (const p of parentsOf(n, new Set())) base.addEdge(p, n.uniqueId);
  }
  if (!withTestEdges) return base;
  const graph = new DependencyGraph();
  for (const id of base.nodes()) {
    graph.addNode(id);
    for (const p of base.parents(id)) graph.addEdge(p, id);
  }
  for (const test of nodes) {
    if (test.resourceType !== 'test') continue;
    const testParents = test.dependsOn.nodes.filter((p) => ids.has(p));
    for (const parent of testParents) {
      for (const child of base.children(parent)) {
        if (manifest.nodes.get(child)?.resourceType === 'test') continue;
        const ancestors = base.ancestors(child);
        if (testParents.every((tp) => ancestors.has(tp))) graph.addEdge(test.uniqueId, child);
      }
    }
  }
  return graph;
}

function totalsOf(results: readonly DbtNodeResult[]): DbtTotals {
  let pass = 0;
  let warn = 0;
  let error = 0;
  let skip = 0;
  for (const r of results) {
    if (r.status === 'success' || r.status === 'pass') pass++;
    else if (r.status === 'warn') warn++;
    else if (r.status === 'skipped') skip++;
    else error++;
  }
  return { pass, warn, error, skip, total: results.length };
}

function describe(node: DbtNode): string {
  if (node.resourceType === 'test') return `test ${node.name}`;
  if (node.resourceType === 'snapshot') return `snapshot ${node.relation!.display()}`;
  if (node.resourceType === 'seed') return `seed file ${node.relation!.display()}`;
  return `sql ${String(node.config['materialized'])} model ${node.relation!.display()}`;
}

/** Runs a dbt command on a dbt-format project; see DbtRunOptions. */
export async function runDbt(options: DbtRunOptions): Promise<DbtRunResult> {
  const started = performance.now();
  const projectDir = resolve(options.projectDir);
  const targetPath = resolve(options.targetPath ?? resolve(projectDir, 'target'));
  const templateCache = await TemplateCache.open(resolve(targetPath, TEMPLATE_CACHE_FILE));
  try {
    return await runWithEngine(options, started, projectDir, targetPath, new JinjaEngine({ cache: templateCache }));
  } finally {
    // A by-product: a cache that cannot be written only makes the next run compile again.
    await templateCache.save().catch(() => {});
  }
}

async function runWithEngine(
  options: DbtRunOptions,
  started: number,
  projectDir: string,
  targetPath: string,
  engine: JinjaEngine,
): Promise<DbtRunResult> {
  const emit = options.onEvent ?? progress;
  const invocationId = randomUUID();
  const renderConfigText = (file: string) => (s: string) =>
    engine.render(s, { env_var: envVarFunction() }, { file, strict: true });
  const project = await readDbtProject(projectDir, renderConfigText('dbt_project.yml'));
  const target = await loadTarget({
    projectDir,
    profilesDir: options.profilesDir,
    profileName: project.profile,
    target: options.target,
    render: renderConfigText('profiles.yml'),
    warehouseDialect: options.warehouse?.dialect,
  });
  const notes: string[] = [];
  for (const file of ['packages.yml', 'dependencies.yml']) {
    const path = resolve(projectDir, file);
    if (!existsSync(path)) continue;
    const listed = ((parseYaml(await readFile(path, 'utf8')) as { packages?: unknown } | null)?.packages ??
      []) as unknown[];
    if (!Array.isArray(listed) || listed.length === 0) continue;
    const names = listed.map((p) => {
      const o = (p ?? {}) as Record<string, unknown>;
      return String(o['package'] ?? o['git'] ?? o['local'] ?? o['tarball'] ?? o['name'] ?? '?');
    });
    notes.push(
      `${file} lists ${names.length} package(s) (${names.join(', ')}); packages are not supported by Medallion's dbt runner, so their macros, models and tests are not available (copy what the project needs into its macros/ folder).`,
    );
  }
  const macros = new MacroRegistry(
    await loadMacros(projectDir, [...project.macroPaths, ...project.testPaths], project.name),
    builtinMacros(),
  );
  const quote = options.warehouse ? (id: string) => options.warehouse!.quote(id) : standardQuote;
  const runtime: DbtRuntime = {
    engine,
    project,
    target,
    cliVars: options.vars ?? {},
    quote,
    invocationId,
    runStartedAt: new Date(),
    command: options.command,
    emit,
    macros,
    fullRefresh: options.fullRefresh === true,
  };
  if (options.partialParse !== false && process.env.DBT_PARTIAL_PARSE?.toLowerCase() !== 'false')
    runtime.partialParse = await PartialParse.open(resolve(targetPath, PARTIAL_PARSE_FILE), runtime);
  const manifest = await parseProject(runtime, projectDir, notes);
  engine.dropTrees();
  // A by-product, like the template cache: a file that cannot be written only makes the next run parse again.
  await runtime.partialParse?.save().catch(() => {});
  for (const note of notes) emit(`Note: ${note}`);

  const byType = (t: string) => [...manifest.nodes.values()].filter((n) => n.resourceType === t).length;
  emit(
    `Found ${countsPhrase(
      new Map([
        ['model', byType('model')],
        ['seed', byType('seed')],
        ['snapshot', byType('snapshot')],
        ['data test', byType('test')],
        ['source', manifest.sources.size],
        ['macro', manifest.macros.size],
      ]),
    )}`,
  );

  const selected = selectIds(manifest, options.select, options.exclude);
  const nodes = nodesForCommand(manifest, options.command, selected);
  const compiledCode = new Map<string, string>();
  const base = {
    command: options.command,
    invocationId,
    targetPath,
    notes,
  };

  if (options.command === 'freshness') {
    const warehouse = options.warehouse ?? (await openProfileWarehouse(target.path ?? ':memory:'));
    try {
      const results = await sourceFreshness(manifest, selected, warehouse, emit, targetPath, invocationId);
      const totals = totalsOf(results);
      return {
        ...base,
        success: totals.error === 0,
        results,
        totals,
        elapsedS: (performance.now() - started) / 1000,
        listed: [],
      };
    } finally {
      if (!options.warehouse) await warehouse.close();
    }
  }

  if (options.command === 'parse' || options.command === 'ls') {
    await writeManifest(
      targetPath,
      manifest,
      { invocationId, adapterType: target.type, defaultSchema: target.schema },
      compiledCode,
    );
    const listed =
      options.command === 'ls'
        ? [
            ...nodes.map((n) => n.fqn.join('.')),
            ...[...manifest.sources.values()]
              .filter((s) => selected.has(s.uniqueId))
              .map((s) => `source:${s.fqn.join('.')}`),
          ].sort()
        : [];
    return {
      ...base,
      success: true,
      results: [],
      totals: totalsOf([]),
      elapsedS: (performance.now() - started) / 1000,
      listed,
    };
  }

  let warehouse: Warehouse | undefined = options.warehouse;
  let opened = false;
  if (!warehouse && EXECUTING.has(options.command)) {
    if (!target.path) {
      throw new MedallionError('MDL_DBT_PROJECT_INVALID', `target "${target.name}" has no database path.`, {
        hint: 'Set path: in the profile output.',
      });
    }
    warehouse = await openProfileWarehouse(target.path);
    opened = true;
  }
  try {
    const adapter = warehouse ? new WarehouseAdapter(warehouse) : undefined;
    const catalog = adapter ? new Catalog() : undefined;
    if (adapter && catalog) {
      catalog.reset(await adapter.catalog());
      adapter.useCatalog(catalog);
      runtime.catalog = catalog;
    }
    const operations: OperationRun[] = [];
    const projectHooks = async (key: 'on-run-start' | 'on-run-end', hooks: readonly string[]) => {
      if (!adapter || options.command === 'compile') return;
      for (const [i, hook] of hooks.entries()) {
        const startedAt = new Date();
        const ctx = buildContext({ runtime, manifest, mode: 'compile' });
        const sql = engine.render(hook, ctx, { file: `dbt_project.yml (${key})`, strict: true }).trim();
        if (sql !== '') {
          await adapter.warehouse.exec(sql);
          catalog?.invalidate();
        }
        // dbt reports each project hook as an "operation" in run_results.json.
        operations.push({
          uniqueId: `operation.${project.name}.${project.name}-${key}-${i}`,
          startedAt,
          completedAt: new Date(),
          sql,
        });
      }
    };
    await projectHooks('on-run-start', project.onRunStart);
    const graph = executionGraph(manifest, nodes, options.command === 'build');
    const order = graph.order(undefined, (id) => id.startsWith('test.'));
    // The texts this run renders, compiled in one batch (when partial parsing skipped their parse render).
    engine.prepare(
      order
        .map((id) => manifest.nodes.get(id)!)
        .filter((n) => n.resourceType !== 'seed' && !n.testMetadata)
        .map((n) => ({ source: n.rawCode, file: n.originalFilePath })),
    );
    const executed: ExecutedNode[] = [];
    // Compiled and run SQL files are written in the background and awaited once, at the end.
    const writes: Promise<unknown>[] = [];
    const track = (p: Promise<unknown>) => {
      p.catch(() => {});
      writes.push(p);
    };
    const skipped = new Map<string, string>();
    const total = order.length;
    let index = 0;
    const nodeStartEvent = (node: DbtNode, startedAt: Date): DbtNodeStartEvent => {
      const inputs: DbtNodeInput[] = [];
      for (const p of node.dependsOn.nodes) {
        const parent = manifest.nodes.get(p) ?? manifest.sources.get(p);
        const rel = parent?.relation;
        if (!parent || !rel) continue;
        inputs.push({
          uniqueId: p,
          resourceType: parent.resourceType,
          schema: rel.schema,
          identifier: rel.identifier,
          columns: catalog?.get(rel.schema, rel.identifier)?.columns,
        });
      }
      const meta = node.testMetadata;
      return {
        invocationId,
        command: options.command,
        uniqueId: node.uniqueId,
        name: node.name,
        resourceType: node.resourceType as DbtNodeStartEvent['resourceType'],
        materialized: node.resourceType === 'test' ? undefined : String(node.config['materialized'] ?? ''),
        relation: node.relation ? { schema: node.relation.schema, identifier: node.relation.identifier } : undefined,
        description: node.description,
        originalFilePath: node.originalFilePath,
        inputs,
        test:
          node.resourceType === 'test'
            ? {
                name: meta?.name ?? node.name,
                column: meta?.columnName ?? null,
                attachedTo: meta?.attachedTo ?? node.dependsOn.nodes[0] ?? '',
              }
            : undefined,
        startedAt,
      };
    };
    const runOne = async (id: string, adapter: WarehouseAdapter | undefined): Promise<void> => {
      const nodeIndex = ++index;
      const node = manifest.nodes.get(id)!;
      const startedAt = new Date();
      const t0 = performance.now();
      const skipReason = skipped.get(id);
      if (skipReason !== undefined) {
        const result: DbtNodeResult = {
          uniqueId: id,
          name: node.name,
          resourceType: node.resourceType,
          status: 'skipped',
          message: skipReason,
          executionTimeS: 0,
          relation: node.relation?.display(),
        };
        emit(
          progressLine(
            nodeIndex,
            total,
            `SKIP ${node.resourceType === 'test' ? 'test' : 'relation'} ${node.relation?.display() ?? node.name}`,
            'SKIP',
          ),
        );
        executed.push({
          result,
          startedAt,
          completedAt: startedAt,
          compiledCode: undefined,
          relationName: node.relation?.render(),
        });
        return;
      }
      if (options.command !== 'compile') emit(progressLine(nodeIndex, total, `START ${describe(node)}`, 'RUN'));
      const observed = options.command === 'compile' ? undefined : nodeStartEvent(node, startedAt);
      if (observed) await notifyNode(options.nodeObserver, (o) => o.onNodeStart?.(observed));
      let sql: string | undefined;
      let outcome: Outcome;
      try {
        const incremental = options.command === 'compile' ? false : await isIncrementalRun(runtime, adapter, node);
        sql =
          node.resourceType === 'seed'
            ? undefined
            : await compileNodeWithQueries(runtime, manifest, node, adapter, { incremental });
        if (sql !== undefined) {
          compiledCode.set(id, sql);
          track(writeCompiled(targetPath, manifest.projectName, node, sql));
        }
        if (options.command === 'compile') outcome = { status: 'success', message: 'compiled', action: 'compiled' };
        else if (node.resourceType === 'test') outcome = await runTest(adapter!, node, sql!);
        else outcome = await materialize(runtime, manifest, adapter!, node, sql ?? '', { incremental });
      } catch (err) {
        const e = asMedallionError(err, 'MDL_DBT_RUN');
        outcome = { status: 'error', message: e.message, action: 'error' };
      }
      if (adapter && catalog && node.relation && outcome.status === 'success' && node.resourceType !== 'test')
        await adapter.settle(node.relation, node.config['materialized'] === 'view' ? 'view' : 'table');
      // A failed node may have left its relations half-changed: read them again before trusting them.
      else if (outcome.status === 'error') catalog?.invalidate();
      if (outcome.statements) track(writeRunSql(targetPath, manifest.projectName, node, outcome.statements));
      const elapsed = (performance.now() - t0) / 1000;
      const result: DbtNodeResult = {
        uniqueId: id,
        name: node.name,
        resourceType: node.resourceType,
        status: outcome.status,
        message: outcome.message,
        ...(outcome.failures !== undefined ? { failures: outcome.failures } : {}),
        executionTimeS: elapsed,
        relation: node.relation?.display(),
      };
      executed.push({
        result,
        startedAt,
        completedAt: new Date(),
        compiledCode: sql,
        relationName: node.relation?.render(),
      });
      if (options.command !== 'compile') emit(resultLine(nodeIndex, total, node, outcome, elapsed));
      if (observed) {
        const built = node.relation ? catalog?.get(node.relation.schema, node.relation.identifier) : undefined;
        await notifyNode(options.nodeObserver, (o) =>
          o.onNodeEnd?.({
            ...observed,
            result,
            compiledSql: sql,
            columns: node.resourceType !== 'test' && outcome.status === 'success' ? built?.columns : undefined,
            completedAt: new Date(),
          }),
        );
      }
      const blocking = outcome.status === 'error' || outcome.status === 'fail';
      if (blocking && options.command !== 'test') {
        for (const d of graph.descendants(id))
          if (!skipped.has(d))
            skipped.set(d, `Skipped because ${node.name} ${outcome.status === 'fail' ? 'failed' : 'errored'}.`);
      }
    };

    // dbt's --threads: up to N nodes at once, each on its own connection, a node starting only when
    // every node it depends on (in the execution graph) has finished.
    const threads = Math.max(1, options.threads ?? target.threads ?? 1);
    const adapters: (WarehouseAdapter | undefined)[] = [adapter];
    const extra: Warehouse[] = [];
    if (adapter && threads > 1 && warehouse?.connect) {
      // Schemas first, on one connection: concurrent CREATE SCHEMA would conflict.
      for (const id of order) {
        const n = manifest.nodes.get(id);
        const rel = n?.relation ?? n?.auditRelation;
        if (rel && n?.config['materialized'] !== 'ephemeral') await adapter.ensureSchema(rel.schema);
      }
      for (let i = 1; i < threads; i++) {
        const w = await warehouse.connect();
        extra.push(w);
        const a = new WarehouseAdapter(w);
        if (catalog) a.useCatalog(catalog);
        for (const id of order) {
          const n = manifest.nodes.get(id);
          const rel = n?.relation ?? n?.auditRelation;
          if (rel && n?.config['materialized'] !== 'ephemeral') a.knowSchema(rel.schema);
        }
        adapters.push(a);
      }
    }
    try {
      // Ready nodes start in `order`'s order: each node counts its unfinished parents, and a node
      // whose count reaches zero joins the ready list (kept sorted by position in `order`).
      const position = new Map(order.map((id, i) => [id, i]));
      const waitingOn = new Map<string, number>();
      const ready: number[] = [];
      for (const [i, id] of order.entries()) {
        const n = graph.parents(id).size;
        waitingOn.set(id, n);
        if (n === 0) ready.push(i);
      }
      const makeReady = (i: number) => {
        let lo = 0;
        let hi = ready.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (ready[mid]! < i) lo = mid + 1;
          else hi = mid;
        }
        ready.splice(lo, 0, i);
      };
      let remaining = order.length;
      await new Promise<void>((resolveAll, rejectAll) => {
        let running = 0;
        const pump = () => {
          if (remaining === 0 && running === 0) return resolveAll();
          while (adapters.length > 0 && ready.length > 0) {
            const id = order[ready.shift()!]!;
            remaining--;
            running++;
            const a = adapters.pop();
            runOne(id, a).then(() => {
              running--;
              adapters.push(a);
              for (const c of graph.children(id)) {
                const left = waitingOn.get(c)! - 1;
                waitingOn.set(c, left);
                if (left === 0) makeReady(position.get(c)!);
              }
              pump();
            }, rejectAll);
          }
          if (running === 0 && remaining > 0) rejectAll(new Error('dbt runner: no node can start (cycle)'));
        };
        pump();
      });
    } finally {
      for (const w of extra) await w.close();
    }

    await projectHooks('on-run-end', project.onRunEnd);
    await Promise.all(writes);
    const results = executed.map((e) => e.result);
    const totals = totalsOf(results);
    const elapsedS = (performance.now() - started) / 1000;
    if (options.command !== 'compile') summarize(emit, manifest, results, totals, elapsedS);
    await writeManifest(
      targetPath,
      manifest,
      { invocationId, adapterType: target.type, defaultSchema: target.schema },
      compiledCode,
    );
    await writeRunResults(targetPath, executed, operations, {
      invocationId,
      command: options.command,
      elapsedS,
      args: { select: options.select ?? [], vars: options.vars ?? {}, project_dir: projectDir, target: target.name },
    });
    return { ...base, success: totals.error === 0, results, totals, elapsedS, listed: [] };
  } finally {
    if (opened) await warehouse!.close();
  }
}

function resultLine(index: number, total: number, node: DbtNode, outcome: Outcome, elapsed: number): string {
  const t = seconds(elapsed);
  switch (outcome.status) {
    case 'success':
      return progressLine(
        index,
        total,
        node.resourceType === 'snapshot'
          ? `OK snapshotted ${node.relation!.display()}`
          : `OK ${outcome.action} ${node.relation!.display()}`,
        node.resourceType === 'seed' ? `INSERT ${outcome.rows ?? 0} in ${t}` : `OK in ${t}`,
      );
    case 'pass':
      return progressLine(index, total, `PASS ${node.name}`, `PASS in ${t}`);
    case 'fail':
      return progressLine(index, total, `FAIL ${outcome.failures} ${node.name}`, `FAIL ${outcome.failures} in ${t}`);
    case 'warn':
      return progressLine(index, total, `WARN ${outcome.failures} ${node.name}`, `WARN ${outcome.failures} in ${t}`);
    default:
      return progressLine(
        index,
        total,
        `ERROR ${node.resourceType === 'test' ? 'test' : 'creating'} ${describe(node).replace(/^test /, '')}`,
        `ERROR in ${t}`,
      );
  }
}

function summarize(
  emit: (line: string) => void,
  manifest: Manifest,
  results: readonly DbtNodeResult[],
  totals: DbtTotals,
  elapsedS: number,
): void {
  const counts = new Map<string, number>();
  for (const r of results) {
    const node = manifest.nodes.get(r.uniqueId)!;
    const what =
      r.resourceType === 'model'
        ? `${String(node.config['materialized'])} model`
        : r.resourceType === 'seed'
          ? 'seed'
          : r.resourceType === 'test'
            ? 'data test'
            : 'snapshot';
    counts.set(what, (counts.get(what) ?? 0) + 1);
  }
  emit('');
  emit(`Finished running ${countsPhrase(counts) || 'nothing'} in ${seconds(elapsedS)}.`);
  emit('');
  if (totals.error === 0 && totals.warn === 0) emit('Completed successfully');
  else {
    emit(
      `Completed with ${totals.error} error${totals.error === 1 ? '' : 's'} and ${totals.warn} warning${totals.warn === 1 ? '' : 's'}:`,
    );
    for (const r of results) {
      if (r.status !== 'error' && r.status !== 'fail' && r.status !== 'warn') continue;
      const node = manifest.nodes.get(r.uniqueId)!;
      const label = r.status === 'warn' ? 'Warning in' : r.status === 'fail' ? 'Failure in' : 'Error in';
      emit('');
      emit(`${label} ${node.resourceType} ${node.name} (${node.declaredAt})`);
      emit(`  ${r.message}`);
    }
  }
  emit('');
  emit(`Done. PASS=${totals.pass} WARN=${totals.warn} ERROR=${totals.error} SKIP=${totals.skip} TOTAL=${totals.total}`);
}
