import { createHash } from 'node:crypto';
import { basename, dirname } from 'node:path';
import { MedallionError } from '../../../core/errors.ts';
import { DependencyGraph } from '../graph/graph.ts';
import type {
  DbtNode,
  MacroDefinition,
  Manifest,
  NodeConfig,
  SourceDefinition,
  TestMetadata,
} from '../graph/manifest.ts';
import { findBlocks, parseMacroHeader } from '../jinja/blocks.ts';
import { configTags, folderConfig, mergeConfig } from '../project/configs.ts';
import { listProjectFiles, readText } from '../project/project-files.ts';
import { type Properties, readProperties } from '../project/properties.ts';
import { readYamlFile } from '../project/yaml-file.ts';
import { buildContext, callMacro, type DbtRuntime, findRefTarget, type ParseCapture } from './context.ts';
import { readTestDefinition, synthesizeTestNames } from './generic-tests.ts';
import { GLOBAL_MACROS_FILE, GLOBAL_MACROS_SQL } from './global-macros.ts';
import type { ParsedNode } from './partial-parse.ts';
import { Relation } from './relation.ts';
import { type JinjaAst, staticParse } from './static-parse.ts';

/**
 * Parsing, as dbt-core's parse phase: read macros, property files, models, snapshots and tests;
 * render each node once (parse mode) to learn its refs, sources and config; name its relation with
 * `generate_schema_name` / `generate_alias_name`; resolve dependencies; refuse cycles.
 */

/** Reads macro and `{% test %}` blocks of a text into macro definitions. */
export function macrosFromText(text: string, file: string, packageName: string): MacroDefinition[] {
  const out: MacroDefinition[] = [];
  for (const block of findBlocks(text, file)) {
    if (block.kind === 'materialization') {
      throw new MedallionError(
        'MDL_DBT_PROJECT_INVALID',
        `${file}:${block.line}: custom materializations are not supported (Medallion builds view and table itself).`,
        { hint: 'Remove the {% materialization %} block or run this project with dbt-core.' },
      );
    }
    if (block.kind !== 'macro' && block.kind !== 'test') continue;
    const { name, params } = parseMacroHeader(block.header, file, block.line);
    const macroName = block.kind === 'test' ? `test_${name}` : name;
    out.push({
      uniqueId: `macro.${packageName}.${macroName}`,
      name: macroName,
      packageName,
      originalFilePath: file,
      params,
      body: block.body,
      bodyLine: block.bodyLine,
    });
  }
  return out;
}

/** Medallion's built-in macros, parsed once. */
export function builtinMacros(): MacroDefinition[] {
  return macrosFromText(GLOBAL_MACROS_SQL, GLOBAL_MACROS_FILE, 'dbt');
}

function stem(path: string): string {
  return basename(path).replace(/\.[^.]+$/, '');
}

function folderParts(pathInFolder: string): string[] {
  const dir = dirname(pathInFolder);
  return dir === '.' ? [] : dir.split('/');
}

function dupError(kind: string, name: string, a: string, b: string): MedallionError {
  return new MedallionError('MDL_DBT_PROJECT_INVALID', `two ${kind}s are named "${name}": ${a} and ${b}.`, {
    hint: 'Rename one of them: node names are unique within a project.',
  });
}

interface Pending {
  node: DbtNode;
  /** Renders the node in parse mode (models, snapshots, singular tests); generic tests use their macro. */
  baseConfig: NodeConfig;
}

