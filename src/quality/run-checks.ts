import type { Warehouse } from '../warehouse/warehouse.ts';
import {
  type CheckSpec,
  type CheckSuite,
  type DriftCheck,
  type FreshnessCheck,
  type NullRateCheck,
  tableOf,
  type VolumeCheck,
} from './check-spec.ts';

/** How a check ended: `skip` when there is not enough data to judge, `error` when it could not run. */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip' | 'error';

/** One measured part of a check: a column (null rate), a group (volume, drift) or the whole table. */
export interface CheckDetail {
  /** Column or group name (`*` for the whole table). */
  readonly key: string;
  readonly observed: number | null;
  /** What was expected: the baseline (volume, drift) or the threshold (null rate). */
  readonly expected: number | null;
  /** Whether this part breaks the check's threshold. */
  readonly breach: boolean;
}

/** The outcome of one check: typed, JSON-safe, the same for status, the dashboard and lineage. */
export interface CheckResult {
  readonly name: string;
  readonly type: CheckSpec['type'];
  readonly dataset: string;
  /** Warehouse table read, `schema.table`. */
  readonly table: string;
  /** The level a breach reaches (freshness: `fail` when it has failAfter, else `warn`). */
  readonly severity: 'warn' | 'fail';
  readonly status: CheckStatus;
  /**
   * The headline figure: freshness — age in seconds; volume — largest relative change against the
   * baseline; null_rate — largest share of nulls; drift — weighted mean absolute change.
   */
  readonly observed: number | null;
  /** The threshold the figure is judged against (freshness: the one crossed, else warnAfter). */
  readonly threshold: number | null;
  readonly unit: 'seconds' | 'ratio';
  /** The day judged (volume, null_rate) or the first day of the current window (drift). */
  readonly day: string | null;
  /** Freshness: the newest value of the column (ISO-8601). */
  readonly newest?: string | null;
  /** One sentence for people. */
  readonly message: string;
  readonly details: readonly CheckDetail[];
  readonly description?: string;
}

/** Every check of a run, with the worst status and counts per status. */
export interface QualityReport {
  /** When the checks ran (wall clock). */
  readonly checkedAt: string;
  /** The `now` the checks judged freshness against (injectable; the wall clock by default). */
  readonly now: string;
  /** `fail` when any check failed or errored, else `warn` when any warned, else `pass`. */
  readonly status: 'pass' | 'warn' | 'fail';
  readonly counts: Readonly<Record<CheckStatus, number>>;
  readonly results: readonly CheckResult[];
}

/** Options of a check run. */
export interface EvaluateOptions {
  /** The clock freshness is judged against (default: the wall clock). */
  readonly now?: Date;
}

const DAY_MS = 86_400_000;

function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

function dateLiteral(day: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error(`not a date: ${day}`);
  return `DATE '${day}'`;
}

