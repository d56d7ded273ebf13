import { mergeConfig, normalizeConfig } from '../project/configs.ts';
import type { ParsedNode } from './partial-parse.ts';

/**
 * Static parsing, as dbt-core's static parser does it: a model whose template can be read without
 * rendering gives its `ref`s, `source`s and `config()` calls from its syntax tree. dbt-core's
 * parser takes models whose only Jinja is those calls; this one also takes plain Jinja around them
 * (expressions, filters, `set`, `if`, `for`, `do`, `var`) and calls to the project's macros that
 * are themselves of that kind, as long as:
 *
 * - every `ref`/`source`/`config` call is at the template's top level (printed by `{{ }}` or the
 *   value of a top-level `{% set %}`), so it runs exactly once, in order, whatever the data, and
 *   takes literal arguments only (strings, numbers, booleans, lists and dicts of them);
 * - nothing else names `ref`, `source` or `config`, nor anything whose parse-time behaviour is not
 *   plain: `env_var`, `log`, `print`, `exceptions`, `adapter`, `run_query`, `statement`,
 *   `load_result`, `load_relation`, `api`, `caller`, `context`, `graph`, `modules`, nor a package
 *   namespace (`dbt.`, `<project>.`: macros called through it are not checked);
 * - every function called is a plain context function (`var`, `range`, `dict`, `namespace`,
 *   `is_incremental`, `should_full_refresh`, `tojson`, `fromjson`, `return`), a method of a value,
 *   or a project macro that calls `ref`, `source` and `config` nowhere, obeys the same rules, and
 *   has no default argument naming any of the above;
 * - it has no `{% macro %}`, `{% call %}`, `{% include %}`, `{% import %}`, `{% extends %}` or
 *   `{% block %}`.
 *
 * Anything else is left to the parse render, as dbt-core does. Under those rules the calls a
 * render would record are exactly the ones read here; MEDALLION_DBT_VERIFY_STATIC_PARSE=1 renders
 * anyway and fails on any difference (the test suite runs with it).
 */

/** A node of nunjucks' syntax tree (its `typename`, its `fields`, `children` of lists, `value` of values). */
export interface JinjaAst {
  readonly typename: string;
  readonly fields: readonly string[];
  readonly children?: readonly JinjaAst[];
  readonly value?: unknown;
  readonly [field: string]: unknown;
}

/** A project macro as static parsing sees it: its body's syntax tree and its default arguments. */
export interface StaticMacro {
  /** Undefined when the body's tree is not at hand (its template was not compiled in this run). */
  readonly ast: JinjaAst | undefined;
  readonly defaults: readonly string[];
}

const CAPTURE = new Set(['ref', 'source', 'config']);
const FORBIDDEN = new Set([
  'env_var',
  'log',
  'print',
  'exceptions',
  'adapter',
  'run_query',
  'statement',
  'load_result',
  'load_relation',
  'api',
  'caller',
  'context',
  'graph',
  'modules',
]);
const PLAIN_FUNCTIONS = new Set([
  'var',
  'range',
  'dict',
  'namespace',
  'is_incremental',
  'should_full_refresh',
  'tojson',
  'fromjson',
  'return',
]);
const WALKED = new Set([
  'NodeList',
  'Group',
  'Array',
  'Dict',
  'Pair',
  'KeywordArgs',
  'LookupVal',
  'If',
  'InlineIf',
  'Switch',
  'Case',
  'In',
  'Is',
  'Or',
  'And',
  'Not',
  'Add',
  'Concat',
  'Sub',
  'Mul',
  'Div',
  'FloorDiv',
  'Mod',
  'Pow',
  'Neg',
  'Pos',
  'Compare',
  'CompareOperand',
  'Capture',
]);
const NAMED_WORDS = new RegExp(`\\b(${[...CAPTURE, ...FORBIDDEN].join('|')})\\b`);

class NotStatic extends Error {}

function fail(): never {
  throw new NotStatic();
}

/** The value of a literal expression (a string, number, boolean, none, or a list or dict of them). */
function literal(node: unknown): unknown {
  const n = node as JinjaAst;
  switch (n?.typename) {
    case 'Literal':
      return n.value;
    case 'Group':
      return n.children?.length === 1 ? literal(n.children[0]) : fail();
    case 'Array':
      return (n.children ?? []).map(literal);
    case 'Dict': {
      const out: Record<string, unknown> = {};
      for (const pair of n.children ?? []) {
        const key = literal(pair['key']);
        if (typeof key !== 'string') fail();
        out[key] = literal(pair['value']);
      }
      return out;
    }
    default:
      return fail();
  }
}

/** A call's literal arguments: positional values, and keyword values (`KeywordArgs` comes last). */
function callArguments(call: JinjaAst): { args: unknown[]; kwargs: Record<string, unknown> } {
  const list = (call['args'] as JinjaAst | undefined)?.children ?? [];
  const args: unknown[] = [];
  const kwargs: Record<string, unknown> = {};
  for (const child of list) {
    if (child.typename === 'KeywordArgs') {
      for (const pair of child.children ?? []) {
        const key = pair['key'] as JinjaAst;
        if (key?.typename !== 'Symbol' || typeof key.value !== 'string') fail();
        kwargs[key.value] = literal(pair['value']);
      }
    } else args.push(literal(child));
  }
  return { args, kwargs };
}