/** Parses the project into a manifest. `runtime.macros` must already hold the project's macros. */
export async function parseProject(runtime: DbtRuntime, projectDir: string, notes: string[]): Promise<Manifest> {
  const project = runtime.project;
  const pkg = project.name;
  const manifest: Manifest = {
    projectName: pkg,
    nodes: new Map(),
    sources: new Map(),
    macros: new Map(),
    seedFiles: (await listProjectFiles(projectDir, project.seedPaths, ['.csv'])).map((f) => f.file),
  };
  for (const m of [...runtime.macros.builtinMacros(), ...runtime.macros.projectMacros()])
    manifest.macros.set(m.uniqueId, m);

  const properties: Properties = { sources: [], patches: [], tests: [], notes };
  const ymlFolders = [...project.modelPaths, ...project.snapshotPaths, ...project.seedPaths];
  for (const f of await listProjectFiles(projectDir, ymlFolders, ['.yml', '.yaml'])) {
    const yaml = runtime.partialParse
      ? runtime.partialParse.readYaml(f.absolutePath, f.file)
      : await readYamlFile(f.absolutePath, f.file);
    readProperties(yaml, properties);
  }

  for (const s of properties.sources) {
    const uniqueId = `source.${pkg}.${s.sourceName}.${s.name}`;
    if (manifest.sources.has(uniqueId)) {
      throw new MedallionError(
        'MDL_DBT_PROJECT_INVALID',
        `${s.yaml.file}: source ${s.sourceName}.${s.name} is declared twice.`,
        {
          hint: 'Declare each source table once.',
        },
      );
    }
    const config = mergeConfig(folderConfig(project.configs.sources, [pkg, s.sourceName, s.name]), s.config);
    if (config['enabled'] === false) continue;
    const source: SourceDefinition = {
      uniqueId,
      resourceType: 'source',
      sourceName: s.sourceName,
      name: s.name,
      packageName: pkg,
      originalFilePath: s.yaml.file,
      fqn: [pkg, ...folderParts(s.yaml.file).slice(1), s.sourceName, s.name],
      description: s.description,
      sourceDescription: s.sourceDescription,
      columns: s.columns,
      config,
      relation: new Relation(
        { database: s.database ?? runtime.target.database, schema: s.schema, identifier: s.identifier },
        runtime.quote,
      ),
      loader: s.loader,
      meta: s.meta,
    };
    manifest.sources.set(uniqueId, source);
  }

  const pending: Pending[] = [];
  const add = (node: DbtNode, baseConfig: NodeConfig) => {
    const existing = manifest.nodes.get(node.uniqueId);
    if (existing) throw dupError(node.resourceType, node.name, existing.originalFilePath, node.originalFilePath);
    manifest.nodes.set(node.uniqueId, node);
    pending.push({ node, baseConfig });
  };
  const emptyNode = (
    fields: Partial<DbtNode> &
      Pick<DbtNode, 'uniqueId' | 'resourceType' | 'name' | 'path' | 'originalFilePath' | 'fqn' | 'rawCode'>,
  ): DbtNode => ({
    packageName: pkg,
    rawCodeLine: 1,
    description: '',
    columns: {},
    config: {},
    refs: [],
    sources: [],
    dependsOn: { nodes: [], macros: [] },
    relation: undefined,
    testMetadata: undefined,
    fileName: fields.name,
    declaredAt: fields.originalFilePath,
    ...fields,
  });

  const modelFiles = await listProjectFiles(projectDir, project.modelPaths, ['.sql']);
  const modelTexts = await Promise.all(modelFiles.map((f) => readText(f)));
  for (const [i, f] of modelFiles.entries()) {
    const name = stem(f.file);
    const fqn = [pkg, ...folderParts(f.pathInFolder), name];
    add(
      emptyNode({
        uniqueId: `model.${pkg}.${name}`,
        resourceType: 'model',
        name,
        path: f.pathInFolder,
        originalFilePath: f.file,
        fqn,
        rawCode: modelTexts[i]!,
      }),
      mergeConfig({ materialized: 'view' }, folderConfig(project.configs.models, fqn)),
    );
  }
  for (const f of await listProjectFiles(projectDir, project.seedPaths, ['.csv'])) {
    const name = stem(f.file);
    const fqn = [pkg, ...folderParts(f.pathInFolder), name];
    add(
      emptyNode({
        uniqueId: `seed.${pkg}.${name}`,
        resourceType: 'seed',
        name,
        path: f.pathInFolder,
        originalFilePath: f.file,
        fqn,
        rawCode: '',
        seedPath: f.absolutePath,
      }),
      mergeConfig({ materialized: 'seed' }, folderConfig(project.configs.seeds, fqn)),
    );
  }
  for (const f of await listProjectFiles(projectDir, project.snapshotPaths, ['.sql'])) {
    const text = await readText(f);
    for (const block of findBlocks(text, f.file)) {
      if (block.kind !== 'snapshot') continue;
      const name = block.header.trim();
      if (!/^[A-Za-z_]\w*$/.test(name)) {
        throw new MedallionError(
          'MDL_DBT_PROJECT_INVALID',
          `${f.file}:${block.line}: snapshot name "${name}" is not a name.`,
          {
            hint: 'Write {% snapshot my_snapshot %}.',
          },
        );
      }
      const fqn = [pkg, ...folderParts(f.pathInFolder), stem(f.file), name];
      add(
        emptyNode({
          uniqueId: `snapshot.${pkg}.${name}`,
          resourceType: 'snapshot',
          name,
          path: f.pathInFolder,
          originalFilePath: f.file,
          fqn,
          rawCode: block.body,
          rawCodeLine: block.bodyLine,
        }),
        mergeConfig({ materialized: 'snapshot' }, folderConfig(project.configs.snapshots, fqn)),
      );
    }
  }
  for (const f of await listProjectFiles(projectDir, project.testPaths, ['.sql'])) {
    const text = await readText(f);
    if (findBlocks(text, f.file).some((b) => b.kind === 'test' || b.kind === 'macro')) continue;
    const name = stem(f.file);
    const fqn = [pkg, ...folderParts(f.pathInFolder), name];
    add(
      emptyNode({
        uniqueId: `test.${pkg}.${name}`,
        resourceType: 'test',
        name,
        path: f.pathInFolder,
        originalFilePath: f.file,
        fqn,
        rawCode: text,
      }),
      mergeConfig({ materialized: 'test', severity: 'ERROR' }, folderConfig(project.configs.tests, fqn)),
    );
  }

  for (const patch of properties.patches) {
    const node = manifest.nodes.get(`${patch.kind}.${pkg}.${patch.name}`);
    if (!node) {
      const line = patch.yaml.lineOf(patch.path);
      notes.push(
        `${patch.yaml.file}${line ? `:${line}` : ''}: properties for ${patch.kind} "${patch.name}", which does not exist; ignored.`,
      );
      continue;
    }
    node.description = patch.description;
    node.columns = patch.columns;
    const p = pending.find((x) => x.node === node)!;
    p.baseConfig = mergeConfig(p.baseConfig, patch.config);
  }

  parseNodes(
    runtime,
    manifest,
    pending.filter((p) => p.node.resourceType !== 'test'),
  );
  for (const [id, node] of manifest.nodes) if (node.config['enabled'] === false) manifest.nodes.delete(id);
  for (const node of manifest.nodes.values()) {
    if (node.resourceType !== 'test') node.relation = nameRelation(runtime, manifest, node);
  }

  for (const entry of properties.tests) {
    const def = readTestDefinition(entry);
    const a = entry.attached;
    const targetName = a.kind === 'source' ? `${a.source}_${a.table}` : a.name;
    const testType = a.kind === 'source' ? `source_${def.testName}` : def.testName;
    const { shortName, fullName } = synthesizeTestNames(testType, targetName, def.kwargs);
    const name = def.customName ?? fullName;
    const attachedId = a.kind === 'source' ? `source.${pkg}.${a.source}.${a.table}` : `${a.kind}.${pkg}.${a.name}`;
    if (a.kind !== 'source' && !manifest.nodes.has(attachedId)) continue;
    if (a.kind === 'source' && !manifest.sources.has(attachedId)) continue;
    const hash = createHash('md5')
      .update(JSON.stringify([name, def.namespace, def.kwargs, attachedId]))
      .digest('hex')
      .slice(0, 10);
    const line = entry.yaml.lineOf(entry.path);
    const testMetadata: TestMetadata = {
      name: def.testName,
      kwargs: def.kwargs,
      namespace: def.namespace,
      attachedTo: attachedId,
      modelExpression: a.kind === 'source' ? `source('${a.source}', '${a.table}')` : `ref('${a.name}')`,
      columnName: entry.columnName,
    };
    const fqn = [pkg, ...folderParts(entry.yaml.file).slice(1), name];
    const node = emptyNode({
      uniqueId: `test.${pkg}.${name}.${hash}`,
      resourceType: 'test',
      name,
      path: `${shortName}.sql`,
      originalFilePath: entry.yaml.file,
      fqn,
      rawCode: `{{ test_${def.testName}(**_dbt_generic_test_kwargs) }}`,
      testMetadata,
      fileName: shortName,
      declaredAt: `${entry.yaml.file}${line ? `:${line}` : ''}`,
      description: def.description,
    });
    const existing = manifest.nodes.get(node.uniqueId);
    if (existing) continue;
    manifest.nodes.set(node.uniqueId, node);
    pending.push({
      node,
      baseConfig: mergeConfig(
        mergeConfig({ materialized: 'test', severity: 'ERROR' }, folderConfig(project.configs.tests, fqn)),
        def.config,
      ),
    });
  }
  const tests = pending.filter((p) => p.node.resourceType === 'test' && manifest.nodes.has(p.node.uniqueId));
  parseNodes(runtime, manifest, tests);
  for (const p of tests) {
    if (p.node.config['enabled'] === false) manifest.nodes.delete(p.node.uniqueId);
    else if (p.node.config['store_failures'] === true) {
      // dbt's test config defaults `schema` to `dbt_test__audit`, named by generate_schema_name.
      const cfg = p.node.config;
      p.node.auditRelation = nameRelation(runtime, manifest, {
        ...p.node,
        config: { ...cfg, schema: typeof cfg['schema'] === 'string' ? cfg['schema'] : 'dbt_test__audit' },
      });
    }
  }

  resolveDependencies(manifest);
  return manifest;
}

