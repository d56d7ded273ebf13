import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runDbt } from '../../../src/build/dbt/index.ts';
import { MedallionError } from '../../../src/core/errors.ts';
import { tempDir, tempWarehouse, writeProject } from './helpers.ts';

async function parse(projectDir: string, targetDir: string) {
  return runDbt({ command: 'parse', projectDir, targetPath: join(targetDir, 'target'), onEvent: () => {} });
}

function rejectsWith(code: string, pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof MedallionError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    assert.ok(err.hint, 'every error says what to do');
    return true;
  };
}

test('a ref to a model that does not exist names the file and the missing model', async (t) => {
  const dir = await writeProject(t, {
    'models/good.sql': 'select 1 as id',
    'models/orders.sql': "select * from {{ ref('good') }}\njoin {{ ref('nope') }} using (id)",
  });
  await assert.rejects(
    parse(dir, await tempDir(t)),
    rejectsWith(
      'MDL_DBT_COMPILE',
      /^models\/orders\.sql: model "orders" depends on a node named 'nope' which was not found/,
    ),
  );
});

test('broken YAML names the file and line', async (t) => {
  const dir = await writeProject(t, {
    'models/m.sql': 'select 1 as id',
    'models/schema.yml': 'version: 2\nmodels:\n  - name: m\n    columns:\n      - name: id\n     tests: [unique]\n',
  });
  await assert.rejects(
    parse(dir, await tempDir(t)),
    rejectsWith('MDL_DBT_PROJECT_INVALID', /^models\/schema\.yml:6: invalid YAML/),
  );
});

test('a YAML value of the wrong shape names the file and line', async (t) => {
  const dir = await writeProject(t, {
    'models/m.sql': 'select 1 as id',
    'models/schema.yml': 'version: 2\nmodels:\n  - name: m\n    columns:\n      - name: id\n        tests: unique\n',
  });
  await assert.rejects(
    parse(dir, await tempDir(t)),
    rejectsWith('MDL_DBT_PROJECT_INVALID', /^models\/schema\.yml:6: "tests" must be a list/),
  );
});

test('Jinja errors in a model name the file and line', async (t) => {
  const dir = await writeProject(t, { 'models/m.sql': 'select 1 as id\n{% if true %}\nwhere 1 = 1\n' });
  await assert.rejects(parse(dir, await tempDir(t)), rejectsWith('MDL_DBT_COMPILE', /^models\/m\.sql:\d+: /));
});

test('a cycle is reported with its path', async (t) => {
  const dir = await writeProject(t, {
    'models/a.sql': "select * from {{ ref('b') }}",
    'models/b.sql': "select * from {{ ref('a') }}",
  });
  await assert.rejects(
    parse(dir, await tempDir(t)),
    rejectsWith('MDL_DBT_COMPILE', /^Found a cycle: model\.p\.a --> model\.p\.b --> model\.p\.a$/),
  );
});

test('a ref to a missing seed or model names the file; a seed file is a node', async (t) => {
  const dir = await writeProject(t, {
    'seeds/boroughs.csv': 'code,name\nM,Manhattan\n',
    'models/m.sql': "select * from {{ ref('borough') }}",
  });
  await assert.rejects(parse(dir, await tempDir(t)), rejectsWith('MDL_DBT_COMPILE', /models\/m\.sql.*'borough'/));
  const ok = await writeProject(t, {
    'seeds/boroughs.csv': 'code\nM\n',
    'models/m.sql': "select * from {{ ref('boroughs') }}",
  });
  const result = await parse(ok, await tempDir(t));
  assert.deepEqual(result.notes, []);
});

test('an unknown generic test and a test from a package are reported at their YAML line', async (t) => {
  const unknown = await writeProject(t, {
    'models/m.sql': 'select 1 as id',
    'models/schema.yml': 'models:\n  - name: m\n    columns:\n      - name: id\n        data_tests: [is_even]\n',
  });
  await assert.rejects(
    parse(unknown, await tempDir(t)),
    rejectsWith('MDL_DBT_COMPILE', /^models\/schema\.yml:5: no generic test named "is_even"/),
  );
  const pkg = await writeProject(t, {
    'models/m.sql': 'select 1 as id',
    'models/schema.yml':
      'models:\n  - name: m\n    data_tests:\n      - dbt_utils.expression_is_true:\n          expression: "id > 0"\n',
  });
  await assert.rejects(parse(pkg, await tempDir(t)), rejectsWith('MDL_DBT_COMPILE', /packages are not supported yet/));
});

