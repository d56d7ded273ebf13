import { formatTable, runQuery } from '../../query/query.ts';
import type { Command } from '../command.ts';
import { printJson, withContext } from '../context-options.ts';

/** `medallion query`. */
export const queryCommand: Command = {
  name: 'query',
  summary: 'Run one read-only SQL query (DuckDB dialect) over every layer.',
  usage: 'query "<sql>" [--json]',
  details:
    'Schemas: bronze.<dataset>, silver.<dataset>, quarantine.<dataset>, duplicates.<dataset> (lake files), gold.<model> (warehouse) and ops.runs (the run log: one row per job run and micro-batch).\nExample: medallion query "SELECT borough, avg(attendance_rate) FROM gold.fact_event_metrics JOIN gold.dim_school USING (dbn) GROUP BY 1"',
  options: { json: { type: 'boolean', description: 'Print an array of row objects as JSON on stdout.' } },
  positionals: { min: 1, max: 1, name: 'sql' },
  async run(values, positionals) {
    const result = await withContext(values, (ctx) => runQuery(ctx.project, ctx.storage, positionals[0]!));
    if (values['json']) {
      printJson(result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c, r[i]]))));
    } else process.stdout.write(`${formatTable(result)}\n`);
    return 0;
  },
};
