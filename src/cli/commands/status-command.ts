import { formatStatus, readStatus } from '../../ops/status.ts';
import type { Command } from '../command.ts';
import { printJson, withContext } from '../context-options.ts';

/** `medallion status`. */
export const statusCommand: Command = {
  name: 'status',
  summary:
    'Show row counts per layer (bronze, silver, quarantine, duplicates, late), gold models and test results, the latest refine batches, the recent runs (all of them: query "SELECT * FROM ops.runs") and the last run.',
  usage: 'status [--json]',
  options: {
    json: { type: 'boolean', description: 'Print the status as JSON on stdout (the documented status contract).' },
  },
  async run(values) {
    const s = await withContext(values, (ctx) => readStatus(ctx.project, ctx.storage, ctx.engine));
    if (values['json']) printJson(s);
    else process.stdout.write(`${formatStatus(s)}\n`);
    return 0;
  },
};
