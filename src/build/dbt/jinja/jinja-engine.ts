import { MedallionError } from '../../../core/errors.ts';
import { jinjaFilters, jinjaTests } from './filters.ts';
import {
  type NunjucksCompiledTemplate,
  type NunjucksContext,
  type NunjucksNode,
  type NunjucksParser,
  nunjucks,
  nunjucksInternals,
  nunjucksTransformer,
} from './nunjucks-internals.ts';
import { isPlainObject, pyPercentFormat, pyStr, pythonMethod } from './python-compat.ts';
import { TemplateCache, type TemplateFactory } from './template-cache.ts';

/**
 * Medallion's Jinja: nunjucks (chosen by measurement, see docs/architecture.md "Template engine")
 * brought closer to Jinja2 as dbt uses it — Python printing and methods, `do`, `namespace`, tuple
 * `set`, `%`-formatting, Jinja2 filters and tests, strict printing of undefined values — and wrapped
 * so that no nunjucks type leaves this folder. Errors come out as MedallionError `MDL_DBT_COMPILE`
 * naming the file and line, with the chain of macro calls that led there.
 */

/** Keyword arguments as a template passed them (`f(a, key=1)` → `{ key: 1 }`). */
export type JinjaKwargs = Record<string, unknown>;

/** A function callable from templates, receiving positional and keyword arguments separately. */
export type JinjaCallable = (args: unknown[], kwargs: JinjaKwargs) => unknown;

/** Wraps `fn` so that templates can call it with positional and keyword arguments. */
export function jinjaFunction(fn: JinjaCallable): (...args: unknown[]) => unknown {
  return (...args: unknown[]) => {
    const last = args.at(-1);
    if (isPlainObject(last) && last['__keywords'] === true) {
      const kwargs: JinjaKwargs = {};
      for (const [k, v] of Object.entries(last)) if (k !== '__keywords') kwargs[k] = v;
      return fn(args.slice(0, -1), kwargs);
    }
    return fn(args, {});
  };
}

/** Thrown by dbt's `return(value)` inside a macro; the macro call catches it and yields `value`. */
export class MacroReturn extends Error {
  readonly value: unknown;
  constructor(value: unknown) {
    // A control-flow signal, thrown often: no stack trace to capture.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super('return() outside a macro');
    Error.stackTraceLimit = limit;
    this.value = value;
  }
}

export interface JinjaRenderOptions {
  /** The file the template text comes from, relative to the project, for error messages. */
  readonly file: string;
  /** The file line on which the template text starts (1-based), when it is a block cut from the file. */
  readonly startLine?: number;
  /** Printing an undefined value is an error, as in dbt's compilation (default true). */
  readonly strict?: boolean;
}

type Template = NunjucksCompiledTemplate;

function pySlice(obj: unknown, start: number | null, stop: number | null, step: number | null): unknown {
  if (typeof obj !== 'string' && !Array.isArray(obj)) return undefined;
  const len = obj.length;
  const st = step ?? 1;
  const norm = (i: number | null, dflt: number) =>
    i === null ? dflt : i < 0 ? Math.max(len + i, st < 0 ? -1 : 0) : Math.min(i, len);
  const out: unknown[] = [];
  if (st > 0) for (let i = norm(start, 0); i < norm(stop, len); i += st) out.push(obj[i]);
  else for (let i = norm(start, len - 1); i > norm(stop, -1); i += st) out.push(obj[i]);
  return typeof obj === 'string' ? out.join('') : out;
}

let installed = false;

/** The syntax tree of the template nunjucks compiled last (see JinjaEngine.tree). */
let lastTree: unknown;

/**
 * Whether the render running now prints undefined values as an error (dbt's compile) or as nothing
 * (dbt's parse). Templates are compiled once, with the check in place, and it consults this flag:
 * rendering is synchronous, so the flag is set around each render and restored after it.
 */
let strictRender = true;

