/**
 * Python semantics that dbt SQL relies on through Jinja2 and that a JavaScript template engine lacks:
 * `str()` of values (True/False/None, list and dict reprs), `%`-formatting, `str.format`, and the
 * methods of `str`, `list` and `dict` that Jinja2 exposes because its values are Python objects.
 * Reference: Python 3 "Built-in Types" (str methods, printf-style formatting, format string syntax).
 */

/** Whether `value` is a plain data object (a Python dict), not a class instance or a function. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Python's `repr()`, for values inside lists and dicts. */
export function pyRepr(value: unknown): string {
  if (typeof value === 'string') {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    const body = value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
    return quote + (quote === "'" ? body.replaceAll("'", "\\'") : body) + quote;
  }
  return pyStr(value);
}

/** Python's `str()`: what Jinja2 prints for a value. */
export function pyStr(value: unknown): string {
  if (value === undefined) return '';
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'nan';
    if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (isPlainObject(value) && !Object.hasOwn(value, 'toString')) {
    return `{${Object.entries(value)
      .map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`)
      .join(', ')}}`;
  }
  return String(value);
}

function pyStripChars(s: string, chars: string | undefined | null, left: boolean, right: boolean): string {
  if (chars === undefined || chars === null) {
    let out = s;
    if (left) out = out.replace(/^\s+/, '');
    if (right) out = out.replace(/\s+$/, '');
    return out;
  }
  let start = 0;
  let end = s.length;
  if (left) while (start < end && chars.includes(s[start]!)) start++;
  if (right) while (end > start && chars.includes(s[end - 1]!)) end--;
  return s.slice(start, end);
}

function pySplit(s: string, sep?: string | null, maxsplit = -1): string[] {
  if (sep === undefined || sep === null) {
    const parts = s.trim().split(/\s+/).filter(Boolean);
    if (maxsplit < 0 || parts.length <= maxsplit + 1) return parts;
    const head = parts.slice(0, maxsplit);
    let rest = s.trim();
    for (const h of head) rest = rest.slice(rest.indexOf(h) + h.length).replace(/^\s+/, '');
    return [...head, rest];
  }
  if (sep === '') throw new Error('ValueError: empty separator');
  const parts = s.split(sep);
  if (maxsplit < 0 || parts.length <= maxsplit + 1) return parts;
  return [...parts.slice(0, maxsplit), parts.slice(maxsplit).join(sep)];
}

/** Python printf-style formatting (`'%s, %d' % (a, b)`), for the conversions dbt SQL uses. */
export function pyPercentFormat(format: string, args: unknown): string {
  const list = Array.isArray(args) ? args : [args];
  const named = isPlainObject(args) ? args : undefined;
  let i = 0;
  return format.replace(
    /%(\(([^)]+)\))?([-+ 0#]*)(\d+)?(?:\.(\d+))?([sdifrx%])/g,
    (_m, _n, key, flags, width, prec, conv) => {
      if (conv === '%') return '%';
      const value = key !== undefined && named ? named[key] : list[i++];
      let out: string;
      switch (conv) {
        case 'd':
        case 'i':
          out = String(Math.trunc(Number(value)));
          break;
        case 'f':
          out = Number(value).toFixed(prec === undefined ? 6 : Number(prec));
          break;
        case 'x':
          out = Math.trunc(Number(value)).toString(16);
          break;
        case 'r':
          out = pyRepr(value);
          break;
        default:
          out = pyStr(value);
          if (prec !== undefined) out = out.slice(0, Number(prec));
      }
      if (width !== undefined && out.length < Number(width)) {
        const pad = (flags as string).includes('0') && conv !== 's' ? '0' : ' ';
        out = (flags as string).includes('-') ? out.padEnd(Number(width)) : out.padStart(Number(width), pad);
      }
      return out;
    },
  );
}

/** Python `str.format` with `{}`, `{0}`, `{name}` and `{{`/`}}` escapes (format specs: only `:>N`, `:<N`, `:.Nf`). */
export function pyFormat(format: string, args: readonly unknown[], kwargs: Record<string, unknown>): string {
  let auto = 0;
  return format.replace(/\{\{|\}\}|\{([^{}:!]*)(?:![rs])?(?::([^{}]*))?\}/g, (m, field: string | undefined, spec) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    const name = field ?? '';
    let value: unknown;
    if (name === '') value = args[auto++];
    else if (/^\d+$/.test(name)) value = args[Number(name)];
    else {
      const [head, ...path] = name.split('.');
      value = kwargs[head!];
      for (const p of path) value = (value as Record<string, unknown> | undefined)?.[p];
    }
    let out = pyStr(value);
    if (spec) {
      const fixed = /^\.(\d+)f$/.exec(spec);
      const align = /^([<>^])?(\d+)$/.exec(spec);
      if (fixed) out = Number(value).toFixed(Number(fixed[1]));
      else if (align) {
        const w = Number(align[2]);
        out = align[1] === '<' || (!align[1] && typeof value === 'string') ? out.padEnd(w) : out.padStart(w);
      }
    }
    return out;
  });
}

// biome-ignore lint/suspicious/noExplicitAny: methods take Python-typed arguments from templates.
type Method = (self: any, ...args: any[]) => unknown;

const STRING_METHODS: Record<string, Method> = {
  upper: (s: string) => s.toUpperCase(),
  lower: (s: string) => s.toLowerCase(),
  casefold: (s: string) => s.toLowerCase(),
  swapcase: (s: string) => [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join(''),
  title: (s: string) => s.toLowerCase().replace(/(^|[^a-zA-Z0-9])([a-z])/g, (_m, p, c: string) => p + c.toUpperCase()),
  capitalize: (s: string) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase(),
  strip: (s: string, chars?: string) => pyStripChars(s, chars, true, true),
  lstrip: (s: string, chars?: string) => pyStripChars(s, chars, true, false),
  rstrip: (s: string, chars?: string) => pyStripChars(s, chars, false, true),
  split: (s: string, sep?: string, maxsplit?: number) => pySplit(s, sep, maxsplit ?? -1),
  rsplit: (s: string, sep?: string, maxsplit?: number) => {
    if (maxsplit === undefined || maxsplit < 0) return pySplit(s, sep);
    const rev = (x: string) => [...x].reverse().join('');
    return pySplit(rev(s), sep === undefined || sep === null ? sep : rev(sep), maxsplit)
      .map(rev)
      .reverse();
  },
  splitlines: (s: string) => s.split(/\r?\n/).filter((_l, i, a) => i < a.length - 1 || a[i] !== ''),
  replace: (s: string, old: string, repl: string, count?: number) => {
    if (count === undefined || count < 0) return s.split(old).join(repl);
    const parts = s.split(old);
    return (
      parts.slice(0, count + 1).join(repl) + (parts.length > count + 1 ? old + parts.slice(count + 1).join(old) : '')
    );
  },
  startswith: (s: string, prefix: string | string[]) =>
    (Array.isArray(prefix) ? prefix : [prefix]).some((p) => s.startsWith(p)),
  endswith: (s: string, suffix: string | string[]) =>
    (Array.isArray(suffix) ? suffix : [suffix]).some((p) => s.endsWith(p)),
  find: (s: string, sub: string) => s.indexOf(sub),
  rfind: (s: string, sub: string) => s.lastIndexOf(sub),
  index: (s: string, sub: string) => {
    const i = s.indexOf(sub);
    if (i < 0) throw new Error('ValueError: substring not found');
    return i;
  },
  count: (s: string, sub: string) => (sub === '' ? s.length + 1 : s.split(sub).length - 1),
  join: (s: string, items: unknown) => [...(items as Iterable<unknown>)].map(pyStr).join(s),
  format: (s: string, ...args: unknown[]) => {
    const last = args.at(-1);
    const kwargs: Record<string, unknown> = {};
    if (isPlainObject(last) && last['__keywords'] === true) {
      args.pop();
      for (const [k, v] of Object.entries(last)) if (k !== '__keywords') kwargs[k] = v;
    }
    return pyFormat(s, args, kwargs);
  },
  isdigit: (s: string) => /^\d+$/.test(s),
  isnumeric: (s: string) => /^\d+$/.test(s),
  isalpha: (s: string) => /^[A-Za-z]+$/.test(s),
  isalnum: (s: string) => /^[A-Za-z0-9]+$/.test(s),
  isspace: (s: string) => /^\s+$/.test(s),
  isupper: (s: string) => /[A-Z]/.test(s) && s === s.toUpperCase(),
  islower: (s: string) => /[a-z]/.test(s) && s === s.toLowerCase(),
  zfill: (s: string, width: number) => s.padStart(width, '0'),
  ljust: (s: string, width: number, fill: string = ' ') => s.padEnd(width, fill),
  rjust: (s: string, width: number, fill: string = ' ') => s.padStart(width, fill),
  center: (s: string, width: number) => {
    const total = Math.max(0, width - s.length);
    return ' '.repeat(Math.floor(total / 2)) + s + ' '.repeat(Math.ceil(total / 2));
  },
  partition: (s: string, sep: string) => {
    const i = s.indexOf(sep);
    return i < 0 ? [s, '', ''] : [s.slice(0, i), sep, s.slice(i + sep.length)];
  },
};

const LIST_METHODS: Record<string, Method> = {
  append: (l: unknown[], x: unknown) => {
    l.push(x);
    return null;
  },
  extend: (l: unknown[], xs: Iterable<unknown>) => {
    l.push(...xs);
    return null;
  },
  insert: (l: unknown[], i: number, x: unknown) => {
    l.splice(i, 0, x);
    return null;
  },
  pop: (l: unknown[], i?: number) => {
    if (l.length === 0) throw new Error('IndexError: pop from empty list');
    return i === undefined ? l.pop() : l.splice(i < 0 ? l.length + i : i, 1)[0];
  },
  remove: (l: unknown[], x: unknown) => {
    const i = l.indexOf(x);
    if (i < 0) throw new Error('ValueError: list.remove(x): x not in list');
    l.splice(i, 1);
    return null;
  },
  index: (l: unknown[], x: unknown) => {
    const i = l.indexOf(x);
    if (i < 0) throw new Error('ValueError: value is not in list');
    return i;
  },
  count: (l: unknown[], x: unknown) => l.filter((y) => y === x).length,
  copy: (l: unknown[]) => [...l],
};

const DICT_METHODS: Record<string, Method> = {
  items: (d: Record<string, unknown>) => Object.entries(d),
  keys: (d: Record<string, unknown>) => Object.keys(d),
  values: (d: Record<string, unknown>) => Object.values(d),
  get: (d: Record<string, unknown>, key: string, dflt: unknown = null) => (key in d ? d[key] : dflt),
  has_key: (d: Record<string, unknown>, key: string) => key in d,
  pop: (d: Record<string, unknown>, key: string, dflt?: unknown) => {
    if (!(key in d)) {
      if (dflt === undefined) throw new Error(`KeyError: '${key}'`);
      return dflt;
    }
    const v = d[key];
    delete d[key];
    return v;
  },
  setdefault: (d: Record<string, unknown>, key: string, dflt: unknown = null) => {
    if (!(key in d)) d[key] = dflt;
    return d[key];
  },
  update: (d: Record<string, unknown>, other?: Record<string, unknown>) => {
    if (other) {
      const rest = { ...other };
      delete (rest as { __keywords?: boolean }).__keywords;
      Object.assign(d, rest);
    }
    return null;
  },
  copy: (d: Record<string, unknown>) => ({ ...d }),
};

/**
 * The Python method `name` of `obj`, bound, or undefined. Native members win: an object that has
 * its own `get` keeps it.
 */
export function pythonMethod(obj: unknown, name: string): ((...args: unknown[]) => unknown) | undefined {
  let table: Record<string, Method> | undefined;
  if (typeof obj === 'string') table = STRING_METHODS;
  else if (Array.isArray(obj)) table = LIST_METHODS;
  else if (isPlainObject(obj) && typeof obj[name] !== 'function') table = DICT_METHODS;
  const method = table && Object.hasOwn(table, name) ? table[name] : undefined;
  if (!method) return undefined;
  return (...args: unknown[]) => (method as (self: unknown, ...a: unknown[]) => unknown)(obj, ...args);
}