function calleeName(call: JinjaAst): string | undefined {
  const name = call['name'] as JinjaAst | undefined;
  return name?.typename === 'Symbol' && typeof name.value === 'string' ? name.value : undefined;
}

/**
 * What parsing a model would record, read from its template's syntax tree; undefined when the
 * template is not of the kind static parsing takes (see above). `macro(name)`: the project's macro
 * of that name, or undefined when there is none.
 */
export function staticParse(
  ast: JinjaAst,
  macro: (name: string) => StaticMacro | undefined,
  namespaces: readonly string[],
): ParsedNode | undefined {
  const forbidden = new Set([...FORBIDDEN, ...namespaces]);
  const parsed: { refs: ParsedNode['refs']; sources: ParsedNode['sources']; config: ParsedNode['config'] } = {
    refs: [],
    sources: [],
    config: {},
  };
  const macroState = new Map<string, 'checking' | 'plain'>();

  const capture = (call: JinjaAst, name: string) => {
    const { args, kwargs } = callArguments(call);
    if (name === 'ref') {
      if (Object.keys(kwargs).length > 0 || args.length < 1 || args.length > 2) fail();
      if (!args.every((a) => typeof a === 'string')) fail();
      const [a, b] = args as string[];
      parsed.refs.push(b === undefined ? { package: null, name: a! } : { package: a!, name: b });
    } else if (name === 'source') {
      if (Object.keys(kwargs).length > 0 || args.length !== 2 || !args.every((a) => typeof a === 'string')) fail();
      parsed.sources.push([args[0] as string, args[1] as string]);
    } else {
      if (args.length > 1) fail();
      const given = args[0] === undefined ? {} : args[0];
      if (!given || typeof given !== 'object' || Array.isArray(given)) fail();
      parsed.config = mergeConfig(parsed.config, normalizeConfig({ ...(given as object), ...kwargs }));
    }
  };

  const checkMacro = (name: string) => {
    const state = macroState.get(name);
    if (state !== undefined) return; // plain, or being checked (a recursive call adds nothing new)
    const def = macro(name);
    if (!def?.ast || def.defaults.some((d) => NAMED_WORDS.test(d))) fail();
    macroState.set(name, 'checking');
    walk(def.ast, false, false);
    macroState.set(name, 'plain');
  };

  /** `top`: runs exactly once, in order; `captures`: `ref`/`source`/`config` calls allowed here. */
  const walk = (node: unknown, top: boolean, captures: boolean): void => {
    if (node === null || node === undefined) return;
    if (Array.isArray(node)) {
      for (const item of node) walk(item, false, false);
      return;
    }
    const n = node as JinjaAst;
    if (typeof n.typename !== 'string') return; // a plain value of a field (an operator name, a flag)
    switch (n.typename) {
      case 'Root':
      case 'Output':
        for (const child of n.children ?? []) {
          if (n.typename === 'Output' && child.typename === 'FunCall') {
            const name = calleeName(child);
            if (name !== undefined && CAPTURE.has(name)) {
              if (!top || !captures) fail();
              capture(child, name);
              continue;
            }
          }
          walk(child, top, captures);
        }
        return;
      case 'TemplateData':
      case 'Literal':
        return;
      case 'Symbol':
        if (CAPTURE.has(n.value as string) || forbidden.has(n.value as string)) fail();
        return;
      case 'Set': {
        for (const target of (n['targets'] as JinjaAst[] | undefined) ?? []) walk(target, false, false);
        const value = n['value'] as JinjaAst | undefined;
        const name = value?.typename === 'FunCall' ? calleeName(value) : undefined;
        if (value && name !== undefined && CAPTURE.has(name)) {
          if (!top || !captures) fail();
          capture(value, name);
        } else walk(value, false, false);
        walk(n['body'], false, false);
        return;
      }
      case 'For':
        walk(n['name'], false, false);
        walk(n['arr'], false, false);
        walk(n['body'], false, false);
        walk(n['else_'], false, false);
        return;
      case 'FunCall': {
        const callee = n['name'] as JinjaAst;
        const name = calleeName(n);
        if (name !== undefined) {
          if (CAPTURE.has(name) || forbidden.has(name)) fail();
          if (!PLAIN_FUNCTIONS.has(name)) checkMacro(name);
        } else walk(callee, false, false);
        walk(n['args'], false, false);
        return;
      }
      case 'Filter':
        // The filter's name is not a variable: only its arguments are walked.
        walk(n['args'], false, false);
        return;
      case 'CallExtension':
        // `{% do expr %}`, the one extension Medallion registers.
        if (n['prop'] !== 'run') fail();
        walk(n['args'], false, false);
        walk(n['contentArgs'], false, false);
        return;
      default:
        if (!WALKED.has(n.typename)) fail();
        for (const field of n.fields) walk(n[field], false, false);
    }
  };

  try {
    walk(ast, true, true);
  } catch (err) {
    if (err instanceof NotStatic) return undefined;
    throw err;
  }
  return parsed;
}
