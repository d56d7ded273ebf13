/**
 * Column-level lineage from SQL. The statement is parsed by DuckDB (`json_serialize_sql`, the same
 * parser that runs it) and its syntax tree is walked: CTEs, subqueries, joins (with USING), `*` and
 * `t.*` (expanded from the columns the warehouse reports for base relations), set operations.
 * Each output column gets the base-relation columns its expression reads, and how:
 * OpenLineage's column lineage facet (spec/facets/ColumnLineageDatasetFacet.json) calls a column
 * copied as is DIRECT/IDENTITY, one computed from inputs DIRECT/TRANSFORMATION, and one computed over
 * groups of rows (aggregates, window functions) DIRECT/AGGREGATION.
 */

/** How an output column comes from an input column (the facet's DIRECT subtypes). */
export type LineageSubtype = 'IDENTITY' | 'TRANSFORMATION' | 'AGGREGATION';

/** A column of a base relation (`schema.table`, lower case). */
export interface SourceColumn {
  readonly relation: string;
  readonly column: string;
}

/** For each output column (by name), the base-relation columns it comes from. */
export type ColumnLineage = Map<string, Map<string, { source: SourceColumn; subtype: LineageSubtype }>>;

/** The columns of a base relation (`schema`, `table`), or undefined when unknown. */
export type ColumnsOf = (schema: string, table: string) => readonly string[] | undefined;

type Origins = Map<string, { source: SourceColumn; subtype: LineageSubtype }>;
interface ScopeColumn {
  readonly name: string;
  readonly origins: Origins;
}
interface Binding {
  readonly alias: string;
  /** Known columns; undefined when the relation's columns are unknown (refs resolve on demand). */
  columns: ScopeColumn[] | undefined;
  readonly relation?: string;
}
type Ast = Record<string, unknown>;

const RANK: Record<LineageSubtype, number> = { IDENTITY: 0, TRANSFORMATION: 1, AGGREGATION: 2 };
/** The stronger of two subtypes (a transformation of an aggregate is an aggregation). */
export function combineSubtypes(a: LineageSubtype, b: LineageSubtype): LineageSubtype {
  return RANK[a] >= RANK[b] ? a : b;
}

const AGGREGATES = new Set([
  'count',
  'count_star',
  'sum',
  'avg',
  'mean',
  'min',
  'max',
  'any_value',
  'first',
  'last',
  'arg_min',
  'arg_max',
  'string_agg',
  'list',
  'array_agg',
  'median',
  'quantile',
  'quantile_cont',
  'quantile_disc',
  'mode',
  'stddev',
  'stddev_samp',
  'stddev_pop',
  'variance',
  'var_samp',
  'var_pop',
  'bool_and',
  'bool_or',
  'approx_count_distinct',
  'histogram',
  'product',
  'fsum',
  'sumkahan',
]);

function key(s: SourceColumn): string {
  return `${s.relation}\u0000${s.column}`;
}

function merge(into: Origins, from: Origins, cap?: LineageSubtype): void {
  for (const [k, v] of from) {
    const subtype = cap ? combineSubtypes(v.subtype, cap) : v.subtype;
    const prev = into.get(k);
    into.set(k, { source: v.source, subtype: prev ? combineSubtypes(prev.subtype, subtype) : subtype });
  }
}

class Analyzer {
  readonly #columnsOf: ColumnsOf;
  constructor(columnsOf: ColumnsOf) {
    this.#columnsOf = columnsOf;
  }

  query(node: Ast, ctes: Map<string, ScopeColumn[]>): ScopeColumn[] {
    const local = new Map(ctes);
    const cteMap = (node['cte_map'] as { map?: { key: string; value: { query: { node: Ast }; aliases?: string[] } }[] })
      ?.map;
    for (const c of cteMap ?? []) {
      const cols = this.query(c.value.query.node, local);
      local.set(c.key.toLowerCase(), renameColumns(cols, c.value.aliases));
    }
    switch (node['type']) {
      case 'SELECT_NODE':
        return this.select(node, local);
      case 'SET_OPERATION_NODE': {
        const children = (
          (node['children'] as Ast[] | undefined) ?? [node['left'] as Ast, node['right'] as Ast]
        ).filter(Boolean);
        const parts = children.map((c) => this.query(c, local));
        const first = parts[0] ?? [];
        return first.map((col, i) => {
          const origins: Origins = new Map();
          for (const p of parts) if (p[i]) merge(origins, p[i]!.origins);
          return { name: col.name, origins };
        });
      }
      case 'RECURSIVE_CTE_NODE':
        return this.query(node['left'] as Ast, local);
      default:
        return [];
    }
  }