/**
 * Parses nodes: each takes what the previous run's parse learnt when its inputs are unchanged
 * (partial parsing, see PartialParse), else is rendered in parse mode; the texts to render are
 * compiled first, in one batch.
 */
function parseNodes(runtime: DbtRuntime, manifest: Manifest, list: readonly Pending[]): void {
  const toRender: Pending[] = [];
  for (const p of list) {
    const known = runtime.partialParse?.lookup(p.node, p.baseConfig);
    if (known) applyParsed(p, known);
    else toRender.push(p);
  }
  if (toRender.length === 0) return;
  runtime.engine.prepare([
    ...toRender
      .filter((p) => !p.node.testMetadata)
      .map((p) => ({ source: p.node.rawCode, file: p.node.originalFilePath })),
    ...runtime.macros.projectMacros().map((m) => ({ source: m.body, file: m.originalFilePath })),
  ]);
  const verify = process.env.MEDALLION_DBT_VERIFY_STATIC_PARSE === '1';
  for (const p of toRender) {
    const parsed = readStatically(runtime, p.node);
    if (!parsed) {
      parseRender(runtime, manifest, p);
      continue;
    }
    if (verify) {
      // A check for tests: render as well, and stop on any difference; the static result is used.
      parseRender(runtime, manifest, p);
      const rendered = { refs: p.node.refs, sources: p.node.sources, config: p.node.config };
      const read = { refs: parsed.refs, sources: parsed.sources, config: mergeConfig(p.baseConfig, parsed.config) };
      read.config['tags'] = configTags(read.config);
      if (JSON.stringify(rendered) !== JSON.stringify(read)) {
        throw new MedallionError(
          'MDL_INTERNAL',
          `${p.node.originalFilePath}: static parsing read ${JSON.stringify(read)} where rendering gave ${JSON.stringify(rendered)}.`,
          { hint: 'Static parsing and rendering disagree on this model: report it, with the model.' },
        );
      }
    }
    runtime.partialParse?.record(p.node, p.baseConfig, parsed, {});
    applyParsed(p, parsed);
  }
}