/** Patches nunjucks' runtime and compiler once, process-wide, for Jinja2 semantics. */
function installJinja2Semantics(): void {
  if (installed) return;
  installed = true;
  const { runtime, compiler, lib } = nunjucksInternals;
  const plainLookup = runtime.memberLookup;
  nunjucksInternals.installJinjaCompat();
  runtime.memberLookup = (obj: unknown, val: unknown, ...rest: unknown[]) => {
    if (rest.length === 2)
      return pySlice(obj, val as number | null, rest[0] as number | null, rest[1] as number | null);
    if (obj === null || obj === undefined) return undefined;
    if (typeof val === 'string') {
      const method = pythonMethod(obj, val);
      if (method) return method;
    }
    if (typeof val === 'number' && val < 0 && (Array.isArray(obj) || typeof obj === 'string'))
      return obj[obj.length + val];
    return plainLookup(obj, val);
  };
  const suppress = runtime.suppressValue;
  runtime.suppressValue = (val: unknown, autoescape: boolean) =>
    suppress(typeof val === 'string' || val === undefined ? val : pyStr(val), autoescape);
  runtime.ensureDefined = (val: unknown, lineno: number, colno: number) => {
    if (val === undefined && strictRender) {
      throw new lib.TemplateError(
        'printed a value that is undefined (a misspelt variable, a missing attribute or key, or a macro that returns nothing)',
        lineno + 1,
        colno + 1,
      );
    }
    return val;
  };
  // A macro's return() is a control-flow signal: pass it up as it is, without wrapping it in a
  // TemplateError (which captures a stack trace) at every template it crosses.
  const handleError = runtime.handleError;
  runtime.handleError = (error: unknown, lineno: number, colno: number) =>
    error instanceof MacroReturn ? error : handleError(error, lineno, colno);
  runtime['medallionConcat'] = (a: unknown, b: unknown) => pyStr(a) + pyStr(b);
  runtime['medallionMod'] = (a: unknown, b: unknown) =>
    typeof a === 'string' ? pyPercentFormat(a, b) : (((a as number) % (b as number)) + (b as number)) % (b as number);
  // nunjucks' transformer only rewrites async filters/extensions and `super()` in `{% block %}`s: a
  // template with neither (every dbt template: no async filters are registered, `do` is sync)
  // comes out unchanged, so its three tree walks are skipped.
  let plainTemplate = false;
  const compile = compiler.compile;
  compiler.compile = (src: string, asyncFilters: readonly string[], ...rest: unknown[]) => {
    plainTemplate = asyncFilters.length === 0 && !/\{%-?\s*block\b/.test(src);
    try {
      return compile(src, asyncFilters, ...rest);
    } finally {
      plainTemplate = false;
    }
  };
  const transform = nunjucksTransformer.transform;
  nunjucksTransformer.transform = (ast: unknown, asyncFilters: readonly string[], name?: string) => {
    lastTree = ast;
    return plainTemplate ? ast : transform(ast, asyncFilters, name);
  };
  const proto = compiler.Compiler.prototype;
  const binaryHelper = (helper: string) =>
    function (this: typeof proto, node: NunjucksNode, frame: unknown) {
      this._emit(`runtime.${helper}(`);
      this.compile(node['left'] as NunjucksNode, frame);
      this._emit(', ');
      this.compile(node['right'] as NunjucksNode, frame);
      this._emit(')');
    };
  proto.compileConcat = binaryHelper('medallionConcat');
  proto.compileMod = binaryHelper('medallionMod');
  const compileGroup = proto.compileGroup;
  proto.compileGroup = function (this: typeof proto, node: NunjucksNode, frame: unknown) {
    if ((node['children'] as unknown[]).length > 1) this._compileAggregate(node, frame, '[', ']');
    else compileGroup.call(this, node, frame);
  };
}

/** `{% do expr %}`: evaluates an expression for its effect (Jinja2's "do" extension, on in dbt). */
class DoExtension {
  readonly tags = ['do'];
  parse(p: NunjucksParser, n: typeof nunjucksInternals.nodes): NunjucksNode {
    const tok = p.nextToken();
    const args = new n.NodeList(tok.lineno, tok.colno);
    args.addChild(p.parseExpression());
    p.advanceAfterBlockEnd(tok.value);
    return new n.CallExtension(this, 'run', args);
  }
  run(): string {
    return '';
  }
}

/** Splits `text` at `sep` where it is outside quotes and brackets. */
function splitTopLevel(text: string, sep: RegExp): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (depth === 0) {
      sep.lastIndex = i;
      const m = sep.exec(text);
      if (m && m.index === i) {
        parts.push(text.slice(last, i));
        last = i + m[0].length;
        i = last - 1;
      }
    }
  }
  parts.push(text.slice(last));
  return parts;
}

