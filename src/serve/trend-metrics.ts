import type { Warehouse } from '../warehouse/warehouse.ts';
import { DISTRICT_DAYS_SQL, type Filters, filterParams } from './filters.ts';
import { jsonRows } from './json-rows.ts';
import { type Published, publish } from './suppression.ts';

/** Gold tables the Trends page reads. */
export const TREND_TABLES = ['fact_district_day'] as const;

/** Attendance of one period (a school day, or a week starting on Monday) in one area. */
export interface TrendPoint {
  /** The day, or the Monday of the week (YYYY-MM-DD). */
  readonly period: string;
  /** `New York City` (of the schools selected) or a borough name. */
  readonly area: string;
  /** Schools reporting (for a week: on its busiest day). */
  readonly schools: number;
  /** Student-days counted in the period. */
  readonly studentDays: Published;
  readonly attendanceRate: Published;
}

/** The body of `GET /api/trends`. */
export interface TrendMetrics {
  readonly minGroupSize: number;
  /** Areas in drawing order: `New York City` first, then the boroughs present. */
  readonly areas: readonly string[];
  readonly daily: readonly TrendPoint[];
  readonly weekly: readonly TrendPoint[];
}

/** SQL of the Trends page; every figure is computed here, on gold. */
export const TREND_SQL = {
  // The selected (day, district) totals into (day, borough) totals, then days and weeks, citywide and by borough.
  points: `
    WITH ${DISTRICT_DAYS_SQL},
    d AS (
      SELECT event_date, coalesce(borough_name, 'Unknown') AS borough,
             sum(schools) AS schools, sum(student_days) AS enrolled, sum(attended) AS attended
      FROM dd
      GROUP BY 1, 2
    ),
    days AS (
      SELECT 'day' AS grain, event_date AS period, borough, schools, enrolled, attended, 1 AS days FROM d
      UNION ALL
      SELECT 'day', event_date, 'New York City', sum(schools), sum(enrolled), sum(attended), 1 FROM d GROUP BY 2
    )
    SELECT grain, strftime(period, '%Y-%m-%d') AS period, borough AS area,
           max(schools)::BIGINT AS schools, sum(enrolled)::BIGINT AS student_days,
           sum(enrolled)::DOUBLE / sum(days) AS daily_students,
           sum(attended)::DOUBLE / nullif(sum(enrolled), 0) AS attendance_rate
    FROM (
      SELECT * FROM days
      UNION ALL
      SELECT 'week', date_trunc('week', period)::DATE, borough, schools, enrolled, attended, days FROM days
    )
    GROUP BY 1, 2, 3`,
} as const;

type SqlRow = {
  grain: 'day' | 'week';
  period: string;
  area: string;
  schools: number;
  student_days: number | null;
  daily_students: number | null;
  attendance_rate: number | null;
};

/**
 * Reads the Trends page: attendance per school day and per week (weeks start on Monday), for the
 * selected schools as a whole and by borough. A period's group size for suppression is its
 * students reporting per school day, on average.
 */
export async function readTrends(
  wh: Warehouse,
  options: { filters: Filters; minGroupSize: number },
): Promise<TrendMetrics> {
  const min = options.minGroupSize;
  const params = filterParams(options.filters);
  const point = (r: SqlRow): TrendPoint => ({
    period: r.period,
    area: r.area,
    schools: r.schools,
    studentDays: publish(r.student_days, r.daily_students, min),
    attendanceRate: publish(r.attendance_rate, r.daily_students, min),
  });
  const rows = await jsonRows<SqlRow>(
    wh,
    TREND_SQL.points,
    params,
    "q.grain, q.period, q.area <> 'New York City', q.area",
  );
  const daily = rows.filter((r) => r.grain === 'day').map(point);
  const weekly = rows.filter((r) => r.grain === 'week').map(point);
  const boroughs = [...new Set(daily.map((p) => p.area).filter((a) => a !== 'New York City'))].sort();
  return { minGroupSize: min, areas: ['New York City', ...boroughs], daily, weekly };
}