/** A model's parse read from its template's syntax tree, when static parsing takes it (see static-parse.ts). */
function readStatically(runtime: DbtRuntime, node: DbtNode): ParsedNode | undefined {
  if (node.resourceType !== 'model') return undefined;
  const tree = runtime.engine.tree(node.rawCode, node.originalFilePath);
  if (!tree) return undefined;
  return staticParse(
    tree as JinjaAst,
    (name) => {
      const def = runtime.macros.resolve(name);
      if (!def || def.packageName === 'dbt') return undefined;
      return {
        ast: runtime.engine.tree(def.body, def.originalFilePath) as JinjaAst | undefined,
        defaults: def.params.map((param) => param.defaultExpr ?? ''),
      };
    },
    ['dbt', runtime.project.name],
  );
}

function parseRender(runtime: DbtRuntime, manifest: Manifest, p: Pending): void {
  const node = p.node;
  node.config = p.baseConfig;
  const capture: ParseCapture = { refs: [], sources: [], config: {} };
  const ctx = buildContext({ runtime, manifest, mode: 'parse', node, capture });
  // The environment variables the render reads (also inside macros, which see this context), for
  // partial parsing: a later run parses the node again when one has changed.
  const seen: { env: Record<string, string | null> | undefined } = { env: {} };
  const envVar = ctx['env_var'] as (...args: unknown[]) => unknown;
  ctx['env_var'] = (...args: unknown[]) => {
    const name = args[0];
    if (typeof name === 'string' && seen.env) seen.env[name] = process.env[name] ?? null;
    else seen.env = undefined;
    return envVar(...args);
  };
  if (node.testMetadata) {
    renderGenericTest(runtime, node, ctx, 'parse');
  } else {
    runtime.engine.render(node.rawCode, ctx, {
      file: node.originalFilePath,
      startLine: node.rawCodeLine,
      strict: false,
    });
  }
  runtime.partialParse?.record(node, p.baseConfig, capture, seen.env);
  applyParsed(p, capture);
}

