import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runDbt } from '../../../src/build/dbt/index.ts';
import { tempDir, tempWarehouse, writeProject } from './helpers.ts';

test('test configs: where, limit, warn_if/error_if, folder severity, quote: false, custom names', async (t) => {
  const { warehouse } = await tempWarehouse(t);
  const dir = await writeProject(t, {
    'dbt_project.yml': 'name: p\nprofile: p\ndata_tests:\n  p:\n    lenient:\n      +severity: warn\n',
    'models/scores.sql':
      "select * from (values (1, 'a', 5), (2, 'b', -1), (3, 'b', -2), (4, null, -3), (5, 'c', 7)) as t(id, grp, score)",
    'models/schema.yml': `
version: 2
models:
  - name: scores
    columns:
      - name: grp
        data_tests:
          - accepted_values:
              arguments:
                values: ['a', 'b']
              config:
                where: "id < 5"
          - not_null:
              name: grp_is_set
              config:
                error_if: ">= 2"
                warn_if: ">= 1"
      - name: id
        data_tests:
          - accepted_values:
              values: [1, 2, 3]
              quote: false
              limit: 1
      - name: score
        data_tests:
          - at_least_zero:
              config:
                fail_calc: "sum(abs(score))"
                error_if: "> 5"
                warn_if: "> 1"
`,
    'models/lenient/schema.yml': 'version: 2\nmodels:\n  - name: other\n    data_tests:\n      - not_empty\n',
    'models/lenient/other.sql': 'select 1 as x where false',
    'macros/tests.sql': `
{% test at_least_zero(model, column_name) %}
select {{ column_name }} from {{ model }} where {{ column_name }} < 0
{% endtest %}
{% test not_empty(model) %}
select 1 as empty from (select count(*) as n from {{ model }}) c where n = 0
{% endtest %}
`,
  });
  const result = await runDbt({
    command: 'build',
    projectDir: dir,
    targetPath: join(await tempDir(t), 'target'),
    warehouse,
    onEvent: () => {},
  });
  const r = Object.fromEntries(result.results.map((x) => [x.name, x]));
  assert.deepEqual(
    Object.keys(r).sort(),
    [
      'accepted_values_scores_grp__a__b',
      'accepted_values_scores_id__False__1__2__3',
      'at_least_zero_scores_score',
      'grp_is_set',
      'not_empty_other_',
      'other',
      'scores',
    ].sort(),
  );
  assert.equal(r['accepted_values_scores_grp__a__b']?.status, 'pass', 'the where config excludes id 5 (grp c)');
  assert.deepEqual([r['grp_is_set']?.status, r['grp_is_set']?.failures], ['warn', 1]);
  assert.deepEqual(
    [r['accepted_values_scores_id__False__1__2__3']?.status, r['accepted_values_scores_id__False__1__2__3']?.failures],
    ['fail', 1],
  );
  assert.deepEqual([r['at_least_zero_scores_score']?.status, r['at_least_zero_scores_score']?.failures], ['fail', 6]);
  assert.deepEqual(
    [r['not_empty_other_']?.status, r['not_empty_other_']?.failures],
    ['warn', 1],
    'folder-level +severity: warn',
  );
});

test('pre- and post-hooks run around the model, rendered with its context', async (t) => {
  const { warehouse } = await tempWarehouse(t);
  await warehouse.exec('create table main.audit (model varchar, phase varchar)');
  const dir = await writeProject(t, {
    'dbt_project.yml':
      "name: p\nprofile: p\nmodels:\n  p:\n    +pre-hook: \"insert into main.audit values ('{{ this.identifier }}', 'pre')\"\n",
    'models/m.sql':
      "{{ config(materialized='table', post_hook=\"insert into main.audit select '{{ this.identifier }}', 'post:' || count(*) from {{ this }}\") }}select 1 as id",
  });
  const result = await runDbt({
    command: 'run',
    projectDir: dir,
    targetPath: join(await tempDir(t), 'target'),
    warehouse,
    onEvent: () => {},
  });
  assert.equal(result.success, true, JSON.stringify(result.results));
  assert.deepEqual(await warehouse.query('select * from main.audit order by phase desc'), [
    { model: 'm', phase: 'pre' },
    { model: 'm', phase: 'post:1' },
  ]);
});
