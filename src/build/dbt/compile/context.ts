import { MedallionError } from '../../../core/errors.ts';
import type { DbtNode, MacroDefinition, Manifest, NodeConfig, RefCall } from '../graph/manifest.ts';
import { pyJsonDumps } from '../jinja/filters.ts';
import { type JinjaEngine, jinjaFunction, MacroReturn } from '../jinja/jinja-engine.ts';
import { pyStr } from '../jinja/python-compat.ts';
import { mergeConfig, normalizeConfig } from '../project/configs.ts';
import type { DbtProjectFile } from '../project/dbt-project.ts';
import type { DbtTarget } from '../project/profiles.ts';
import type { PartialParse } from './partial-parse.ts';
import { Relation } from './relation.ts';

/**
 * The Jinja context dbt gives models, snapshots, tests and macros (dbt docs "dbt Jinja functions"):
 * `ref`, `source`, `config`, `var`, `env_var`, `this`, `target`, `model`, `execute`, `adapter`,
 * `exceptions`, `log`, `return` and every macro of the project and of Medallion's built-ins.
 *
 * As in dbt, a node is rendered twice. The parse render (`execute` false) records the node's
 * `ref`/`source` calls and `config(...)`; refs then print as placeholders. The compile render
 * (`execute` true) prints real relations and refuses a ref the parse render did not see (dbt's
 * "dependency not found at parse time" rule, fixed with a `-- depends_on: {{ ref('x') }}` line).
 */
export interface DbtRuntime {
  readonly engine: JinjaEngine;
  readonly project: DbtProjectFile;
  readonly target: DbtTarget;
  readonly cliVars: Readonly<Record<string, unknown>>;
  readonly quote: (identifier: string) => string;
  readonly invocationId: string;
  readonly runStartedAt: Date;
  readonly command: string;
  readonly emit: (line: string) => void;
  readonly macros: MacroRegistry;
  /** dbt's `--full-refresh`: incremental models and seeds are rebuilt from scratch. */
  readonly fullRefresh?: boolean;
  /** The warehouse's relations and their columns, kept current during the run (for `adapter.get_relation`). */
  catalog?: Catalog;
  /** The queries of the node being compiled (`run_query`, `statement`): see `QueryRound`. */
  queries?: QueryRound;
  /** What the previous run's parse learnt, for nodes whose inputs are unchanged (absent: parse everything). */
  partialParse?: PartialParse;
}

/**
 * Rendering is synchronous, so `run_query` and `statement` work in rounds: a render records the SQL
 * it needs (`pending`) and gets empty results; the caller runs those queries, keeps their rows
 * (`results`, by SQL text, so nothing runs twice) and renders again, until a render asks for nothing new.
 */
export interface QueryRound {
  readonly results: Map<string, Record<string, unknown>[]>;
  readonly pending: Set<string>;
  readonly named: Map<string, unknown>;
}

/** A query result as dbt's Jinja sees it (an agate Table): `columns[i].values()`, `rows`, `column_names`. */
function agateTable(rows: readonly Record<string, unknown>[]) {
  const names = rows.length > 0 ? Object.keys(rows[0]!) : [];
  return {
    column_names: names,
    columns: names.map((n) => ({ name: n, values: () => rows.map((r) => r[n]) })),
    rows: rows.map((r) =>
      Object.assign(
        names.map((n) => r[n]),
        r,
      ),
    ),
    print_table: () => '',
  };
}

/**
 * What `adapter.get_relation` and `get_columns_in_relation` read, and what the adapter asks before
 * DDL (dbt's relation cache): relations by `schema.name` (lower case), read once per run and kept
 * current as nodes build. SQL the runner does not write itself (hooks, `run_query`) may change
 * relations behind its back: it marks the catalog stale, and the adapter reads it again before
 * the next answer.
 */
export class Catalog {
  readonly #relations = new Map<
    string,
    { schema: string; name: string; type: 'table' | 'view'; columns: { name: string; type: string }[] }
  >();
  #stale = false;