let loopFilterCounter = 0;

/**
 * Rewrites one block tag's inner text (between `{%[-]` and `[-]%}`) when it uses a Jinja2 form
 * nunjucks cannot parse: `set ns.attr = v`, `set a, b = pair`, `for x in xs if cond`.
 * Returns the replacement tag text (with delimiters), or undefined to keep the tag.
 */
function rewriteBlockTag(inner: string, lead: string, trail: string): string | undefined {
  const set = /^(\s*)set\s+([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_]\w*)*)\s*=(?!=)([\s\S]*)$/.exec(inner);
  if (set) {
    const [, space, target, expr] = set as unknown as [string, string, string, string];
    if (target.includes(',')) {
      const names = target.split(',').map((t) => t.trim());
      const parts = names.map(
        (name, i) => `{% set ${name} = __medallion_tuple[${i}] ${i === names.length - 1 ? trail : ''}%}`,
      );
      return `{%${lead}${space}set __medallion_tuple = (${expr.trim()}) %}${parts.join('')}`;
    }
    const dot = target.indexOf('.');
    if (dot < 0) return undefined;
    return `{%${lead}${space}do __medallion_setattr(${target.slice(0, dot)}, ${JSON.stringify(target.slice(dot + 1))}, (${expr.trim()})) ${trail}%}`;
  }
  const loop = /^(\s*)for\s+([\w\s,]+?)\s+in\s+([\s\S]*)$/.exec(inner);
  if (loop) {
    const [, space, target, rest] = loop as unknown as [string, string, string, string];
    const pieces = splitTopLevel(rest, /\sif\s/y);
    if (pieces.length < 2) return undefined;
    const iterable = pieces[0]!.trim();
    const cond = pieces.slice(1).join(' if ').trim();
    const names = target.split(',').map((t) => t.trim());
    const item = names.length > 1 ? `[${names.join(', ')}]` : names[0];
    const tmp = `__medallion_loop_${++loopFilterCounter}`;
    return (
      `{%${lead}${space}set ${tmp} = [] %}{% for ${target} in ${iterable} %}{% if ${cond} %}` +
      `{% do ${tmp}.append(${item}) %}{% endif %}{% endfor %}{% for ${target} in ${tmp} ${trail}%}`
    );
  }
  return undefined;
}

/**
 * Prepares Jinja2 text for nunjucks without moving any line: rewrites the block tags nunjucks
 * cannot parse (see rewriteBlockTag), and separates `}}` inside expressions (`{'a': {'b': 1}}`)
 * that nunjucks' lexer would take for the end of a tag. `{% raw %}` and comments pass untouched.
 */
export function preprocessJinja(source: string): string {
  let out = '';
  let i = 0;
  const n = source.length;
  while (i < n) {
    const open = source.indexOf('{', i);
    if (open < 0) {
      out += source.slice(i);
      break;
    }
    out += source.slice(i, open);
    const kind = source[open + 1];
    if (kind === '#') {
      const close = source.indexOf('#}', open + 2);
      const end = close < 0 ? n : close + 2;
      out += source.slice(open, end);
      i = end;
      continue;
    }
    if (kind !== '%' && kind !== '{') {
      out += '{';
      i = open + 1;
      continue;
    }
    let j = open + 2;
    const lead = source[j] === '-' ? '-' : '';
    j += lead.length;
    let code = '';
    let depth = 0;
    let quote = '';
    let trail = '';
    let closed = false;
    while (j < n) {
      const c = source[j]!;
      if (quote) {
        code += c;
        if (c === '\\' && j + 1 < n) code += source[++j];
        else if (c === quote) quote = '';
        j++;
        continue;
      }
      const end = kind === '%' ? '%}' : '}}';
      if (depth <= 0 && (source.startsWith(end, j) || source.startsWith(`-${end}`, j))) {
        trail = source[j] === '-' ? '-' : '';
        j += trail.length + 2;
        closed = true;
        break;
      }
      if (c === "'" || c === '"') quote = c;
      else if ('([{'.includes(c)) depth++;
      else if (')]}'.includes(c)) depth--;
      code += c === '}' && code.endsWith('}') ? ' }' : c;
      j++;
    }
    if (!closed) {
      out += source.slice(open);
      break;
    }
    const endDelim = kind === '%' ? '%}' : '}}';
    if (kind === '%' && /^\s*raw\s*$/.test(code)) {
      const endRaw = /\{%-?\s*endraw\s*-?%\}/g;
      endRaw.lastIndex = j;
      const m = endRaw.exec(source);
      const stop = m ? m.index + m[0].length : n;
      out += source.slice(open, stop);
      i = stop;
      continue;
    }
    const rewritten = kind === '%' ? rewriteBlockTag(code, lead, trail) : undefined;
    out += rewritten ?? `{${kind}${lead}${code}${trail}${endDelim}`;
    i = j;
  }
  return out;
}