test('a missing profile or target is explained', async (t) => {
  const dir = await writeProject(t, {
    'models/m.sql': 'select 1 as id',
    'profiles.yml': 'p:\n  target: dev\n  outputs:\n    prod:\n      type: duckdb\n',
  });
  await assert.rejects(
    parse(dir, await tempDir(t)),
    rejectsWith('MDL_DBT_PROJECT_INVALID', /has no output "dev" \(has: prod\)/),
  );
});

test("schema naming follows dbt's generate_schema_name, and a project can override it", async (t) => {
  const files = {
    'dbt_project.yml': 'name: p\nprofile: p\nmodels:\n  p:\n    marts:\n      +schema: gold\n',
    'profiles.yml': 'p:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      schema: analytics\n',
    'models/staging/stg.sql': 'select 1 as id',
    'models/marts/mart.sql': "{{ config(materialized='table', alias='mart_v1') }}select * from {{ ref('stg') }}",
    'models/marts/other.sql': "{{ config(schema='extra') }}select 2 as id",
  };
  const { warehouse } = await tempWarehouse(t);
  const relations = async (projectDir: string) => {
    const result = await runDbt({
      command: 'run',
      projectDir,
      targetPath: join(await tempDir(t), 'target'),
      warehouse,
      onEvent: () => {},
    });
    assert.equal(result.success, true, JSON.stringify(result.results));
    return Object.fromEntries(result.results.map((r) => [r.name, r.relation]));
  };
  assert.deepEqual(await relations(await writeProject(t, files)), {
    stg: 'analytics.stg',
    mart: 'analytics_gold.mart_v1',
    other: 'analytics_extra.other',
  });
  const overridden = await writeProject(t, {
    ...files,
    'macros/generate_schema_name.sql':
      '{% macro generate_schema_name(custom_schema_name, node) -%}\n' +
      '  {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}\n' +
      '{%- endmacro %}\n',
  });
  assert.deepEqual(await relations(overridden), { stg: 'analytics.stg', mart: 'gold.mart_v1', other: 'extra.other' });
  assert.deepEqual(await warehouse.query('select * from gold.mart_v1'), [{ id: 1 }]);
});

test('a ref only inside {% if execute %} must be declared with depends_on, as in dbt', async (t) => {
  const { warehouse } = await tempWarehouse(t);
  const body = "select 1 as id {% if execute %} union all select * from {{ ref('a') }}{% endif %}";
  const missing = await writeProject(t, { 'models/a.sql': 'select 2 as id', 'models/b.sql': body });
  const result = await runDbt({
    command: 'run',
    projectDir: missing,
    targetPath: join(await tempDir(t), 'target'),
    warehouse,
    onEvent: () => {},
  });
  const b = result.results.find((r) => r.name === 'b')!;
  assert.equal(b.status, 'error');
  assert.match(b.message, /^models\/b\.sql:1: ref\('a'\) was not seen when the project was parsed/);
  const declared = await writeProject(t, {
    'models/a.sql': 'select 2 as id',
    'models/b.sql': `-- depends_on: {{ ref('a') }}\n${body}`,
  });
  const ok = await runDbt({
    command: 'run',
    projectDir: declared,
    targetPath: join(await tempDir(t), 'target'),
    warehouse,
    onEvent: () => {},
  });
  assert.equal(ok.success, true);
  assert.deepEqual(await warehouse.query('select id from main.b order by id'), [{ id: 1 }, { id: 2 }]);
});

test('unsupported materializations fail their node clearly and skip its downstream', async (t) => {
  const { warehouse } = await tempWarehouse(t);
  const dir = await writeProject(t, {
    'models/inc.sql': "{{ config(materialized='materialized_view') }}select 1 as id",
    'models/after.sql': "select * from {{ ref('inc') }}",
  });
  const result = await runDbt({
    command: 'run',
    projectDir: dir,
    targetPath: join(await tempDir(t), 'target'),
    warehouse,
    onEvent: () => {},
  });
  const byName = Object.fromEntries(result.results.map((r) => [r.name, r]));
  assert.equal(byName['inc']?.status, 'error');
  assert.match(
    byName['inc']!.message,
    /materialized='materialized_view' is not supported \(supported: view, table, incremental, ephemeral\)/,
  );
  assert.equal(byName['after']?.status, 'skipped');
});
