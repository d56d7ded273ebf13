import assert from 'node:assert/strict';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { PARTIAL_PARSE_FILE } from '../../../src/build/dbt/compile/partial-parse.ts';
import { runDbt } from '../../../src/build/dbt/index.ts';
import { TEMPLATE_CACHE_FILE } from '../../../src/build/dbt/run/run-dbt.ts';
import { parseDbtArgs } from '../../../src/cli/commands/dbt-command.ts';
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
  type Segment = { keys: string[]; codes: string[]; at?: [number, number]; full?: boolean };
  type Stored = { bin: string; segments: Segment[] };
  const read = async () => JSON.parse(await readFile(cacheFile, 'utf8')) as Stored;
  const cache = await read();
  // Both models (compiled together, before the parse: one segment) and the built-in macros they
  // called (compiled one by one: another), each segment with V8's code cache for its script in the
  // binary file the JSON names.
  assert.ok(cache.segments.length >= 1);
  assert.ok(cache.segments.flatMap((s) => s.keys).length >= 2);
  assert.ok(cache.segments.every((s) => Array.isArray(s.at) && s.at[1] > 0 && s.keys.length === s.codes.length));
  const bin = await readFile(cacheFile.replace(/\.json$/, '.bin'));
  assert.equal(bin.subarray(0, cache.bin.length).toString('latin1'), cache.bin);
  assert.ok(cache.segments.every((s) => cache.bin.length + s.at![0] + s.at![1] <= bin.length));
  const models = cache.segments.find((s) => s.codes.some((c) => c.includes(' as two, ')))!;
  // The models' segment was compiled in the run that rendered them: its code cache holds their functions.
  assert.equal(models.full, true);
  // A repeated run with nothing changed writes nothing.
  const before = await readFile(cacheFile, 'utf8');
  assert.equal(await compile(), "select 2 as two, 'x' as v\n");
  assert.equal(await readFile(cacheFile, 'utf8'), before);
  // Mark a's stored code: a second run that prints the mark ran the stored code (V8 refuses the
  // code cache made for the unmarked code, and compiles the marked one).
  const i = models.codes.findIndex((c) => c.includes(' as two, '));
  models.codes[i] = models.codes[i]!.replace(' as two, ', ' as two_from_cache, ');
  await writeFile(cacheFile, JSON.stringify(cache));
  assert.equal(await compile(), "select 2 as two_from_cache, 'x' as v\n");
  // Edited text: compiled afresh, never served stale.
  await writeFile(join(dir, 'models', 'a.sql'), 'select {{ 1 + 2 }} as three, \'{{ var("v", "x") }}\' as v\n');
  assert.equal(await compile(), "select 3 as three, 'x' as v\n");
  // A cache written by another version of the Jinja layer (other fingerprint) is ignored.
  const now = await read();
  for (const seg of now.segments) seg.codes = seg.codes.map((c) => c.replace(' as three, ', ' as x3, '));
  await writeFile(cacheFile, JSON.stringify({ ...now, fingerprint: 'other' }));
  assert.equal(await compile(), "select 3 as three, 'x' as v\n");
  // Garbage in the file: ignored, and replaced.
  await writeFile(cacheFile, '{not json');
  assert.equal(await compile(), "select 3 as three, 'x' as v\n");
  assert.ok((await read()).segments.flatMap((s) => s.keys).length >= 2);
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

