/**
 * dbt's console lines: `1 of 12 START sql table model gold.dim_school .......... [RUN]`, a dotted
 * fill to column 80, then the status in brackets.
 */
export function progressLine(index: number, total: number, text: string, status: string): string {
  const prefix = `${index} of ${total} ${text} `;
  const width = Math.max(3, 80 - prefix.length - status.length - 3);
  return `${prefix}${'.'.repeat(width)} [${status}]`;
}

/** `0.12s` / `1.50s`, as dbt prints durations. */
export function seconds(s: number): string {
  return `${s.toFixed(2)}s`;
}

/** "3 view models, 1 table model, 2 data tests" from counts. */
export function countsPhrase(counts: ReadonlyMap<string, number>): string {
  const parts: string[] = [];
  for (const [what, n] of counts) if (n > 0) parts.push(`${n} ${what}${n === 1 ? '' : 's'}`);
  return parts.join(', ');
}
