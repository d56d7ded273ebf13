import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDuckDb } from '../../../src/engine/duckdb.ts';
import { type ColumnLineage, columnLineageFromAst, resolveToSources } from '../../../src/lineage/column-lineage.ts';

const COLUMNS: Record<string, string[]> = {
  'raw.events': ['id', 'dbn', 'status'],
  'raw.schools': ['DBN', 'Name'],
};

async function lineageOf(sql: string, output?: string[]): Promise<ColumnLineage> {
  const engine = await openDuckDb(':memory:');
  try {
    const rows = await engine.all<{ ast: string }>('SELECT json_serialize_sql(?::VARCHAR)::VARCHAR AS ast', [sql]);
    return columnLineageFromAst(JSON.parse(rows[0]!.ast), (s, t) => COLUMNS[`${s}.${t}`], output)!;
  } finally {
    await engine.close();
  }
}

function flat(l: ColumnLineage): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [c, o] of l)
    out[c] = [...o.values()].map((v) => `${v.source.relation}.${v.source.column}:${v.subtype}`).sort();
  return out;
}

test('columns are followed through CTEs, stars, USING joins and aggregates to base relations', async () => {
  const l = await lineageOf(`
    with e as (select dbn, status from raw.events where status <> 'x'),
         s as (select "DBN" as dbn, upper("Name") as name from raw.schools)
    select s.*, count(*) filter (where e.status = 'present') as present, e.dbn as event_dbn
    from e join s using (dbn)
    group by all`);
  assert.deepEqual(flat(l), {
    dbn: ['raw.schools.DBN:IDENTITY'],
    name: ['raw.schools.Name:TRANSFORMATION'],
    present: ['raw.events.status:AGGREGATION'],
    event_dbn: ['raw.events.dbn:IDENTITY'],
  });
});

test('unions merge by position; output names come from the built relation', async () => {
  const l = await lineageOf('select id + 1 from raw.events union all select length("Name") from raw.schools', ['n']);
  assert.deepEqual(flat(l), { n: ['raw.events.id:TRANSFORMATION', 'raw.schools.Name:TRANSFORMATION'] });
});

test('resolveToSources replaces a view column by its own inputs and keeps the stronger subtype', async () => {
  const view = await lineageOf('select dbn, status from raw.events');
  const model = await lineageOf('select dbn, count(status) as n from stg.v group by dbn');
  const resolved = resolveToSources(model, (r) => (r === 'stg.v' ? view : undefined));
  assert.deepEqual(flat(resolved), {
    dbn: ['raw.events.dbn:IDENTITY'],
    n: ['raw.events.status:AGGREGATION'],
  });
});
