import { retryStep } from '../../pipeline/steps.ts';
import { formatQuarantineReport, quarantineReport } from '../../refine/quarantine-report.ts';
import { type Command, intOption } from '../command.ts';
import { printJson, withContext } from '../context-options.ts';

/** `medallion quarantine`. */
export const quarantineCommand: Command = {
  name: 'quarantine',
  summary:
    'List and explain quarantined records: counts by contract rule with what each rule means, and samples as received.',
  usage: 'quarantine [--rule RULE] [--limit N] [--json]',
  options: {
    rule: { type: 'string', placeholder: 'RULE', description: 'Samples of this rule only (e.g. dbn.reference).' },
    limit: { type: 'string', placeholder: 'N', description: 'How many samples to show (default 5).' },
    json: { type: 'boolean', description: 'Print the report as JSON on stdout.' },
    retry: {
      type: 'boolean',
      description:
        'Refine every quarantined record again against the current contract (exactly once), then load and rebuild gold.',
    },
  },
  async run(values) {
    if (values['retry']) {
      const r = await withContext(values, (ctx) => retryStep(ctx));
      if (values['json']) printJson(r);
      return 0;
    }
    const report = await withContext(values, (ctx) =>
      quarantineReport(ctx.project, ctx.storage, ctx.engine, {
        rule: values['rule'] as string | undefined,
        limit: intOption(values, 'limit', 0),
      }),
    );
    if (values['json']) printJson(report);
    else process.stdout.write(`${formatQuarantineReport(report)}\n`);
    return 0;
  },
};