  /** Whether SQL of unknown effect ran since the catalog was read. */
  get stale(): boolean {
    return this.#stale;
  }

  invalidate(): void {
    this.#stale = true;
  }

  /** Replaces the content with a fresh read of the warehouse. */
  reset(
    relations: Iterable<{
      schema: string;
      name: string;
      type: 'table' | 'view';
      columns: readonly { name: string; type: string }[];
    }>,
  ): void {
    this.#relations.clear();
    for (const r of relations) this.set(r.schema, r.name, r.type, [...r.columns]);
    this.#stale = false;
  }

  set(schema: string, name: string, type: 'table' | 'view', columns: { name: string; type: string }[]): void {
    this.#relations.set(`${schema}.${name}`.toLowerCase(), { schema, name, type, columns });
  }

  delete(schema: string, name: string): void {
    this.#relations.delete(`${schema}.${name}`.toLowerCase());
  }

  get(schema: string, name: string) {
    return this.#relations.get(`${schema}.${name}`.toLowerCase());
  }
}

/** What a parse render records. */
export interface ParseCapture {
  readonly refs: RefCall[];
  readonly sources: [string, string][];
  config: NodeConfig;
}

export type RenderMode = 'parse' | 'compile';

/** Project macros over Medallion's built-ins, by name; with dbt's `adapter.dispatch` search. */
export class MacroRegistry {
  readonly #project = new Map<string, MacroDefinition>();
  readonly #builtin = new Map<string, MacroDefinition>();

  constructor(project: Iterable<MacroDefinition>, builtin: Iterable<MacroDefinition>) {
    for (const m of builtin) this.#builtin.set(m.name, m);
    for (const m of project) this.#project.set(m.name, m);
  }

  resolve(name: string): MacroDefinition | undefined {
    return this.#project.get(name) ?? this.#builtin.get(name);
  }