function formatAge(seconds: number): string {
  const s = Math.abs(seconds);
  if (s < 120) return `${Math.round(seconds)} s`;
  if (s < 7200) return `${Math.round(seconds / 60)} min`;
  if (s < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

type Base = Pick<CheckResult, 'name' | 'type' | 'dataset' | 'table' | 'description'>;

/** Reads the newest distinct days of a date column, newest first. */
async function newestDays(wh: Warehouse, rel: string, dateColumn: string, limit: number): Promise<string[]> {
  const d = wh.quote(dateColumn);
  const rows = await wh.query<{ d: string }>(
    `SELECT DISTINCT CAST(${d} AS DATE) AS d FROM ${rel} WHERE ${d} IS NOT NULL ORDER BY d DESC LIMIT ${limit}`,
  );
  return rows.map((r) => String(r.d).slice(0, 10));
}

async function freshness(wh: Warehouse, rel: string, base: Base, c: FreshnessCheck, now: Date): Promise<CheckResult> {
  const severity = c.failAfter !== undefined ? 'fail' : 'warn';
  const rows = await wh.query<{ newest: string | null }>(`SELECT max(${wh.quote(c.column)}) AS newest FROM ${rel}`);
  const newest = rows[0]?.newest ?? null;
  const common = { ...base, severity, unit: 'seconds', day: null, newest } as const;
  if (newest === null) {
    return {
      ...common,
      status: 'skip',
      observed: null,
      threshold: c.warnAfter ?? c.failAfter ?? null,
      message: `${c.column} has no value yet.`,
      details: [],
    };
  }
  const age = (now.getTime() - Date.parse(newest)) / 1000;
  const failed = c.failAfter !== undefined && age > c.failAfter;
  const warned = !failed && c.warnAfter !== undefined && age > c.warnAfter;
  const threshold = failed ? c.failAfter! : (c.warnAfter ?? c.failAfter!);
  return {
    ...common,
    status: failed ? 'fail' : warned ? 'warn' : 'pass',
    observed: age,
    threshold,
    message: `newest ${c.column} is ${formatAge(age)} old (${failed || warned ? 'over' : 'within'} ${formatAge(threshold)}).`,
    details: [{ key: c.column, observed: age, expected: threshold, breach: failed || warned }],
  };
}

async function volume(wh: Warehouse, rel: string, base: Base, c: VolumeCheck): Promise<CheckResult> {
  const common = { ...base, severity: c.severity, unit: 'ratio', threshold: c.tolerance } as const;
  const days = await newestDays(wh, rel, c.dateColumn, 2);
  if (days.length < 2) {
    return { ...common, status: 'skip', observed: null, day: null, message: 'no complete day yet.', details: [] };
  }
  const day = days[1]!;
  const baseline = Array.from({ length: c.weeks }, (_, k) => addDays(day, -7 * (k + 1)));
  const group =
    c.groupBy === undefined ? `'*'` : typeof c.groupBy === 'string' ? wh.quote(c.groupBy) : `(${c.groupBy.sql})`;
  const d = wh.quote(c.dateColumn);
  const rows = await wh.query<{ d: string; g: string | null; n: number }>(
    `SELECT CAST(${d} AS DATE) AS d, CAST(${group} AS VARCHAR) AS g, count(*) AS n FROM ${rel}
     WHERE CAST(${d} AS DATE) IN (${[day, ...baseline].map(dateLiteral).join(', ')}) GROUP BY 1, 2`,
  );
  const counts = new Map<string, Map<string, number>>();
  for (const r of rows) {
    const dd = String(r.d).slice(0, 10);
    const byGroup = counts.get(dd) ?? new Map<string, number>();
    byGroup.set(r.g ?? 'null', Number(r.n));
    counts.set(dd, byGroup);
  }
  const baseDays = baseline.filter((b) => counts.has(b));
  if (baseDays.length < c.minWeeks) {
    return {
      ...common,
      status: 'skip',
      observed: null,
      day,
      message: `${baseDays.length} of the ${c.weeks} previous same weekdays have data (needs ${c.minWeeks}).`,
      details: [],
    };
  }
  const groups = new Set<string>();
  for (const m of [counts.get(day), ...baseDays.map((b) => counts.get(b))])
    for (const g of m?.keys() ?? []) groups.add(g);
  const details: CheckDetail[] = [...groups].sort().map((g) => {
    const observed = counts.get(day)?.get(g) ?? 0;
    const expected = baseDays.reduce((s, b) => s + (counts.get(b)!.get(g) ?? 0), 0) / baseDays.length;
    const change = expected === 0 ? Number.POSITIVE_INFINITY : Math.abs(observed - expected) / expected;
    return { key: g, observed, expected, breach: change > c.tolerance };
  });
  const changeOf = (x: CheckDetail) =>
    x.expected === 0 ? 1e9 : Math.abs((x.observed ?? 0) - (x.expected ?? 0)) / (x.expected ?? 1);
  const worst = details.reduce((a, b) => (changeOf(b) > changeOf(a) ? b : a));
  const breaches = details.filter((x) => x.breach);
  const label =
    c.groupBy === undefined ? 'rows' : `${typeof c.groupBy === 'string' ? c.groupBy : c.groupBy.name} ${worst.key}`;
  const expected = worst.expected ?? 0;
  return {
    ...common,
    status: breaches.length > 0 ? c.severity : 'pass',
    observed: changeOf(worst),
    day,
    message:
      `${day}: ${label} ${worst.observed} against ${expected.toFixed(1)} on average over ${baseDays.length} previous same weekday(s)` +
      ` (${(worst.observed ?? 0) >= expected ? '+' : '−'}${pct(changeOf(worst))}, tolerance ±${pct(c.tolerance)})` +
      (breaches.length > 1 ? `; ${breaches.length} groups out of tolerance.` : '.'),
    details,
  };
}

async function nullRate(wh: Warehouse, rel: string, base: Base, c: NullRateCheck): Promise<CheckResult> {
  const common = { ...base, severity: c.severity, unit: 'ratio', threshold: c.maxRate } as const;
  const [day] = await newestDays(wh, rel, c.dateColumn, 1);
  if (day === undefined) {
    return { ...common, status: 'skip', observed: null, day: null, message: 'no rows yet.', details: [] };
  }
  const sql = `SELECT count(*) AS n, ${c.columns.map((col, i) => `count(${wh.quote(col)}) AS c${i}`).join(', ')}
     FROM ${rel} WHERE CAST(${wh.quote(c.dateColumn)} AS DATE) = ${dateLiteral(day)}`;
  const row = (await wh.query<Record<string, number>>(sql))[0]!;
  const n = Number(row['n']);
  const details: CheckDetail[] = c.columns.map((col, i) => {
    const rate = n === 0 ? 0 : (n - Number(row[`c${i}`])) / n;
    return { key: col, observed: rate, expected: c.maxRate, breach: rate > c.maxRate };
  });
  const worst = details.reduce((a, b) => ((b.observed ?? 0) > (a.observed ?? 0) ? b : a));
  const breaches = details.filter((x) => x.breach);
  return {
    ...common,
    status: breaches.length > 0 ? c.severity : 'pass',
    observed: worst.observed,
    day,
    message:
      breaches.length > 0
        ? `${day}: ${breaches.map((b) => `${b.key} ${pct(b.observed ?? 0)} null`).join(', ')} (at most ${pct(c.maxRate)}).`
        : `${day}: every column at most ${pct(c.maxRate)} null (highest ${worst.key} ${pct(worst.observed ?? 0)}).`,
    details,
  };
}

async function drift(wh: Warehouse, rel: string, base: Base, c: DriftCheck): Promise<CheckResult> {
  const common = { ...base, severity: c.severity, unit: 'ratio', threshold: c.maxChange } as const;
  const days = (await newestDays(wh, rel, c.dateColumn, c.days + c.baselineDays + 1)).slice(1);
  const current = days.slice(0, c.days);
  const baseline = days.slice(c.days);
  if (current.length < c.days || baseline.length === 0) {
    return {
      ...common,
      status: 'skip',
      observed: null,
      day: null,
      message: `${days.length} complete day(s); needs ${c.days} and a baseline before them.`,
      details: [],
    };
  }
  const q = (s: string) => wh.quote(s);
  const inList = (ds: readonly string[]) => `(${ds.map(dateLiteral).join(', ')})`;
  const w = c.weight === undefined ? '1.0' : `CAST(${q(c.weight)} AS DOUBLE)`;
  const v = `CAST(${q(c.column)} AS DOUBLE)`;
  const d = `CAST(${q(c.dateColumn)} AS DATE)`;
  const rows = await wh.query<{
    g: string;
    cw: number | null;
    cv: number | null;
    bw: number | null;
    bv: number | null;
  }>(
    `SELECT CAST(${q(c.groupBy)} AS VARCHAR) AS g,
            sum(CASE WHEN ${d} IN ${inList(current)} THEN ${w} END) AS cw,
            sum(CASE WHEN ${d} IN ${inList(current)} THEN ${w} * ${v} END) AS cv,
            sum(CASE WHEN ${d} IN ${inList(baseline)} THEN ${w} END) AS bw,
            sum(CASE WHEN ${d} IN ${inList(baseline)} THEN ${w} * ${v} END) AS bv
     FROM ${rel} WHERE ${d} IN ${inList(days)} AND ${v} IS NOT NULL GROUP BY 1`,
  );
  const judged = rows
    .filter((r) => (r.cw ?? 0) > 0 && (r.bw ?? 0) > 0 && r.cw! >= c.minWeight && r.bw! >= c.minWeight)
    .map((r) => {
      const now = r.cv! / r.cw!;
      const before = r.bv! / r.bw!;
      return { key: r.g, now, before, weight: r.cw!, change: Math.abs(now - before) };
    });
  if (judged.length === 0) {
    return {
      ...common,
      status: 'skip',
      observed: null,
      day: current.at(-1)!,
      message: `no ${c.groupBy} has weight ${c.minWeight} in both windows.`,
      details: [],
    };
  }
  const total = judged.reduce((s, x) => s + x.weight, 0);
  const change = judged.reduce((s, x) => s + x.weight * x.change, 0) / total;
  const breach = change > c.maxChange;
  const movers = [...judged].sort((a, b) => b.change - a.change || a.key.localeCompare(b.key)).slice(0, 10);
  return {
    ...common,
    status: breach ? c.severity : 'pass',
    observed: change,
    day: current.at(-1)!,
    message:
      `${current.at(-1)}…${current[0]}: ${c.column} per ${c.groupBy} moved ${change.toFixed(4)} on average against the ${baseline.length} day(s) before` +
      ` (${judged.length} ${c.groupBy} judged; at most ${c.maxChange}).`,
    details: movers.map((m) => ({ key: m.key, observed: m.now, expected: m.before, breach: m.change > c.maxChange })),
  };
}

async function evaluateOne(wh: Warehouse, suite: CheckSuite, c: CheckSpec, now: Date): Promise<CheckResult> {
  const t = tableOf(suite, c);
  const base: Base = {
    name: c.name,
    type: c.type,
    dataset: suite.dataset,
    table: `${t.schema}.${t.name}`,
    ...(c.description ? { description: c.description } : {}),
  };
  const severity = c.type === 'freshness' ? (c.failAfter !== undefined ? 'fail' : 'warn') : c.severity;
  const empty = { ...base, severity, observed: null, threshold: null, unit: 'ratio', day: null, details: [] } as const;
  try {
    const columns = await wh.columns(t.schema, t.name);
    if (columns === undefined) return { ...empty, status: 'skip', message: `${base.table} does not exist yet.` };
    const have = new Set(columns.map((x) => x.name));
    const needed =
      c.type === 'freshness'
        ? [c.column]
        : c.type === 'volume'
          ? [c.dateColumn, ...(typeof c.groupBy === 'string' ? [c.groupBy] : [])]
          : c.type === 'null_rate'
            ? [c.dateColumn, ...c.columns]
            : [c.dateColumn, c.column, c.groupBy, ...(c.weight ? [c.weight] : [])];
    const missing = needed.filter((n) => !have.has(n));
    if (missing.length > 0) {
      return { ...empty, status: 'error', message: `${base.table} has no column ${missing.join(', ')}.` };
    }
    const rel = `${wh.quote(t.schema)}.${wh.quote(t.name)}`;
    switch (c.type) {
      case 'freshness':
        return await freshness(wh, rel, base, c, now);
      case 'volume':
        return await volume(wh, rel, base, c);
      case 'null_rate':
        return await nullRate(wh, rel, base, c);
      case 'drift':
        return await drift(wh, rel, base, c);
    }
  } catch (err) {
    return { ...empty, status: 'error', message: `could not run: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** Summarises results into a report: the worst status and counts per status. */
export function reportOf(results: readonly CheckResult[], now: Date, checkedAt: Date = new Date()): QualityReport {
  const counts: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0, error: 0 };
  for (const r of results) counts[r.status]++;
  return {
    checkedAt: checkedAt.toISOString(),
    now: now.toISOString(),
    status: counts.fail + counts.error > 0 ? 'fail' : counts.warn > 0 ? 'warn' : 'pass',
    counts,
    results,
  };
}

/**
 * Runs every check of `suites` against the warehouse, one after another, set-based in SQL. A check
 * that cannot run (a missing column, an SQL error) ends `error`; a table not built yet, `skip`.
 */
export async function evaluateChecks(
  wh: Warehouse,
  suites: readonly CheckSuite[],
  options: EvaluateOptions = {},
): Promise<QualityReport> {
  const now = options.now ?? new Date();
  const results: CheckResult[] = [];
  for (const suite of suites) for (const c of suite.checks) results.push(await evaluateOne(wh, suite, c, now));
  return reportOf(results, now);
}