function applyParsed(p: Pending, parsed: ParsedNode): void {
  const node = p.node;
  node.config = mergeConfig(p.baseConfig, parsed.config);
  node.refs = parsed.refs;
  node.sources = parsed.sources;
  if (typeof node.config['severity'] === 'string')
    node.config['severity'] = (node.config['severity'] as string).toUpperCase();
  node.config['tags'] = configTags(node.config);
}

/** `ref('x')`, `source('a', 'b')`, `var('v')`, `env_var('E', 'd')`: a call with string literals only. */
const LITERAL_CALL =
  /^\s*(ref|source|var|env_var)\s*\(\s*((?:'[^'\\]*'|"[^"\\]*")(?:\s*,\s*(?:'[^'\\]*'|"[^"\\]*"))*)\s*\)\s*$/;

/**
 * Evaluates a test argument expression. The common forms (a `ref`/`source`/`var`/`env_var` call
 * with string literals, and `get_where_subquery` of one) call the context's functions directly,
 * with the result Jinja would give, instead of compiling a one-off template per test; anything
 * else, or an error, goes through the engine (which locates the error).
 */
function evaluateArgument(
  runtime: DbtRuntime,
  expression: string,
  ctx: Record<string, unknown>,
  opts: { file: string; startLine: number; strict: boolean },
  wrap?: string,
): unknown {
  const m = LITERAL_CALL.exec(expression);
  const fn = m ? ctx[m[1]!] : undefined;
  const outer = wrap === undefined ? undefined : ctx[wrap];
  if (m && typeof fn === 'function' && (wrap === undefined || typeof outer === 'function')) {
    try {
      const args = [...m[2]!.matchAll(/'([^'\\]*)'|"([^"\\]*)"/g)].map((a) => a[1] ?? a[2]);
      const value = fn(...args);
      return outer ? (outer as (v: unknown) => unknown)(value) : value;
    } catch {
      // Evaluated again below, for the located error.
    }
  }
  return runtime.engine.evaluate(wrap === undefined ? expression : `${wrap}(${expression})`, ctx, opts);
}

/**
 * Renders a generic test: evaluates its arguments in the test's context (dbt's rule: strings that
 * look like `ref(...)`/`source(...)`/`var(...)` are expressions, other strings are rendered,
 * `column_name` is kept as written), binds `model` to `get_where_subquery(<attached relation>)`,
 * and calls the test macro. Returns the test query.
 */
export function renderGenericTest(
  runtime: DbtRuntime,
  node: DbtNode,
  ctx: Record<string, unknown>,
  mode: 'parse' | 'compile',
): string {
  const meta = node.testMetadata!;
  const opts = { file: node.originalFilePath, startLine: 1, strict: mode === 'compile' };
  const location = node.declaredAt;
  const macroName = `test_${meta.name}`;
  if (meta.namespace !== null && meta.namespace !== runtime.project.name && meta.namespace !== 'dbt') {
    throw new MedallionError(
      'MDL_DBT_COMPILE',
      `${location}: test "${meta.namespace}.${meta.name}" comes from package "${meta.namespace}"; packages are not supported yet.`,
      {
        hint: `Copy the test into the project as {% test ${meta.name}(model, column_name) %} in macros/, or remove it.`,
      },
    );
  }
  const def = runtime.macros.resolve(macroName);
  if (!def) {
    throw new MedallionError('MDL_DBT_COMPILE', `${location}: no generic test named "${meta.name}".`, {
      hint: `Define it with {% test ${meta.name}(model, column_name) %} ... {% endtest %} in macros/ or tests/generic/.`,
    });
  }
  const evaluate = (value: unknown, key: string | undefined): unknown => {
    if (typeof value === 'string') {
      if (key === 'column_name') return value;
      if (/^\s*(env_var|ref|var|source|doc)\s*\(.+\)\s*$/s.test(value))
        return evaluateArgument(runtime, value, ctx, opts);
      if (value.includes('{{') || value.includes('{%')) {
        const whole = /^\s*\{\{([\s\S]*)\}\}\s*$/.exec(value);
        return whole && !whole[1]!.includes('}}')
          ? runtime.engine.evaluate(whole[1]!, ctx, opts)
          : runtime.engine.render(value, ctx, opts);
      }
      return value;
    }
    if (Array.isArray(value)) return value.map((v) => evaluate(v, undefined));
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluate(v, undefined)]));
    return value;
  };
  try {
    const kwargs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(meta.kwargs)) kwargs[k] = evaluate(v, k);
    // Parsing a built-in test (over the built-in get_where_subquery) only needs the refs and sources
    // of its arguments: its macros call no ref, source or config, and the text is thrown away.
    const builtin = (name: string) => runtime.macros.resolve(name)?.packageName === 'dbt';
    if (mode === 'parse' && def.packageName === 'dbt' && builtin('get_where_subquery')) {
      evaluateArgument(runtime, meta.modelExpression, ctx, opts);
      return '';
    }
    kwargs['model'] = evaluateArgument(runtime, meta.modelExpression, ctx, opts, 'get_where_subquery');
    const sql = callMacro(runtime, def, ctx, mode === 'compile', [], kwargs);
    return typeof sql === 'string' ? sql : String(sql ?? '');
  } catch (err) {
    if (err instanceof MedallionError && !err.message.startsWith(location)) {
      throw new MedallionError(err.code, `${location} (test ${node.name}): ${err.message}`, {
        hint: err.hint,
        cause: err.cause,
        details: err.details,
      });
    }
    throw err;
  }
}

