import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { runDbt } from '../../../src/build/dbt/index.ts';
import { TEMPLATE_CACHE_FILE } from '../../../src/build/dbt/run/run-dbt.ts';
import { tempDir, tempWarehouse } from './helpers.ts';

async function project(dir: string, files: Record<string, string>): Promise<void> {
  await writeFile(join(dir, 'dbt_project.yml'), 'name: p\nprofile: p\nconfig-version: 2\n');
  await writeFile(
    join(dir, 'profiles.yml'),
    'p:\n  target: d\n  outputs:\n    d:\n      type: duckdb\n      path: ":memory:"\n      schema: main\n',
  );
  for (const [file, text] of Object.entries(files)) {
    await mkdir(join(dir, file, '..'), { recursive: true });
    await writeFile(join(dir, file), text);
  }
}

test('compiled templates are reused between runs only while their text is unchanged', async (t) => {
  const dir = await tempDir(t);
  await project(dir, {
    'models/a.sql': 'select {{ 1 + 1 }} as two, \'{{ var("v", "x") }}\' as v\n',
    'models/b.sql': "select * from {{ ref('a') }}\n",
  });
  const target = join(dir, 'target');
  const compile = async () => {
    await runDbt({ command: 'compile', projectDir: dir, targetPath: target, onEvent: () => {} });
    return readFile(join(target, 'compiled', 'p', 'models', 'a.sql'), 'utf8');
  };
  assert.equal(await compile(), "select 2 as two, 'x' as v\n");
  const cacheFile = join(target, TEMPLATE_CACHE_FILE);
  type Stored = { bin: string; templates: Record<string, { code: string; at?: [number, number] }> };
  const cache = JSON.parse(await readFile(cacheFile, 'utf8')) as Stored;
  const entries = Object.entries(cache.templates);
  // Both models and the built-in macros they called, each with V8's code cache for its code in the
  // binary file the JSON names.
  assert.ok(entries.length >= 2);
  assert.ok(entries.every(([, e]) => Array.isArray(e.at) && e.at[1] > 0));
  const bin = await readFile(cacheFile.replace(/\.json$/, '.bin'));
  assert.equal(bin.subarray(0, cache.bin.length).toString('latin1'), cache.bin);
  assert.ok(entries.every(([, e]) => cache.bin.length + e.at![0] + e.at![1] <= bin.length));
  // Mark a's stored code: a second run that prints the mark ran the stored code.
  const [key, entry] = entries.find(([, e]) => e.code.includes(' as two, '))!;
  cache.templates[key] = { code: entry.code.replace(' as two, ', ' as two_from_cache, '), at: entry.at };
  await writeFile(cacheFile, JSON.stringify(cache));
  assert.equal(await compile(), "select 2 as two_from_cache, 'x' as v\n");
  // Edited text: compiled afresh, never served stale.
  await writeFile(join(dir, 'models', 'a.sql'), 'select {{ 1 + 2 }} as three, \'{{ var("v", "x") }}\' as v\n');
  assert.equal(await compile(), "select 3 as three, 'x' as v\n");
  // A cache written by another version of the Jinja layer (other fingerprint) is ignored.
  const now = JSON.parse(await readFile(cacheFile, 'utf8')) as Stored;
  for (const e of Object.values(now.templates)) e.code = e.code.replace(' as three, ', ' as x3, ');
  await writeFile(cacheFile, JSON.stringify({ fingerprint: 'other', bin: now.bin, templates: now.templates }));
  assert.equal(await compile(), "select 3 as three, 'x' as v\n");
  // Garbage in the file: ignored, and replaced.
  await writeFile(cacheFile, '{not json');
  assert.equal(await compile(), "select 3 as three, 'x' as v\n");
  assert.ok(Object.keys(JSON.parse(await readFile(cacheFile, 'utf8')).templates).length >= 2);
});

test('relations changed by hooks are seen: the run re-reads its catalog after SQL it did not write', async (t) => {
  const { warehouse } = await tempWarehouse(t);
  const dir = await tempDir(t);
  await project(dir, {
    // The hook runs after the run has read the catalog: a table where the view model goes, and a
    // table a model looks up.
    'dbt_project.yml':
      'name: p\nprofile: p\nconfig-version: 2\non-run-start:\n' +
      '  - "create table main.v as select 1 as x"\n' +
      '  - "create table main.made_by_hook as select 1 as x"\n',
    'models/v.sql': 'select 2 as x\n',
    'models/seen.sql':
      "{% set r = adapter.get_relation(database=none, schema='main', identifier='made_by_hook') %}\n" +
      'select {{ 1 if r is not none else 0 }} as seen\n',
    'models/t.sql':
      "{{ config(materialized='table', pre_hook='create table main.t as select 9 as x') }}\nselect 3 as x\n",
  });
  const r = await runDbt({
    command: 'build',
    projectDir: dir,
    targetPath: join(dir, 'target'),
    warehouse,
    onEvent: () => {},
  });
  assert.deepEqual(
    Object.fromEntries(r.results.map((x) => [x.name, x.status])),
    { seen: 'success', t: 'success', v: 'success' },
    r.results.map((x) => x.message).join('\n'),
  );
  const kinds = await warehouse.query<{ table_name: string; table_type: string }>(
    "select table_name, table_type from information_schema.tables where table_schema = 'main' order by 1",
  );
  assert.deepEqual(
    kinds.map((k) => `${k.table_name}:${k.table_type}`),
    ['made_by_hook:BASE TABLE', 'seen:VIEW', 't:BASE TABLE', 'v:VIEW'],
  );
  assert.deepEqual(await warehouse.query('select * from main.seen'), [{ seen: 1 }]);
  assert.deepEqual(await warehouse.query('select * from main.t'), [{ x: 3 }]);
});