  select(node: Ast, ctes: Map<string, ScopeColumn[]>): ScopeColumn[] {
    const bindings: Binding[] = [];
    const using: string[] = [];
    this.from(node['from_table'] as Ast | null, ctes, bindings, using);
    const out: ScopeColumn[] = [];
    for (const expr of (node['select_list'] as Ast[] | undefined) ?? []) {
      if (expr['class'] === 'STAR' && !expr['columns']) {
        const rel = String(expr['relation_name'] ?? '').toLowerCase();
        const excluded = new Set(((expr['exclude_list'] as unknown[]) ?? []).map((e) => excludedName(e)));
        const seen = new Set<string>();
        for (const b of bindings) {
          if (rel && b.alias !== rel) continue;
          for (const c of b.columns ?? []) {
            const lower = c.name.toLowerCase();
            if (excluded.has(lower)) continue;
            if (!rel && using.includes(lower) && seen.has(lower)) continue;
            seen.add(lower);
            out.push({ name: c.name, origins: new Map(c.origins) });
          }
        }
        continue;
      }
      const origins: Origins = new Map();
      const direct = expr['class'] === 'COLUMN_REF';
      const aggregated = containsAggregate(expr);
      this.collect(expr, bindings, using, origins, ctes);
      const capped: Origins = new Map();
      merge(capped, origins, aggregated ? 'AGGREGATION' : direct ? undefined : 'TRANSFORMATION');
      out.push({ name: outputName(expr), origins: capped });
    }
    return out;
  }

  from(table: Ast | null | undefined, ctes: Map<string, ScopeColumn[]>, bindings: Binding[], using: string[]): void {
    if (!table) return;
    switch (table['type']) {
      case 'BASE_TABLE': {
        const schema = String(table['schema_name'] ?? '').toLowerCase();
        const name = String(table['table_name'] ?? '').toLowerCase();
        const alias = String(table['alias'] || name).toLowerCase();
        const cte = schema === '' ? ctes.get(name) : undefined;
        if (cte) {
          bindings.push({ alias, columns: renameColumns(cte, table['column_name_alias'] as string[]) });
          return;
        }
        const relation = `${schema || 'main'}.${name}`;
        const names = this.#columnsOf(schema || 'main', name);
        bindings.push({
          alias,
          relation,
          columns: names?.map((c) => ({
            name: c,
            origins: new Map([
              [
                key({ relation, column: c }),
                { source: { relation, column: c }, subtype: 'IDENTITY' as LineageSubtype },
              ],
            ]),
          })),
        });
        return;
      }
      case 'SUBQUERY': {
        const sub = (table['subquery'] as { node: Ast }).node;
        const cols = this.query(sub, ctes);
        bindings.push({
          alias: String(table['alias'] ?? '').toLowerCase(),
          columns: renameColumns(cols, table['column_name_alias'] as string[]),
        });
        return;
      }
      case 'JOIN': {
        this.from(table['left'] as Ast, ctes, bindings, using);
        this.from(table['right'] as Ast, ctes, bindings, using);
        for (const u of (table['using_columns'] as string[] | undefined) ?? []) using.push(u.toLowerCase());
        return;
      }
      default:
        bindings.push({ alias: String(table['alias'] ?? '').toLowerCase(), columns: [] });
    }
  }

  /** Adds the origins of every column an expression reads. */
  collect(expr: unknown, bindings: Binding[], using: string[], into: Origins, ctes: Map<string, ScopeColumn[]>): void {
    if (Array.isArray(expr)) {
      for (const e of expr) this.collect(e, bindings, using, into, ctes);
      return;
    }
    if (!expr || typeof expr !== 'object') return;
    const e = expr as Ast;
    if (e['class'] === 'COLUMN_REF') {
      const col = resolveRef(e['column_names'] as string[], bindings, using);
      if (col) merge(into, col.origins);
      return;
    }
    if (e['class'] === 'SUBQUERY' && e['subquery']) {
      for (const c of this.query((e['subquery'] as { node: Ast }).node, ctes)) merge(into, c.origins, 'TRANSFORMATION');
      return;
    }
    for (const [k, v] of Object.entries(e)) {
      if (k === 'query_location') continue;
      if (v && typeof v === 'object') this.collect(v, bindings, using, into, ctes);
    }
  }
}

function excludedName(e: unknown): string {
  if (typeof e === 'string') return e.toLowerCase();
  const names = (e as { column_names?: string[] })?.column_names;
  return String(names?.[names.length - 1] ?? '').toLowerCase();
}

function renameColumns(cols: ScopeColumn[], aliases: readonly string[] | undefined): ScopeColumn[] {
  if (!aliases || aliases.length === 0) return cols;
  return cols.map((c, i) => ({ name: aliases[i] ?? c.name, origins: c.origins }));
}