/**
 * dbt's default `generate_schema_name` / `generate_alias_name` (the built-ins, when neither they nor
 * their `<adapter>__`/`default__` implementations are overridden by the project), computed directly:
 * the same result as rendering them, without a render per node.
 */
function builtinNaming(runtime: DbtRuntime, macro: 'generate_schema_name' | 'generate_alias_name'): boolean {
  const names = [macro, `default__${macro}`, `${runtime.target.type}__${macro}`];
  return names.every((n) => {
    const def = runtime.macros.resolve(n);
    return def === undefined || def.packageName === 'dbt';
  });
}

function nameRelation(runtime: DbtRuntime, manifest: Manifest, node: DbtNode): Relation {
  let ctx: Record<string, unknown> | undefined;
  const call = (macro: 'generate_schema_name' | 'generate_alias_name', arg: string | null): string => {
    if (builtinNaming(runtime, macro)) {
      const custom = arg === null ? '' : arg.trim();
      if (macro === 'generate_alias_name') return custom !== '' ? custom : node.name;
      return arg === null || arg === '' ? runtime.target.schema : `${runtime.target.schema}_${custom}`;
    }
    ctx ??= buildContext({ runtime, manifest, mode: 'parse', node });
    const def = runtime.macros.resolve(macro)!;
    const out = callMacro(runtime, def, ctx, false, [arg ?? null, ctx['model']], {});
    return String(out ?? '').trim();
  };
  const cfg = node.config;
  let schema: string;
  if (node.resourceType === 'snapshot' && typeof cfg['target_schema'] === 'string') schema = cfg['target_schema'];
  else schema = call('generate_schema_name', typeof cfg['schema'] === 'string' ? cfg['schema'] : null);
  const identifier = call('generate_alias_name', typeof cfg['alias'] === 'string' ? cfg['alias'] : null);
  if (!schema || !identifier) {
    throw new MedallionError(
      'MDL_DBT_COMPILE',
      `${node.originalFilePath}: the schema or alias macros returned an empty name.`,
      {
        hint: 'Check generate_schema_name / generate_alias_name in macros/.',
      },
    );
  }
  const database = typeof cfg['target_database'] === 'string' ? cfg['target_database'] : runtime.target.database;
  return new Relation({ database, schema, identifier }, runtime.quote);
}

