import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { type JinjaAst, staticParse } from '../../../src/build/dbt/compile/static-parse.ts';
import { JinjaEngine } from '../../../src/build/dbt/jinja/jinja-engine.ts';
import { TemplateCache } from '../../../src/build/dbt/jinja/template-cache.ts';
import { tempDir } from './helpers.ts';

/** Static parsing of `model` with project macros `macros` (name → body, default arguments). */
async function read(
  t: Parameters<typeof tempDir>[0],
  model: string,
  macros: Record<string, { body: string; defaults?: string[] }> = {},
) {
  const engine = new JinjaEngine({ cache: await TemplateCache.open(join(await tempDir(t), 'cache.json')) });
  const items = [
    { source: model, file: 'models/m.sql' },
    ...Object.entries(macros).map(([name, m]) => ({ source: m.body, file: `macros/${name}.sql` })),
  ];
  engine.prepare(items);
  return staticParse(
    engine.tree(model, 'models/m.sql') as JinjaAst,
    (name) =>
      macros[name]
        ? {
            ast: engine.tree(macros[name].body, `macros/${name}.sql`) as JinjaAst,
            defaults: macros[name].defaults ?? [],
          }
        : undefined,
    ['dbt', 'proj'],
  );
}

test('static parsing reads top-level ref, source and config calls with literal arguments, in order', async (t) => {
  const parsed = await read(
    t,
    "{{ config(materialized='table', tags=['a'], meta={'k': 1}) }}\n" +
      "{% set cutoff = var('cutoff', 3) %}\n" +
      "with x as (select * from {{ ref('a') }}), y as (select * from {{ ref('pkg', 'b') }})\n" +
      "select {{ cents('amount') }}, {% for i in range(2) %}{{ i }}{% if not loop.last %},{% endif %}{% endfor %}\n" +
      "from {{ source('raw', 'events') }} where n > {{ cutoff }} and s = '{{ 'x' | upper }}'\n" +
      "{{ config({'alias': 'm2'}) }}\n",
    { cents: { body: 'cast(round({{ col }} * 100) as bigint){% do [].append(1) %}' } },
  );
  assert.deepEqual(parsed, {
    refs: [
      { package: null, name: 'a' },
      { package: 'pkg', name: 'b' },
    ],
    sources: [['raw', 'events']],
    config: { materialized: 'table', tags: ['a'], meta: { k: 1 }, alias: 'm2' },
  });
});

test('static parsing leaves to rendering every template whose parse it cannot be sure of', async (t) => {
  const declined: [string, string, Record<string, { body: string; defaults?: string[] }>?][] = [
    ['ref inside if', "{% if true %}select * from {{ ref('a') }}{% endif %}"],
    ['ref inside for', "{% for i in [1] %}{{ ref('a') }}{% endfor %}"],
    ['ref in an expression', "{{ ref('a') ~ '' }}"],
    ['ref with a computed argument', "{{ ref('a' ~ 'b') }}"],
    ['ref with a variable', "{% set n = 'a' %}{{ ref(n) }}"],
    ['ref with a keyword', "{{ ref('a', v=2) }}"],
    ['source with one argument', "{{ source('raw') }}"],
    ['config with a variable', "{{ config(materialized=var('m')) }}"],
    ['ref passed as a value', '{% set r = ref %}{{ r }}'],
    ['env_var', "select '{{ env_var('X', 'y') }}'"],
    ['log', "{{ log('hi', info=True) }}"],
    ['adapter', "{{ adapter.dispatch('m')() }}"],
    ['run_query', "{% set q = run_query('select 1') %}"],
    ['config.get', "{{ config.get('materialized') }}"],
    ['a macro that refs', "{{ m() }} {{ ref('a') }}", { m: { body: "{{ ref('b') }}" } }],
    ['a macro that uses env_var', '{{ m() }}', { m: { body: "{{ env_var('X', '') }}" } }],
    ['a macro default naming ref', '{{ m() }}', { m: { body: '{{ x }}', defaults: ["ref('a')"] } }],
    ['a macro that calls a built-in macro', '{{ m() }}', { m: { body: '{{ get_where_subquery(1) }}' } }],
    ['an unknown function', '{{ nowhere() }}'],
    ['a package namespace', '{{ dbt.some_macro() }}'],
    ['the project namespace', '{{ proj.m() }}', { m: { body: 'x' } }],
    ['a macro defined in the model', "{% macro k() %}{{ ref('a') }}{% endmacro %}{{ k() }}"],
    ['a call block', "{% call m() %}{{ ref('a') }}{% endcall %}", { m: { body: '{{ caller() }}' } }],
    ['a block set', "{% set x %}{{ ref('a') }}{% endset %}{{ x }}"],
    ['shadowing ref', "{% set ref = 1 %}{{ ref('a') }}"],
  ];
  for (const [what, model, macros] of declined) assert.equal(await read(t, model, macros), undefined, what);
});