test('partial parsing renders again exactly the nodes whose inputs changed, and follows what changed', async (t) => {
  const dir = await tempDir(t);
  // Each model logs while it is parsed (execute is false only in parse renders), so the log lines
  // name the nodes a run parsed by rendering.
  const parsing = (name: string) => `{% if not execute %}{{ log('parsing ${name}', info=True) }}{% endif %}\n`;
  await project(dir, {
    'macros/m.sql': '{% macro suffix() %}_x{% endmacro %}\n',
    'models/a.sql': `${parsing('a')}select 1 as id\n`,
    'models/b.sql': `${parsing('b')}{{ config(alias=env_var('PP_B_ALIAS', 'b')) }}\nselect * from {{ ref('a') }}\n`,
    'models/c.sql': `${parsing('c')}select * from {{ ref('b') }}\n`,
    'models/props.yml': 'version: 2\nmodels:\n  - name: a\n  - name: missing_model\n',
  });
  const target = join(dir, 'target');
  delete process.env['PP_B_ALIAS'];
  t.after(() => {
    delete process.env['PP_B_ALIAS'];
  });
  const compile = async (options: { vars?: Record<string, unknown>; partialParse?: boolean } = {}) => {
    const lines: string[] = [];
    await runDbt({
      command: 'compile',
      projectDir: dir,
      targetPath: target,
      onEvent: (l) => lines.push(l),
      ...options,
    });
    return {
      parsed: lines.flatMap((l) => /^parsing (\w+)$/.exec(l)?.[1] ?? []).sort(),
      notes: lines.filter((l) => l.startsWith('Note:')),
      c: await readFile(join(target, 'compiled', 'p', 'models', 'c.sql'), 'utf8'),
    };
  };
  const first = await compile();
  assert.deepEqual(first.parsed, ['a', 'b', 'c']);
  assert.match(first.c, /"main"\."b"/);
  assert.match(first.notes.join('\n'), /models\/props\.yml:4: properties for model "missing_model"/);
  // Nothing changed: nothing is rendered to be parsed; the same output, and the property file's
  // note keeps its line (the file is not parsed again either).
  const again = await compile();
  assert.deepEqual(again.parsed, []);
  assert.equal(again.c, first.c);
  assert.deepEqual(again.notes, first.notes);
  // One model edited: only it.
  await writeFile(join(dir, 'models', 'a.sql'), `${parsing('a')}select 2 as id\n`);
  assert.deepEqual((await compile()).parsed, ['a']);
  // An environment variable b's parse read has another value: b again, and what depends on its
  // config (c's ref to b) follows.
  process.env['PP_B_ALIAS'] = 'b_renamed';
  const renamed = await compile();
  assert.deepEqual(renamed.parsed, ['b']);
  assert.match(renamed.c, /"main"\."b_renamed"/);
  // Properties: config from a property file changes b's parse inputs.
  await writeFile(
    join(dir, 'models', 'props.yml'),
    'version: 2\nmodels:\n  - name: a\n  - name: b\n    config:\n      tags: [t1]\n',
  );
  const props = await compile();
  assert.deepEqual(props.parsed, ['b']);
  assert.deepEqual(props.notes, []);
  // --vars, a macro, or turning partial parsing off: everything again.
  assert.deepEqual((await compile({ vars: { v: 1 } })).parsed, ['a', 'b', 'c']);
  assert.deepEqual((await compile({ vars: { v: 1 } })).parsed, []);
  await writeFile(join(dir, 'macros', 'm.sql'), '{% macro suffix() %}_y{% endmacro %}\n');
  assert.deepEqual((await compile({ vars: { v: 1 } })).parsed, ['a', 'b', 'c']);
  assert.deepEqual((await compile({ vars: { v: 1 }, partialParse: false })).parsed, ['a', 'b', 'c']);
  process.env['DBT_PARTIAL_PARSE'] = 'false';
  try {
    assert.deepEqual((await compile({ vars: { v: 1 } })).parsed, ['a', 'b', 'c']);
  } finally {
    delete process.env['DBT_PARTIAL_PARSE'];
  }
  assert.deepEqual((await compile({ vars: { v: 1 } })).parsed, []);
  // A damaged file is ignored: everything is parsed, and the file written again.
  await writeFile(join(target, PARTIAL_PARSE_FILE), '{"environment": 1');
  assert.deepEqual((await compile({ vars: { v: 1 } })).parsed, ['a', 'b', 'c']);
  assert.deepEqual((await compile({ vars: { v: 1 } })).parsed, []);
});

test('compiled SQL files are rewritten only when their text changed', async (t) => {
  const dir = await tempDir(t);
  await project(dir, { 'models/a.sql': 'select 1 as x\n', 'models/b.sql': 'select 2 as y\n' });
  const target = join(dir, 'target');
  const compile = () => runDbt({ command: 'compile', projectDir: dir, targetPath: target, onEvent: () => {} });
  await compile();
  const file = (m: string) => join(target, 'compiled', 'p', 'models', `${m}.sql`);
  const before = { a: (await stat(file('a'))).mtimeMs, b: (await stat(file('b'))).mtimeMs };
  await new Promise((r) => setTimeout(r, 20));
  await writeFile(join(dir, 'models', 'b.sql'), 'select 3 as y\n');
  await compile();
  assert.equal((await stat(file('a'))).mtimeMs, before.a);
  assert.notEqual((await stat(file('b'))).mtimeMs, before.b);
  assert.equal(await readFile(file('b'), 'utf8'), 'select 3 as y\n');
  // A compiled file changed or removed by hand is written again.
  await writeFile(file('a'), 'edited\n');
  await rm(file('b'));
  await compile();
  assert.equal(await readFile(file('a'), 'utf8'), 'select 1 as x\n');
  assert.equal(await readFile(file('b'), 'utf8'), 'select 3 as y\n');
});

test('medallion dbt takes --no-partial-parse and --partial-parse as dbt does', () => {
  assert.equal(parseDbtArgs(['compile']).partialParse, undefined);
  assert.equal(parseDbtArgs(['compile', '--no-partial-parse']).partialParse, false);
  assert.equal(parseDbtArgs(['build', '--partial-parse', '--full-refresh']).partialParse, true);
  assert.equal(parseDbtArgs(['build', '--no-partial-parse']).fullRefresh, false);
});
