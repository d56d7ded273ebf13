import { isPlainObject, pyPercentFormat, pyStr } from './python-compat.ts';

/**
 * Jinja2 built-in filters and tests that nunjucks lacks or implements differently, plus the filters
 * dbt adds (`as_bool`, `as_number`, `as_native`, `as_text`). Reference: Jinja2 "List of Builtin
 * Filters" / "List of Builtin Tests"; dbt "Jinja filters".
 */

type TestFn = (value: unknown, ...args: unknown[]) => boolean;

/** Looks up a named test (Jinja2's `select('odd')`) among the tests below and nunjucks' own. */
export type TestLookup = (name: string) => TestFn | undefined;

function attrGetter(attribute: string): (v: unknown) => unknown {
  const path = attribute.split('.');
  return (v) => {
    let cur = v;
    for (const p of path) cur = cur === null || cur === undefined ? undefined : (cur as Record<string, unknown>)[p];
    return cur;
  };
}

function stripKeywords(args: unknown[]): { args: unknown[]; kwargs: Record<string, unknown> } {
  const last = args.at(-1);
  if (isPlainObject(last) && last['__keywords'] === true) {
    const kwargs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(last)) if (k !== '__keywords') kwargs[k] = v;
    return { args: args.slice(0, -1), kwargs };
  }
  return { args, kwargs: {} };
}

function toArray(value: unknown): unknown[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return [...value];
  if (isPlainObject(value)) return Object.keys(value);
  if (typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function') return [...(value as Iterable<unknown>)];
  return [value];
}

/** JSON as Python's `json.dumps` writes it (", " and ": " separators). */
export function pyJsonDumps(value: unknown, sortKeys = false, indent?: number): string {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm);
    if (isPlainObject(v)) {
      const keys = Object.keys(v);
      if (sortKeys) keys.sort();
      return Object.fromEntries(keys.map((k) => [k, norm(v[k])]));
    }
    if (v === undefined) return null;
    if (v !== null && typeof v === 'object' && !isPlainObject(v)) return String(v);
    return v;
  };
  const normalized = norm(value);
  if (indent !== undefined) return JSON.stringify(normalized, null, indent);
  const out: string[] = [];
  const write = (v: unknown): void => {
    if (Array.isArray(v)) {
      out.push('[');
      v.forEach((x, i) => {
        if (i > 0) out.push(', ');
        write(x);
      });
      out.push(']');
    } else if (isPlainObject(v)) {
      out.push('{');
      Object.entries(v).forEach(([k, x], i) => {
        if (i > 0) out.push(', ');
        out.push(JSON.stringify(k), ': ');
        write(x);
      });
      out.push('}');
    } else out.push(JSON.stringify(v));
  };
  write(normalized);
  return out.join('');
}