const BUILTIN_GLOBALS: Record<string, unknown> = {
  __medallion_setattr: (obj: Record<string, unknown>, attr: string, value: unknown) => {
    obj[attr] = value;
    return '';
  },
  namespace: jinjaFunction((args, kwargs) => ({ ...(isPlainObject(args[0]) ? args[0] : {}), ...kwargs })),
  dict: jinjaFunction((args, kwargs) => ({ ...(isPlainObject(args[0]) ? args[0] : {}), ...kwargs })),
  zip: (...lists: unknown[][]) => {
    const n = Math.min(...lists.map((l) => l.length));
    return Array.from({ length: n }, (_v, i) => lists.map((l) => l[i]));
  },
};

function innermost(err: unknown): unknown {
  let cur = err;
  for (let i = 0; i < 20; i++) {
    if (cur instanceof MedallionError || cur instanceof MacroReturn) return cur;
    const next = (cur as { cause?: unknown } | null)?.cause;
    if (next === undefined || next === null) return cur;
    cur = next;
  }
  return cur;
}

function cleanMessage(raw: string): string {
  const msg = raw
    .replace(/^\([^)]*\)(\s*\[Line \d+(, Column \d+)?\])?\s*/, '')
    .replace(/^(Template render error: )?(\([^)]*\)\s*)?/, '')
    .replace(/^(Error|TypeError|RangeError|ReferenceError): /, '')
    .trim();
  const call = /^Unable to call `([^`]+)`, which is undefined or falsey$/.exec(msg);
  if (call) return `'${call[1]}' is undefined (no macro or function of that name)`;
  return msg;
}

/** Turns anything thrown while rendering into a MedallionError located at `file:line`. */
function located(err: unknown, options: JinjaRenderOptions, source: string): unknown {
  const inner = innermost(err);
  if (inner instanceof MacroReturn) return inner;
  const e = err as { lineno?: number; cause?: unknown; message?: string } | null;
  // nunjucks reports parse errors with 1-based lines, and runtime errors (which wrap a cause) 0-based.
  let lineInSource = e?.lineno === undefined ? undefined : e.cause ? e.lineno + 1 : e.lineno;
  if (lineInSource === undefined && /end of file/.test(e?.message ?? '')) lineInSource = source.split('\n').length;
  const line = lineInSource ? lineInSource + (options.startLine ?? 1) - 1 : undefined;
  const here = line ? `${options.file}:${line}` : options.file;
  if (inner instanceof MedallionError) {
    const trace = [here, ...((inner.details['trace'] as string[] | undefined) ?? [])];
    const reason = (inner.details['reason'] as string | undefined) ?? inner.message;
    return new MedallionError(inner.code, `${trace.join(' → ')}: ${reason}`, {
      hint: inner.hint,
      cause: inner.cause,
      details: { ...inner.details, file: options.file, line, trace, reason },
    });
  }
  const reason = cleanMessage(err instanceof Error ? err.message : String(err));
  return new MedallionError('MDL_DBT_COMPILE', `${here}: ${reason}`, {
    hint: 'Fix the Jinja or SQL at that line (dbt compiles the same text).',
    cause: err,
    details: { file: options.file, line, trace: [here], reason },
  });
}

/** The class nunjucks wraps a template's variables in at render time (not exported by nunjucks). */
type ContextClass = new (ctx: object, blocks: Record<string, unknown>, env: unknown) => NunjucksContext;
let contextClass: ContextClass | undefined;

function nunjucksContextClass(env: InstanceType<typeof nunjucks.Environment>): ContextClass {
  if (!contextClass) {
    const probe = new nunjucks.Template('', env, 'probe', true) as unknown as Template & {
      render(ctx: object): string;
    };
    (probe as { rootRenderFunc: Template['rootRenderFunc'] }).rootRenderFunc = (_env, context, _frame, _rt, cb) => {
      contextClass = (context as { constructor: ContextClass }).constructor;
      cb(null, '');
    };
    probe.render({});
  }
  return contextClass!;
}

/**
 * A render's nunjucks context over the caller's variables, without copying them (nunjucks copies
 * every key on each render): variables the template sets at top level go to an overlay of its own,
 * so the caller's object is never written.
 */
function overlayContext(
  Context: ContextClass,
  variables: Record<string, unknown>,
  blocks: Record<string, unknown>,
  env: { globals: Record<string, unknown> },
): NunjucksContext {
  const context = new Context({}, blocks, env);
  let overlay: Record<string, unknown> | undefined;
  const globals = env.globals;
  context.ctx = variables;
  context.lookup = (name: string) => {
    if (overlay !== undefined && name in overlay) return overlay[name];
    if (name in globals && !(name in variables)) return globals[name];
    return variables[name];
  };
  context.setVariable = (name: string, value: unknown) => {
    overlay ??= {};
    overlay[name] = value;
  };
  context.getVariables = () => {
    const all: Record<string, unknown> = {};
    for (const k in variables) all[k] = variables[k];
    return Object.assign(all, overlay);
  };
  return context;
}

/**
 * Renders Jinja templates with dbt's semantics; one per run. Each template text is compiled once
 * (parse and compile renders share it) and rendered over its variables without copying them.
 */
export class JinjaEngine {
  readonly #strict: InstanceType<typeof nunjucks.Environment>;
  readonly #lenient: InstanceType<typeof nunjucks.Environment>;
  /** Compiled templates by file, then by text (the same string objects come back: no rehashing). */
  readonly #templates = new Map<string, Map<string, Template>>();
  readonly #Context: ContextClass;
  readonly #Frame = nunjucksInternals.runtime.Frame;
  readonly #cache: TemplateCache | undefined;
  /** Syntax trees of the templates compiled in this run, by cache key, until parsing is over. */
  readonly #trees = new Map<string, unknown>();
  #keepTrees = true;

  /** `cache`: compiled templates kept between runs (see TemplateCache). */
  constructor(options: { cache?: TemplateCache } = {}) {
    this.#cache = options.cache;
    installJinja2Semantics();
    this.#strict = this.#environment(true);
    this.#lenient = this.#environment(false);
    this.#Context = nunjucksContextClass(this.#strict);
  }

  #environment(strict: boolean): InstanceType<typeof nunjucks.Environment> {
    const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: strict, dev: true });
    env.addExtension('do', new DoExtension());
    const envAny = env as unknown as {
      addTest(name: string, fn: (...a: unknown[]) => boolean): void;
      getTest(name: string): ((...a: unknown[]) => boolean) | undefined;
      getFilter(name: string): (...a: unknown[]) => unknown;
    };
    for (const [name, fn] of Object.entries(jinjaTests)) envAny.addTest(name, fn as (...a: unknown[]) => boolean);
    const testLookup = (name: string) => {
      try {
        return envAny.getTest(name);
      } catch {
        return undefined;
      }
    };
    const filters = jinjaFilters(testLookup, (name, value, args) => envAny.getFilter(name)(value, ...args));
    for (const [name, fn] of Object.entries(filters)) env.addFilter(name, fn as (...a: unknown[]) => unknown);
    for (const [name, value] of Object.entries(BUILTIN_GLOBALS)) env.addGlobal(name, value);
    return env;
  }

  #template(source: string, options: JinjaRenderOptions): Template {
    let byText = this.#templates.get(options.file);
    if (!byText) {
      byText = new Map();
      this.#templates.set(options.file, byText);
    }
    let t = byText.get(source);
    if (!t) {
      t = this.#compile(source, options.file);
      byText.set(source, t);
    }
    return t;
  }

  /** nunjucks' code for a template text (its lexer, parser and code generator); keeps its syntax tree. */
  #generate(source: string, file: string, key: string | undefined): string {
    const env = this.#strict as unknown as { asyncFilters: string[]; extensionsList: unknown[]; opts: object };
    lastTree = undefined;
    try {
      const code = nunjucksInternals.compiler.compile(
        preprocessJinja(source),
        env.asyncFilters,
        env.extensionsList,
        file,
        env.opts,
      );
      if (this.#keepTrees && key !== undefined && lastTree !== undefined) this.#trees.set(key, lastTree);
      return code;
    } catch (err) {
      throw nunjucksInternals.lib._prettifyError(file, true, err);
    } finally {
      lastTree = undefined;
    }
  }

  /**
   * The syntax tree of a template text, when this run compiled it (a template taken from the
   * cache was never parsed here): for static parsing.
   */
  tree(source: string, file: string): unknown {
    return this.#trees.size === 0 ? undefined : this.#trees.get(TemplateCache.key(file, source));
  }

  /** Parsing is over: syntax trees are no longer kept (a first run's thousand trees are let go). */
  dropTrees(): void {
    this.#keepTrees = false;
    this.#trees.clear();
  }

  #instantiate(factory: TemplateFactory, file: string): Template {
    return new nunjucks.Template(
      { type: 'code', obj: factory() } as never,
      this.#strict,
      file,
      true,
    ) as unknown as Template;
  }

  /**
   * Compiles in one batch the templates a run is about to render (each node's text), so that V8
   * compiles their generated code as one script: a thousand small scripts cost several times more.
   * Texts already compiled or cached are skipped; a text that does not compile is left for its
   * render, which reports the error.
   */
  prepare(items: readonly { source: string; file: string }[]): void {
    const cache = this.#cache;
    if (!cache) return;
    const todo: { key: string; code: string; source: string; file: string }[] = [];
    for (const { source, file } of items) {
      if (this.#templates.get(file)?.has(source)) continue;
      const key = TemplateCache.key(file, source);
      if (cache.has(key)) continue;
      let code: string;
      try {
        code = this.#generate(source, file, key);
      } catch {
        continue;
      }
      todo.push({ key, code, source, file });
    }
    if (todo.length === 0) return;
    const factories = cache.addMany(todo);
    todo.forEach((it, i) => {
      let byText = this.#templates.get(it.file);
      if (!byText) {
        byText = new Map();
        this.#templates.set(it.file, byText);
      }
      if (!byText.has(it.source)) byText.set(it.source, this.#instantiate(factories[i]!, it.file));
    });
  }

  /**
   * Compiles a template in the strict environment, so that printing goes through ensureDefined
   * (see strictRender); the generated code comes from the cache when this text was compiled before.
   */
  #compile(source: string, file: string): Template {
    const cache = this.#cache;
    if (!cache)
      return this.#instantiate(new Function(this.#generate(source, file, undefined)) as TemplateFactory, file);
    const key = TemplateCache.key(file, source);
    // The generated code is nunjucks' own output for this text (nunjucks runs it with new Function).
    const factory = cache.get(key) ?? cache.set(key, this.#generate(source, file, key));
    return this.#instantiate(factory, file);
  }

  /** Renders `source` with `context` as its variables (read, never written: top-level `set`s stay local). */
  render(source: string, context: Record<string, unknown>, options: JinjaRenderOptions): string {
    const strict = options.strict ?? true;
    const previous = strictRender;
    try {
      const template = this.#template(source, options);
      const env = strict ? this.#strict : this.#lenient;
      const ctx = overlayContext(this.#Context, context, template.blocks, env as never);
      const frame = new this.#Frame();
      frame.topLevel = true;
      let failure: unknown;
      let result = '';
      strictRender = strict;
      template.rootRenderFunc(env, ctx, frame, nunjucksInternals.runtime, (err, res) => {
        if (err) failure ??= err;
        else if (res !== undefined) result = res;
      });
      if (failure !== undefined) {
        throw failure instanceof MacroReturn
          ? failure
          : nunjucksInternals.lib._prettifyError(template.path, true, failure);
      }
      return result;
    } catch (err) {
      throw located(err, options, source);
    } finally {
      strictRender = previous;
    }
  }

  /** Evaluates one Jinja expression (`ref('x')`, `var('y') + 1`) and returns its value, not its text. */
  evaluate(expression: string, context: Record<string, unknown>, options: JinjaRenderOptions): unknown {
    let captured: unknown;
    const local = Object.create(context) as Record<string, unknown>;
    local['__medallion_capture'] = (v: unknown) => {
      captured = v;
      return '';
    };
    this.render(`{{ __medallion_capture(${expression}) }}`, local, options);
    return captured;
  }
}