  /** dbt's dispatch order: `<adapter>__name`, then `default__name`, the project's before the built-ins. */
  dispatch(name: string, adapterType: string): MacroDefinition | undefined {
    for (const table of [this.#project, this.#builtin]) {
      const found = table.get(`${adapterType}__${name}`) ?? table.get(`default__${name}`);
      if (found) return found;
    }
    return undefined;
  }

  #names: Set<string> | undefined;
  #projectList: MacroDefinition[] | undefined;
  #builtinList: MacroDefinition[] | undefined;

  // The registry does not change after construction: the lists below are made once (every render's
  // context is built from them).
  names(): ReadonlySet<string> {
    this.#names ??= new Set([...this.#builtin.keys(), ...this.#project.keys()]);
    return this.#names;
  }

  projectMacros(): readonly MacroDefinition[] {
    this.#projectList ??= [...this.#project.values()];
    return this.#projectList;
  }

  builtinMacros(): readonly MacroDefinition[] {
    this.#builtinList ??= [...this.#builtin.values()];
    return this.#builtinList;
  }
}

export interface ContextInput {
  readonly runtime: DbtRuntime;
  readonly manifest: Manifest;
  readonly mode: RenderMode;
  /** The node rendered; undefined for project-level renders (profiles, dbt_project.yml). */
  readonly node?: DbtNode;
  /** Parse renders record into this. */
  readonly capture?: ParseCapture;
  /** Compile renders: what a `ref` to an ephemeral model prints (the node is compiled into a CTE). */
  readonly ephemeral?: (node: DbtNode) => Relation;
  /** Compile renders: whether `is_incremental()` is true (the model's table exists, no full refresh). */
  readonly incremental?: boolean;
}

function compileError(message: string, hint: string): MedallionError {
  return new MedallionError('MDL_DBT_COMPILE', message, { hint });
}

/** A run timestamp that prints like Python's datetime and offers `strftime`/`isoformat`. */
class RunStartedAt {
  readonly #date: Date;
  constructor(date: Date) {
    this.#date = date;
  }
  isoformat(): string {
    return `${this.#date.toISOString().replace('Z', '')}000+00:00`;
  }
  strftime(format: string): string {
    const d = this.#date;
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    const map: Record<string, string> = {
      Y: String(d.getUTCFullYear()),
      m: p(d.getUTCMonth() + 1),
      d: p(d.getUTCDate()),
      H: p(d.getUTCHours()),
      M: p(d.getUTCMinutes()),
      S: p(d.getUTCSeconds()),
      f: p(d.getUTCMilliseconds() * 1000, 6),
      '%': '%',
    };
    return format.replace(/%([YmdHMSf%])/g, (_m, c: string) => map[c]!);
  }
  toString(): string {
    return `${this.strftime('%Y-%m-%d %H:%M:%S.%f')}+00:00`;
  }
}

/** Finds the node a `ref` names (models and snapshots), or undefined. */
export function findRefTarget(manifest: Manifest, ref: RefCall): DbtNode | undefined {
  const pkg = ref.package ?? manifest.projectName;
  for (const type of ['model', 'seed', 'snapshot'] as const) {
    const node = manifest.nodes.get(`${type}.${pkg}.${ref.name}`);
    if (node) return node;
  }
  return undefined;
}

/** The node as Jinja's `model` / `node` sees it (dbt's node dict, snake_case). */
export function nodeSummary(node: DbtNode): Record<string, unknown> {
  return {
    unique_id: node.uniqueId,
    name: node.name,
    resource_type: node.resourceType,
    package_name: node.packageName,
    path: node.path,
    original_file_path: node.originalFilePath,
    fqn: [...node.fqn],
    raw_code: node.rawCode,
    description: node.description,
    config: node.config,
    tags: (node.config['tags'] as string[] | undefined) ?? [],
    schema: node.relation?.schema ?? null,
    alias: node.relation?.identifier ?? node.name,
    database: node.relation?.database ?? null,
    columns: node.columns,
    refs: node.refs.map((r) => ({ name: r.name, package: r.package, version: null })),
    sources: node.sources.map((s) => [...s]),
    depends_on: node.dependsOn,
  };
}

function varLookup(runtime: DbtRuntime, name: string): { found: boolean; value: unknown } {
  if (Object.hasOwn(runtime.cliVars, name)) return { found: true, value: runtime.cliVars[name] };
  const vars = runtime.project.vars;
  const scoped = vars[runtime.project.name];
  if (scoped && typeof scoped === 'object' && Object.hasOwn(scoped, name)) {
    return { found: true, value: (scoped as Record<string, unknown>)[name] };
  }
  if (Object.hasOwn(vars, name)) return { found: true, value: vars[name] };
  return { found: false, value: undefined };
}

/** Renders one macro call: binds arguments, renders the body, and yields its `return()` value or text. */
export function callMacro(
  runtime: DbtRuntime,
  def: MacroDefinition,
  context: Record<string, unknown>,
  strict: boolean,
  args: unknown[],
  kwargs: Record<string, unknown>,
): unknown {
  // The caller's variables by prototype, not copied: the macro's own names shadow them.
  const local = Object.create(context) as Record<string, unknown>;
  const names = new Set(def.params.map((p) => p.name));
  def.params.forEach((p, i) => {
    if (i < args.length) local[p.name] = args[i];
    else if (Object.hasOwn(kwargs, p.name)) local[p.name] = kwargs[p.name];
    else if (p.defaultExpr !== undefined) {
      local[p.name] = runtime.engine.evaluate(p.defaultExpr, local, {
        file: def.originalFilePath,
        startLine: def.bodyLine,
        strict: false,
      });
    } else local[p.name] = undefined;
  });
  local['varargs'] = args.slice(def.params.length);
  local['kwargs'] = Object.fromEntries(Object.entries(kwargs).filter(([k]) => k !== 'caller' && !names.has(k)));
  if (Object.hasOwn(kwargs, 'caller')) local['caller'] = kwargs['caller'];
  local['return'] = (value: unknown) => {
    throw new MacroReturn(value);
  };
  try {
    return runtime.engine.render(def.body, local, { file: def.originalFilePath, startLine: def.bodyLine, strict });
  } catch (err) {
    if (err instanceof MacroReturn) return err.value;
    throw err;
  }
}

/** Builds the Jinja context for one render. */
export function buildContext(input: ContextInput): Record<string, unknown> {
  const { runtime, manifest, mode, node, capture, ephemeral } = input;
  const strict = mode === 'compile';
  const quote = runtime.quote;
  const ctx: Record<string, unknown> = {};

  const placeholder = (name: string) =>
    new Relation({ database: runtime.target.database, schema: runtime.target.schema, identifier: name }, quote);

  ctx['ref'] = jinjaFunction((args) => {
    const positional = args.map(String);
    if (positional.length === 0 || positional.length > 2) {
      throw compileError('ref() takes a model name, or a package name and a model name.', "Write ref('model_name').");
    }
    const call: RefCall =
      positional.length === 2
        ? { package: positional[0]!, name: positional[1]! }
        : { package: null, name: positional[0]! };
    if (mode === 'parse') {
      capture?.refs.push(call);
      return findRefTarget(manifest, call)?.relation ?? placeholder(call.name);
    }
    const targetNode = findRefTarget(manifest, call);
    if (!targetNode?.relation) {
      throw compileError(`ref('${call.name}') names no model or snapshot.`, 'Check the name, or add the model.');
    }
    if (node && !node.dependsOn.nodes.includes(targetNode.uniqueId)) {
      throw compileError(
        `ref('${call.name}') was not seen when the project was parsed (it is inside a block that only runs at execution).`,
        `Add the line "-- depends_on: {{ ref('${call.name}') }}" at the top of the file.`,
      );
    }
    if (targetNode.config['materialized'] === 'ephemeral') {
      if (!ephemeral) {
        throw compileError(
          `ref('${call.name}') names an ephemeral model, which can only be used inside a model, snapshot or test.`,
          'Materialize it as a view instead.',
        );
      }
      return ephemeral(targetNode);
    }
    return targetNode.relation;
  });

  ctx['source'] = jinjaFunction((args) => {
    if (args.length !== 2)
      throw compileError('source() takes a source name and a table name.', "Write source('raw', 'orders').");
    const [sourceName, tableName] = args.map(String) as [string, string];
    const def = manifest.sources.get(`source.${manifest.projectName}.${sourceName}.${tableName}`);
    if (mode === 'parse') {
      capture?.sources.push([sourceName, tableName]);
      return def?.relation ?? placeholder(tableName);
    }
    if (!def) {
      throw compileError(
        `source('${sourceName}', '${tableName}') is not declared in any property file.`,
        'Declare it under sources: in a .yml file.',
      );
    }
    return def.relation;
  });

  const currentConfig = (): NodeConfig =>
    capture ? mergeConfig(node?.config ?? {}, capture.config) : (node?.config ?? {});
  const config = jinjaFunction((args, kwargs) => {
    if (mode === 'parse' && capture) {
      const given = args[0] && typeof args[0] === 'object' ? (args[0] as Record<string, unknown>) : {};
      capture.config = mergeConfig(capture.config, normalizeConfig({ ...given, ...kwargs }));
    }
    return '';
  }) as ((...a: unknown[]) => unknown) & Record<string, unknown>;
  config['get'] = (key: string, dflt: unknown = null) => {
    const v = currentConfig()[key];
    return v === undefined ? dflt : v;
  };
  config['require'] = (key: string) => {
    const v = currentConfig()[key];
    if (v === undefined || v === null) {
      throw compileError(
        `config '${key}' is required here but not set.`,
        `Set ${key} in config() or the property file.`,
      );
    }
    return v;
  };
  ctx['config'] = config;

  const varFn = jinjaFunction((args) => {
    const name = String(args[0]);
    const { found, value } = varLookup(runtime, name);
    if (found) return value;
    if (args.length > 1) return args[1];
    if (mode === 'parse') return null;
    throw compileError(
      `Required var '${name}' not found in config.`,
      `Set it under vars: in dbt_project.yml or pass it in vars (--vars '{"${name}": ...}').`,
    );
  }) as ((...a: unknown[]) => unknown) & Record<string, unknown>;
  varFn['has_var'] = (name: string) => varLookup(runtime, name).found;
  ctx['var'] = varFn;

  ctx['env_var'] = envVarFunction();

  ctx['target'] = {
    ...runtime.target.settings,
    name: runtime.target.name,
    schema: runtime.target.schema,
    type: runtime.target.type,
    database: runtime.target.database,
    profile_name: runtime.target.profileName,
    threads: runtime.target.threads,
  };
  ctx['project_name'] = runtime.project.name;
  ctx['execute'] = mode === 'compile';
  const fullRefresh = runtime.fullRefresh === true;
  ctx['flags'] = { FULL_REFRESH: fullRefresh, STORE_FAILURES: false, WHICH: runtime.command, WARN_ERROR: false };
  ctx['invocation_id'] = runtime.invocationId;
  ctx['run_started_at'] = new RunStartedAt(runtime.runStartedAt);
  ctx['is_incremental'] = () => input.incremental === true;
  ctx['should_full_refresh'] = () => {
    const v = node?.config['full_refresh'];
    return v === undefined || v === null ? fullRefresh : v === true;
  };
  ctx['should_store_failures'] = () => false;
  ctx['tojson'] = jinjaFunction((args, kwargs) => pyJsonDumps(args[0], Boolean(kwargs['sort_keys'] ?? args[2])));
  ctx['fromjson'] = jinjaFunction((args) => {
    try {
      return JSON.parse(String(args[0]));
    } catch {
      return args[1] ?? null;
    }
  });
  ctx['log'] = jinjaFunction((args, kwargs) => {
    if (kwargs['info'] === true || args[1] === true) runtime.emit(pyStr(args[0]));
    return '';
  });
  ctx['print'] = (msg: unknown) => {
    runtime.emit(pyStr(msg));
    return '';
  };
  ctx['exceptions'] = {
    raise_compiler_error: (msg: unknown) => {
      throw compileError(pyStr(msg), 'The project raised this error on purpose; see the message.');
    },
    raise_not_implemented: (msg: unknown) => {
      throw compileError(pyStr(msg), 'This feature is not implemented.');
    },
    warn: (msg: unknown) => {
      runtime.emit(`Warning: ${pyStr(msg)}`);
      return '';
    },
  };
  const query = (sql: string): Record<string, unknown>[] | undefined => {
    const q = runtime.queries;
    if (mode === 'parse' || !q) return undefined;
    const key = sql.trim();
    const rows = q.results.get(key);
    if (rows === undefined && key !== '') q.pending.add(key);
    return rows;
  };
  ctx['run_query'] = jinjaFunction((args) => {
    if (mode === 'parse') return null;
    return agateTable(query(String(args[0] ?? '')) ?? []);
  });
  ctx['statement'] = jinjaFunction((args, kwargs) => {
    const name = String(args[0] ?? kwargs['name'] ?? 'statement');
    const caller = kwargs['caller'] as (() => unknown) | undefined;
    if (mode === 'parse' || !caller) return '';
    const rows = query(String(caller())) ?? [];
    const table = agateTable(rows);
    runtime.queries?.named.set(name, {
      data: table.rows.map((r) => [...r]),
      table,
      response: { _message: 'OK', rows_affected: rows.length },
    });
    return '';
  });
  ctx['load_result'] = jinjaFunction((args) => runtime.queries?.named.get(String(args[0])) ?? null);
  const lookup = (schema: unknown, identifier: unknown): Relation | null => {
    if (!runtime.catalog) {
      throw compileError(
        'adapter.get_relation() needs a warehouse connection (it is not available while parsing or in compile).',
        'Guard it with {% if execute %}.',
      );
    }
    const found = runtime.catalog.get(String(schema), String(identifier));
    if (!found) return null;
    return new Relation(
      { database: runtime.target.database, schema: found.schema, identifier: found.name, type: found.type },
      quote,
    );
  };
  const getRelation = jinjaFunction((args, kw) => {
    if (mode === 'parse') return null;
    const schema = kw['schema'] ?? args[1];
    const identifier = kw['identifier'] ?? args[2];
    return lookup(schema, identifier);
  });
  ctx['load_relation'] = jinjaFunction((args) => {
    if (mode === 'parse') return null;
    const r = args[0] as Relation | undefined;
    return r ? lookup(r.schema, r.identifier) : null;
  });
  ctx['api'] = {
    Relation: {
      create: jinjaFunction(
        (_args, kw) =>
          new Relation(
            {
              database: (kw['database'] as string | undefined) ?? runtime.target.database,
              schema: String(kw['schema'] ?? runtime.target.schema),
              identifier: String(kw['identifier'] ?? ''),
            },
            quote,
          ),
      ),
    },
  };

  if (node) {
    ctx['model'] = nodeSummary(node);
    if (node.resourceType !== 'test') ctx['this'] = node.relation ?? placeholder(node.name);
  }

  const bind = (def: MacroDefinition) =>
    jinjaFunction((args, kwargs) => callMacro(runtime, def, ctx, strict, args, kwargs));
  const packages: Record<string, Record<string, unknown>> = { dbt: {}, [runtime.project.name]: {} };
  for (const def of runtime.macros.builtinMacros()) packages['dbt']![def.name] = bind(def);
  for (const def of runtime.macros.projectMacros()) packages[runtime.project.name]![def.name] = bind(def);
  for (const name of runtime.macros.names()) {
    const def = runtime.macros.resolve(name)!;
    ctx[name] = def.packageName === 'dbt' ? packages['dbt']![name] : packages[runtime.project.name]![name];
  }
  ctx['dbt'] = packages['dbt'];
  if (!(runtime.project.name in ctx)) ctx[runtime.project.name] = packages[runtime.project.name];

  ctx['adapter'] = {
    type: () => runtime.target.type,
    quote: (identifier: unknown) => quote(String(identifier)),
    dispatch: jinjaFunction((args) => {
      const name = String(args[0]);
      const def = runtime.macros.dispatch(name, runtime.target.type) ?? runtime.macros.resolve(name);
      if (!def) {
        throw compileError(
          `adapter.dispatch('${name}') found no macro ${runtime.target.type}__${name} or default__${name}.`,
          'Define one of them in the macros folder (packages are not supported yet).',
        );
      }
      return bind(def);
    }),
    get_relation: getRelation,
    get_columns_in_relation: jinjaFunction((args) => {
      if (mode === 'parse') return [];
      const r = args[0] as Relation | undefined;
      const found = r && runtime.catalog ? runtime.catalog.get(r.schema, r.identifier) : undefined;
      return (found?.columns ?? []).map((c) => ({
        name: c.name,
        column: c.name,
        data_type: c.type,
        dtype: c.type,
        quoted: quote(c.name),
      }));
    }),
  };
  return ctx;
}

/** dbt's `env_var(name, default)`: the variable, the default, or a compile error naming it. */
export function envVarFunction(): (...args: unknown[]) => unknown {
  return jinjaFunction((args) => {
    const name = String(args[0]);
    const value = process.env[name];
    if (value !== undefined) return value;
    if (args.length > 1) return args[1];
    throw compileError(
      `Env var required but not provided: '${name}'.`,
      `Set ${name} in the environment or give env_var a default: env_var('${name}', 'default').`,
    );
  });
}
