import { replayStep } from '../../pipeline/steps.ts';
import type { Command } from '../command.ts';
import { printJson, withContext } from '../context-options.ts';

/** `medallion replay`. */
export const replayCommand: Command = {
  name: 'replay',
  summary:
    'Rebuild silver for a range of event dates from bronze (after a fix, or a lost silver file), reload those dates into the warehouse and rebuild gold.',
  usage: 'replay --from YYYY-MM-DD --to YYYY-MM-DD [--json]',
  details:
    'Bronze is refined again as one history (the first occurrence of an event id wins; the watermark is replayed),\n' +
    'so an unchanged contract gives the same silver rows. Cost grows with the whole bronze history.',
  options: {
    from: { type: 'string', placeholder: 'DATE', description: 'First event date to rebuild (required).' },
    to: { type: 'string', placeholder: 'DATE', description: 'Last event date to rebuild (required).' },
    json: { type: 'boolean', description: 'Print what was rebuilt as JSON on stdout.' },
  },
  async run(values) {
    const from = values['from'] as string | undefined;
    const to = values['to'] as string | undefined;
    if (!from || !to) {
      const { MedallionError } = await import('../../core/errors.ts');
      throw new MedallionError('MDL_USAGE', 'replay needs --from and --to.', {
        hint: 'Run `medallion replay --from 2018-10-01 --to 2018-10-05`, say.',
      });
    }
    const r = await withContext(values, (ctx) => replayStep(ctx, { from, to }));
    if (values['json']) printJson(r);
    return 0;
  },
};