/** Builds the filters, given a way to look up named tests (for `map`, `select`, `selectattr`). */
export function jinjaFilters(
  tests: TestLookup,
  callFilter: (name: string, value: unknown, args: unknown[]) => unknown,
): Record<string, (...args: never[]) => unknown> {
  const runTest = (name: unknown, value: unknown, extra: unknown[]): boolean => {
    if (name === undefined || name === null) return Boolean(value);
    const fn = tests(String(name));
    if (!fn) throw new Error(`no test named '${String(name)}'`);
    return fn(value, ...extra);
  };
  const selectBy =
    (keep: boolean) =>
    (seq: unknown, ...rest: unknown[]) => {
      const { args } = stripKeywords(rest);
      const [testName, ...extra] = args;
      return toArray(seq).filter((v) => runTest(testName, v, extra) === keep);
    };
  const selectAttrBy =
    (keep: boolean) =>
    (seq: unknown, ...rest: unknown[]) => {
      const { args } = stripKeywords(rest);
      const [attribute, testName, ...extra] = args;
      const get = attrGetter(String(attribute));
      return toArray(seq).filter((v) => runTest(testName, get(v), extra) === keep);
    };
  return {
    map: (seq: unknown, ...rest: unknown[]) => {
      const { args, kwargs } = stripKeywords(rest);
      const items = toArray(seq);
      if (kwargs['attribute'] !== undefined) {
        const get = attrGetter(String(kwargs['attribute']));
        const dflt = kwargs['default'];
        return items.map((v) => get(v) ?? dflt);
      }
      const [filterName, ...extra] = args;
      if (typeof filterName !== 'string') throw new Error('map() needs a filter name or attribute=');
      return items.map((v) => callFilter(filterName, v, extra));
    },
    select: selectBy(true),
    reject: selectBy(false),
    selectattr: selectAttrBy(true),
    rejectattr: selectAttrBy(false),
    unique: (seq: unknown, ...rest: unknown[]) => {
      const { kwargs } = stripKeywords(rest);
      const get = kwargs['attribute'] !== undefined ? attrGetter(String(kwargs['attribute'])) : (v: unknown) => v;
      const seen = new Set<unknown>();
      const out: unknown[] = [];
      for (const v of toArray(seq)) {
        const raw = get(v);
        const key = typeof raw === 'string' && kwargs['case_sensitive'] !== true ? raw.toLowerCase() : raw;
        if (!seen.has(key)) {
          seen.add(key);
          out.push(v);
        }
      }
      return out;
    },
    list: (value: unknown) => toArray(value),
    items: (value: unknown) => (isPlainObject(value) ? Object.entries(value) : []),
    string: (value: unknown) => pyStr(value),
    join: (seq: unknown, ...rest: unknown[]) => {
      const { args, kwargs } = stripKeywords(rest);
      const sep = args[0] ?? kwargs['d'] ?? '';
      const attribute = args[1] ?? kwargs['attribute'];
      const items = toArray(seq);
      const values = attribute === undefined ? items : items.map(attrGetter(String(attribute)));
      return values.map(pyStr).join(pyStr(sep));
    },
    trim: (value: unknown, chars?: unknown) => {
      const s = pyStr(value);
      if (typeof chars !== 'string') return s.trim();
      let a = 0;
      let b = s.length;
      while (a < b && chars.includes(s[a]!)) a++;
      while (b > a && chars.includes(s[b - 1]!)) b--;
      return s.slice(a, b);
    },
    tojson: (value: unknown, ...rest: unknown[]) => {
      const { args, kwargs } = stripKeywords(rest);
      const indent = (args[0] ?? kwargs['indent']) as number | undefined;
      return pyJsonDumps(value, true, indent ?? undefined);
    },
    format: (value: unknown, ...rest: unknown[]) => {
      const { args, kwargs } = stripKeywords(rest);
      return pyPercentFormat(pyStr(value), Object.keys(kwargs).length > 0 ? kwargs : args);
    },
    attr: (obj: unknown, name: unknown) =>
      obj === null || obj === undefined ? undefined : (obj as Record<string, unknown>)[String(name)],
    min: (seq: unknown) => toArray(seq).reduce((a, b) => Math.min(b as number, a as number)),
    max: (seq: unknown) => toArray(seq).reduce((a, b) => Math.max(b as number, a as number)),
    is_list: (value: unknown) => Array.isArray(value),
    as_bool: (value: unknown) => {
      if (typeof value === 'boolean') return value;
      const s = pyStr(value).trim().toLowerCase();
      if (s === 'true') return true;
      if (s === 'false') return false;
      return value;
    },
    as_number: (value: unknown) => {
      if (typeof value === 'number') return value;
      const n = Number(pyStr(value).trim());
      return Number.isNaN(n) ? value : n;
    },
    as_native: (value: unknown) => {
      if (typeof value !== 'string') return value;
      const s = value.trim();
      if (s === 'True' || s === 'true') return true;
      if (s === 'False' || s === 'false') return false;
      if (s === 'None') return null;
      if (s !== '' && !Number.isNaN(Number(s))) return Number(s);
      try {
        return JSON.parse(s.replaceAll("'", '"'));
      } catch {
        return value;
      }
    },
    as_text: (value: unknown) => pyStr(value),
  };
}

/** Jinja2 tests nunjucks does not have. */
export const jinjaTests: Record<string, TestFn> = {
  none: (v) => v === null,
  boolean: (v) => typeof v === 'boolean',
  true: (v) => v === true,
  false: (v) => v === false,
  integer: (v) => typeof v === 'number' && Number.isInteger(v),
  float: (v) => typeof v === 'number' && !Number.isInteger(v),
  sequence: (v) => Array.isArray(v) || typeof v === 'string' || isPlainObject(v),
  mapping: (v) => isPlainObject(v),
  in: (v, container) => {
    if (Array.isArray(container) || typeof container === 'string') return container.includes(v as never);
    if (isPlainObject(container)) return String(v) in container;
    return false;
  },
};
