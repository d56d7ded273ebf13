import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { JinjaEngine, jinjaFunction, MacroReturn, preprocessJinja } from '../../../src/build/dbt/jinja/jinja-engine.ts';
import { MedallionError } from '../../../src/core/errors.ts';

// The same real-world-style dbt Jinja snippets the template engines were measured on
// (docs/architecture.md "Template engine"), with the output dbt-core (Jinja2) renders.
const CASES: readonly [string, string, string][] = [
  ['booleans print as Python', '{{ true }}{{ 1 == 1 }}{{ none }}', 'TrueTrueNone'],
  ['~ concat uses str()', "{{ 'a' ~ 1 ~ true }}", 'a1True'],
  ['ref positional', "select * from {{ ref('stg_x') }}", 'select * from "main"."stg_x"'],
  ['config kwargs', "{{ config(materialized='table', tags=['a','b']) }}{{ cfg() }}", 'table|a,b'],
  ['var default', "{{ var('missing', 'dflt') }}", 'dflt'],
  ['set + if/elif/else', '{% set x = 3 %}{% if x > 5 %}big{% elif x > 2 %}mid{% else %}small{% endif %}', 'mid'],
  ['block set', '{% set q %}select {{ 1 }}{% endset %}{{ q | trim }}', 'select 1'],
  [
    'loop.index/last',
    "{% for c in ['a','b','c'] %}{{ loop.index }}{{ c }}{% if not loop.last %},{% endif %}{% endfor %}",
    '1a,2b,3c',
  ],
  ['loop filter', '{% for c in [1,2,3,4] if c is even %}{{ loop.index }}:{{ c }} {% endfor %}', '1:2 2:4 '],
  ['for else', '{% for c in [] %}x{% else %}empty{% endfor %}', 'empty'],
  [
    'whitespace control',
    "select\n  {%- for c in ['a','b'] %}\n  {{ c }}{{ ',' if not loop.last }}\n  {%- endfor %}\nfrom t",
    'select\n  a,\n  b\nfrom t',
  ],
  [
    'macro args + default',
    "{% macro cents(col, scale=2) %}round({{ col }} / 100, {{ scale }}){% endmacro %}{{ cents('amt') }} {{ cents('amt', 4) }}",
    'round(amt / 100, 2) round(amt / 100, 4)',
  ],
  [
    'macro kwargs',
    "{% macro c(col, scale=2) %}{{ col }}/{{ scale }}{% endmacro %}{{ c(col='amt', scale=3) }}",
    'amt/3',
  ],
  [
    'call / caller()',
    "{% macro wrap(name) %}<{{ name }}:{{ caller() }}>{% endmacro %}{% call wrap('w') %}body{% endcall %}",
    '<w:body>',
  ],
  [
    'str methods',
    "{{ ' Ab '.strip().upper() }}{{ 'Ab'.lower() }}{{ 'a_b_c'.replace('_', '-') }}{{ 'stg_x'.startswith('stg_') }}",
    'ABaba-b-cTrue',
  ],
  [
    'str.split',
    "{% for p in 'a.b.c'.split('.') %}{{ p }}{% endfor %}|{{ 'a b  c'.split() | length }}|{{ 'a.b.c'.split('.', 1)[1] }}",
    'abc|3|b.c',
  ],
  ['str.format', "{{ '{}_{}'.format('a', 'b') }} {{ '{x}-{0}'.format(1, x='y') }}", 'a_b y-1'],
  ['% formatting', "{{ '%s_%s' % ('a', 'b') }} {{ '%05.1f' % 3.14159 }}", 'a_b 003.1'],
  ['str.join', "{{ ', '.join(['a', 'b']) }}", 'a, b'],
  ['dict.items()', "{% set d = {'a': 1, 'b': 2} %}{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", 'a=1;b=2;'],
  [
    'dict.keys/values/get',
    "{% set d = {'a': 1} %}{{ d.keys() | list | length }}{{ d.values() | list | first }}{{ d.get('z', 'dflt') }}",
    '11dflt',
  ],
  ['nested dict literal in a tag', "{% set d = {'a': {'b': 5}} %}{{ d.a.b }}{{ d['a']['b'] }}", '55'],
  [
    'namespace',
    '{% set ns = namespace(found=false) %}{% for c in [1,2] %}{% if c == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }}',
    'True',
  ],
  [
    'do + append',
    "{% set cols = [] %}{% for c in ['a','b'] %}{% do cols.append(c ~ '_x') %}{% endfor %}{{ cols | join(',') }}",
    'a_x,b_x',
  ],
  ['tuple set', "{% set pkg, name = 'dbt.unique'.split('.', 1) %}{{ name }}@{{ pkg }}", 'unique@dbt'],
  [
    'is tests',
    "{{ x is none }}{{ 1 is not none }}{{ y is defined }}{{ 'a' is string }}{{ {} is mapping }}",
    'FalseTrueFalseTrueTrue',
  ],
  ['in', "{{ 'a' in ['a'] }}{{ 'x' in 'xyz' }}{{ 'k' in {'k': 1} }}{{ 'z' not in ['a'] }}", 'TrueTrueTrueTrue'],
  [
    'slices and negative index',
    "{% set l = [1,2,3] %}{{ l[1:] | join }}{{ l[-1] }}{{ 'abcd'[:2] }}{{ l[::-1] | join }}",
    '233ab321',
  ],
  [
    'filters',
    "{{ ['A','B'] | join('|') | lower }}{{ 'a-b' | replace('-', '_') }}{{ [1,2] | length }}{{ undefined_var | default('d') }}",
    'a|ba_b2d',
  ],
  [
    'map / selectattr',
    "{% set cs = [{'n':'a','k':1},{'n':'b','k':0}] %}{{ cs | map(attribute='n') | join(',') }} {{ cs | selectattr('k') | map(attribute='n') | join }}",
    'a,b a',
  ],
  [
    'map(filter) / reject / select(test)',
    "{{ ['a','B'] | map('upper') | join }}{{ [1,2,3] | reject('odd') | join }}{{ ['a','b'] | select('in', ['b']) | join }}",
    'AB2b',
  ],
  ['tojson', "{{ {'b': [1, 'x'], 'a': none} | tojson }}", '{"a": null, "b": [1, "x"]}'],
  [
    'unique/sort/first/last',
    '{{ [3,1,2] | sort | first }}{{ [3,1,2] | last }}{{ [1,1,2] | unique | list | length }}',
    '122',
  ],
  ['range + math', '{% for i in range(3) %}{{ i }}{% endfor %}{{ 7 // 2 }}{{ 2 ** 3 }}{{ 7 % 3 }}', '012381'],
  ['comments + raw', 'a{# c #}b{% raw %}{{ x }}{% endraw %}', 'ab{{ x }}'],
  [
    'this + target',
    "{{ this }}|{{ this.identifier }}|{{ target.schema }}_{{ env_var('MEDALLION_SURELY_UNSET', 'dev') }}",
    '"main"."m"|m|main_dev',
  ],
  ['as_bool / as_number', "{{ 'true' | as_bool }}{{ '3' | as_number + 1 }}", 'True4'],
];