function resolveDependencies(manifest: Manifest): void {
  const graph = new DependencyGraph();
  for (const node of manifest.nodes.values()) {
    graph.addNode(node.uniqueId);
    const deps = new Set<string>();
    for (const ref of node.refs) {
      const target = findRefTarget(manifest, ref);
      if (!target) {
        const seed = manifest.seedFiles.find((f) => stem(f) === ref.name);
        const where = node.declaredAt;
        if (seed) {
          throw new MedallionError(
            'MDL_DBT_COMPILE',
            `${where}: ref('${ref.name}') names a seed (${seed}); seeds are not supported yet by Medallion's dbt runner.`,
            { hint: 'Load that data into a table and declare it as a source, then use source(...).' },
          );
        }
        throw new MedallionError(
          'MDL_DBT_COMPILE',
          `${where}: ${node.resourceType} "${node.name}" depends on a node named '${ref.name}' which was not found.`,
          {
            hint: `Check the name in ref('${ref.name}'), or add models/${ref.name}.sql.`,
            details: { file: node.originalFilePath },
          },
        );
      }
      deps.add(target.uniqueId);
    }
    for (const [s, t] of node.sources) {
      const id = `source.${manifest.projectName}.${s}.${t}`;
      if (!manifest.sources.has(id)) {
        throw new MedallionError(
          'MDL_DBT_COMPILE',
          `${node.declaredAt}: ${node.resourceType} "${node.name}" depends on a source named '${s}.${t}' which was not found.`,
          { hint: `Declare it in a property file: sources: [{name: ${s}, tables: [{name: ${t}}]}].` },
        );
      }
      deps.add(id);
    }
    node.dependsOn = { nodes: [...deps].sort(), macros: [] };
    for (const d of deps) if (!d.startsWith('source.')) graph.addEdge(d, node.uniqueId);
  }
  graph.assertAcyclic((id) => id);
}
