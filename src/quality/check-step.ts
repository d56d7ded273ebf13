import type { PipelineProject } from '../config/project.ts';
import { MedallionError } from '../core/errors.ts';
import { loggedRun } from '../ops/run-log.ts';
import type { Warehouse } from '../warehouse/warehouse.ts';
import { loadChecks } from './check-spec.ts';
import { writeQualityReport } from './quality-store.ts';
import { type EvaluateOptions, evaluateChecks, type QualityReport } from './run-checks.ts';

/** What the checks need: the project (its check files, its data directory) and its warehouse. */
export interface CheckContext {
  readonly project: PipelineProject;
  warehouse(): Promise<Warehouse>;
}

/**
 * Runs every check declared in the project's `checks/` folder against its warehouse and stores the
 * report as the latest (`quality/latest.json` under the data directory). Returns the typed report;
 * never throws for a failing check (see `checkStep`).
 */
export async function runChecks(ctx: CheckContext, options: EvaluateOptions = {}): Promise<QualityReport> {
  const suites = loadChecks(ctx.project);
  const report = await evaluateChecks(await ctx.warehouse(), suites, options);
  await writeQualityReport(ctx.project.paths, report);
  return report;
}

/** The counts a check job reports to the run log and the job observers. */
export interface CheckStepResult {
  readonly status: QualityReport['status'];
  readonly pass: number;
  readonly warn: number;
  readonly fail: number;
  readonly skip: number;
  readonly error: number;
  /** Names of the checks that warned, failed or errored. */
  readonly flagged: readonly string[];
}

/**
 * The `check` job: `runChecks`, logged in the run log and announced to job observers (job name
 * `check`; lineage reads the stored report when it ends). A failed or errored check makes it fail
 * with MDL_CHECK_FAILED after the report is stored (the report is in the error's details).
 */
export async function checkStep(
  ctx: CheckContext,
  options: EvaluateOptions = {},
  parentRunId?: string,
): Promise<{ report: QualityReport; summary: CheckStepResult }> {
  let report: QualityReport | undefined;
  const summary = await loggedRun(
    ctx.project.paths,
    'check',
    async (): Promise<CheckStepResult> => {
      report = await runChecks(ctx, options);
      if (report.status === 'fail') {
        const bad = report.results.filter((r) => r.status === 'fail' || r.status === 'error');
        throw new MedallionError(
          'MDL_CHECK_FAILED',
          `data-quality check${bad.length > 1 ? 's' : ''} failed: ${bad.map((r) => `${r.dataset}.${r.name} — ${r.message}`).join('; ')}`,
          {
            hint: 'See `medallion check` (or `medallion status`) for every result; fix the data or the stream, or the check in checks/.',
            details: { report },
          },
        );
      }
      return checkSummary(report);
    },
    parentRunId,
  );
  return { report: report!, summary };
}

/** The counts of a report as the check job reports them. */
export function checkSummary(report: QualityReport): CheckStepResult {
  const flagged = report.results.filter((r) => r.status === 'warn' || r.status === 'fail' || r.status === 'error');
  return { status: report.status, ...report.counts, flagged: flagged.map((r) => `${r.dataset}.${r.name}`) };
}
