import { MedallionError } from '../../core/errors.ts';
import { checkStep } from '../../quality/check-step.ts';
import { formatQualityReport } from '../../quality/format-report.ts';
import type { QualityReport } from '../../quality/run-checks.ts';
import type { Command } from '../command.ts';
import { printJson, withContext } from '../context-options.ts';

/** `medallion check`: the data-quality checks of checks/*.yml against the warehouse. */
export const checkCommand: Command = {
  name: 'check',
  summary:
    "Run the pipeline's data-quality checks (checks/*.yml: freshness, volume, null rate, drift) against the warehouse and store the results.",
  usage: 'check [--now TIME] [--json]',
  details:
    'Exit 0 when no check fails (warnings included), 1 when a check fails or cannot run. The report is stored as\n' +
    'quality/latest.json under the data directory; `status`, the dashboard and lineage read it. `run` runs the checks after every gold build.',
  options: {
    now: {
      type: 'string',
      placeholder: 'TIME',
      description: 'Judge freshness as of this time (ISO-8601, e.g. 2026-11-24T09:00:00Z); default: now.',
    },
    json: { type: 'boolean', description: 'Print the report as JSON on stdout.' },
  },
  async run(values) {
    const nowText = values['now'] as string | undefined;
    const now = nowText === undefined ? undefined : new Date(nowText);
    if (now && Number.isNaN(now.getTime())) {
      throw new MedallionError('MDL_USAGE', `--now ${nowText} is not a time.`, {
        hint: 'Give an ISO-8601 time, e.g. --now 2026-11-24T09:00:00Z.',
      });
    }
    let report: QualityReport;
    try {
      report = await withContext(values, async (ctx) => (await checkStep(ctx, { now })).report);
    } catch (err) {
      if (!(err instanceof MedallionError && err.code === 'MDL_CHECK_FAILED')) throw err;
      report = err.details['report'] as QualityReport;
    }
    if (values['json']) printJson(report);
    else process.stdout.write(`${formatQualityReport(report)}\n`);
    return report.status === 'fail' ? 1 : 0;
  },
};
