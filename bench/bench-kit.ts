/** The last line every benchmark prints (medians; the reference measured in the same run). */
export interface BenchResult {
  readonly bench: string;
  readonly unit: string;
  readonly medallion: number;
  readonly reference: number;
  /** medallion / reference. */
  readonly ratio: number;
  readonly better: 'higher' | 'lower';
  readonly runs: number;
  /** Anything else worth reporting (sizes, percentiles, peak memory…). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Builds the result line from per-run measurements of both sides. */
export function benchResult(
  bench: string,
  unit: string,
  better: 'higher' | 'lower',
  medallion: readonly number[],
  reference: readonly number[],
  details?: Record<string, unknown>,
): BenchResult {
  const m = median(medallion);
  const r = median(reference);
  return {
    bench,
    unit,
    medallion: m,
    reference: r,
    ratio: r === 0 ? 0 : m / r,
    better,
    runs: medallion.length,
    details,
  };
}

/** Progress for people, on stderr. */
export function note(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}