function resolveRef(names: readonly string[], bindings: Binding[], using: string[]): ScopeColumn | undefined {
  const column = String(names[names.length - 1]).toLowerCase();
  const qualifier = names.length >= 2 ? String(names[names.length - 2]).toLowerCase() : undefined;
  const candidates = qualifier ? bindings.filter((b) => b.alias === qualifier) : bindings;
  const found: ScopeColumn[] = [];
  for (const b of candidates) {
    if (b.columns) {
      const c = b.columns.find((x) => x.name.toLowerCase() === column);
      if (c) found.push(c);
    }
  }
  if (found.length === 0) {
    // A relation whose columns are unknown: the column is taken to be its own when it is the only such relation.
    const unknown = candidates.filter((b) => b.columns === undefined && b.relation);
    if (unknown.length === 1) {
      const relation = unknown[0]!.relation!;
      const source = { relation, column };
      return { name: column, origins: new Map([[key(source), { source, subtype: 'IDENTITY' as LineageSubtype }]]) };
    }
    return undefined;
  }
  if (found.length > 1 && !qualifier && using.includes(column)) {
    const origins: Origins = new Map();
    for (const c of found) merge(origins, c.origins);
    return { name: column, origins };
  }
  return found[0];
}

function containsAggregate(expr: unknown): boolean {
  if (Array.isArray(expr)) return expr.some(containsAggregate);
  if (!expr || typeof expr !== 'object') return false;
  const e = expr as Ast;
  if (e['class'] === 'SUBQUERY') return false;
  if (e['class'] === 'WINDOW') return true;
  if (e['class'] === 'AGGREGATE') return true;
  if (e['class'] === 'FUNCTION' && AGGREGATES.has(String(e['function_name']).toLowerCase())) return true;
  if (e['type'] === 'GROUPING_FUNCTION') return true;
  return Object.entries(e).some(
    ([k, v]) => k !== 'query_location' && v && typeof v === 'object' && containsAggregate(v),
  );
}

function outputName(expr: Ast): string {
  if (expr['alias']) return String(expr['alias']);
  if (expr['class'] === 'COLUMN_REF') {
    const names = expr['column_names'] as string[];
    return String(names[names.length - 1]);
  }
  return '';
}

/**
 * The column lineage of one SELECT statement (DuckDB's `json_serialize_sql` output). `outputColumns`,
 * when given (the built relation's columns, in order), names the result's columns — DuckDB names an
 * unaliased expression after its text, which the syntax tree does not carry. Returns undefined when
 * the statement is not a single SELECT.
 */
export function columnLineageFromAst(
  serialized: unknown,
  columnsOf: ColumnsOf,
  outputColumns?: readonly string[],
): ColumnLineage | undefined {
  const root = serialized as { error?: boolean; statements?: { node: Ast }[] };
  if (root.error || root.statements?.length !== 1) return undefined;
  const cols = new Analyzer(columnsOf).query(root.statements[0]!.node, new Map());
  const names = outputColumns && outputColumns.length === cols.length ? outputColumns : undefined;
  const out: ColumnLineage = new Map();
  cols.forEach((c, i) => {
    const name = names?.[i] ?? c.name;
    if (!name) return;
    const prev = out.get(name);
    if (prev) merge(prev, c.origins);
    else out.set(name, new Map(c.origins));
  });
  return out;
}

/**
 * Follows lineage transitively: an input column of a relation that has lineage of its own (a staging
 * view, an upstream model) is replaced by that relation's inputs, with the subtypes combined, until
 * only relations without known lineage remain (the sources). Cycles stop where they close.
 */
export function resolveToSources(
  lineage: ColumnLineage,
  lineageOf: (relation: string) => ColumnLineage | undefined,
): ColumnLineage {
  const out: ColumnLineage = new Map();
  const expand = (origins: Origins, seen: Set<string>): Origins => {
    const result: Origins = new Map();
    for (const { source, subtype } of origins.values()) {
      const upstream = seen.has(source.relation) ? undefined : lineageOf(source.relation);
      const via = upstream?.get(source.column) ?? findCaseInsensitive(upstream, source.column);
      if (!upstream || !via) {
        merge(result, new Map([[key(source), { source, subtype }]]));
        continue;
      }
      const deeper = expand(via, new Set([...seen, source.relation]));
      merge(result, deeper, subtype);
    }
    return result;
  };
  for (const [column, origins] of lineage) out.set(column, expand(origins, new Set()));
  return out;
}

function findCaseInsensitive(lineage: ColumnLineage | undefined, column: string): Origins | undefined {
  if (!lineage) return undefined;
  const lower = column.toLowerCase();
  for (const [name, origins] of lineage) if (name.toLowerCase() === lower) return origins;
  return undefined;
}
