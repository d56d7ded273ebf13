import type { CheckResult, QualityReport } from './run-checks.ts';

const MARK: Readonly<Record<CheckResult['status'], string>> = {
  pass: 'pass',
  warn: 'WARN',
  fail: 'FAIL',
  skip: 'skip',
  error: 'ERROR',
};

/** The report as lines for people: one line per check, worst first, then the counts. */
export function formatQualityReport(report: QualityReport, indent = ''): string {
  const order: readonly CheckResult['status'][] = ['fail', 'error', 'warn', 'pass', 'skip'];
  const results = [...report.results].sort((a, b) => order.indexOf(a.status) - order.indexOf(b.status));
  const width = Math.max(12, ...results.map((r) => `${r.dataset}.${r.name}`.length)) + 2;
  const c = report.counts;
  return [
    `${indent}data-quality checks at ${report.checkedAt}${Math.abs(Date.parse(report.now) - Date.parse(report.checkedAt)) > 1000 ? ` (as of ${report.now})` : ''}: ${report.status.toUpperCase()} — ${c.pass} pass, ${c.warn} warn, ${c.fail} fail, ${c.error} error, ${c.skip} skip`,
    ...results.map(
      (r) => `${indent}  ${MARK[r.status].padEnd(6)}${`${r.dataset}.${r.name}`.padEnd(width)}${r.message}`,
    ),
  ].join('\n');
}