function relation(schema: string, identifier: string) {
  return new (class {
    readonly schema = schema;
    readonly identifier = identifier;
    toString() {
      return `"${schema}"."${identifier}"`;
    }
  })();
}

function contextFor(): Record<string, unknown> {
  const cfg: Record<string, unknown> = {};
  return {
    this: relation('main', 'm'),
    target: { schema: 'main', name: 'dev', type: 'duckdb' },
    ref: jinjaFunction((args) => relation('main', String(args[0]))),
    config: jinjaFunction((_args, kwargs) => {
      Object.assign(cfg, kwargs);
      return '';
    }),
    cfg: () => `${cfg['materialized']}|${(cfg['tags'] as string[]).join(',')}`,
    var: jinjaFunction((args) => args[1] ?? null),
    env_var: jinjaFunction((args) => process.env[String(args[0])] ?? args[1]),
  };
}

describe('Jinja engine renders dbt-style SQL as Jinja2 does', () => {
  const engine = new JinjaEngine();
  for (const [name, source, expected] of CASES) {
    test(name, () => {
      assert.equal(engine.render(source, contextFor(), { file: 'case.sql', strict: false }), expected);
    });
  }

  test('return() inside a macro yields a value, not text', () => {
    const body = '{{ return(x * 2) }}';
    const ctx: Record<string, unknown> = {};
    ctx['double'] = (x: number) => {
      try {
        return engine.render(
          body,
          {
            x,
            return: (v: unknown) => {
              throw new MacroReturn(v);
            },
          },
          { file: 'm.sql' },
        );
      } catch (e) {
        if (e instanceof MacroReturn) return e.value;
        throw e;
      }
    };
    assert.equal(engine.render('{% set v = double(21) %}{{ v + 0 }}', ctx, { file: 'x.sql' }), '42');
  });

  test('known gap: a set inside a for loop leaks out of it (Jinja2 scopes it to the loop)', () => {
    assert.equal(
      engine.render('{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}', {}, { file: 'x.sql' }),
      '2',
    );
  });
});

describe('Jinja errors name the file and line', () => {
  const engine = new JinjaEngine();

  test('syntax error', () => {
    assert.throws(
      () => engine.render('select 1\n{% if x %}\nselect 2\n', {}, { file: 'models/broken.sql' }),
      (err: unknown) =>
        err instanceof MedallionError &&
        err.code === 'MDL_DBT_COMPILE' &&
        /^models\/broken\.sql:\d+: /.test(err.message),
    );
  });

  test('calling an undefined macro', () => {
    assert.throws(
      () => engine.render('select\n\n{{ nope(1) }}', {}, { file: 'models/m.sql', startLine: 10 }),
      (err: unknown) =>
        err instanceof MedallionError &&
        err.message === "models/m.sql:12: 'nope' is undefined (no macro or function of that name)",
    );
  });

  test('printing an undefined value is an error in strict mode only', () => {
    assert.equal(engine.render('[{{ missing }}]', {}, { file: 'a.sql', strict: false }), '[]');
    assert.throws(
      () => engine.render('[{{ missing }}]', {}, { file: 'a.sql', strict: true }),
      /a\.sql:1: printed a value that is undefined/,
    );
  });

  test('errors raised by context functions keep their code and get the location', () => {
    const ctx = {
      fail: () => {
        throw new MedallionError('MDL_DBT_COMPILE', 'bad ref', { hint: 'h' });
      },
    };
    assert.throws(
      () => engine.render('\n{{ fail() }}', ctx, { file: 'models/x.sql' }),
      (err: unknown) => err instanceof MedallionError && err.message === 'models/x.sql:2: bad ref' && err.hint === 'h',
    );
  });
});

test('preprocessing keeps line numbers', () => {
  const src = "{% set ns.a = 1 %}\n{% set a, b = [1,\n2] %}\n{% for x in y if x %}\n{{ {'a': {'b': 1}} }}";
  const out = preprocessJinja(src);
  assert.equal(out.split('\n').length, src.split('\n').length);
});
