import type { Warehouse } from '../warehouse/warehouse.ts';
import { FILTERED_SCHOOLS_SQL, type Filters, filterParams } from './filters.ts';
import { type Published, publish } from './suppression.ts';

/** Gold tables the Trends page reads. */
export const TREND_TABLES = ['fact_event_metrics', 'dim_school'] as const;

/** Attendance of one period (a school day, or a week starting on Monday) in one area. */
export interface TrendPoint {
  /** The day, or the Monday of the week (YYYY-MM-DD). */
  readonly period: string;
  /** `New York City` (of the schools selected) or a borough name. */
  readonly area: string;
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
  // $5: 'day' or 'week'.
  points: `
    WITH ${FILTERED_SCHOOLS_SQL},
    e AS (
      SELECT CASE WHEN $5::VARCHAR = 'week' THEN date_trunc('week', ev.event_date)::DATE ELSE ev.event_date END
               AS period,
             ev.event_date, coalesce(sel.borough_name, 'Unknown') AS borough, ev.dbn, ev.enrolled, ev.present, ev.late
      FROM ev JOIN sel USING (dbn)
    )
    SELECT strftime(period, '%Y-%m-%d') AS period,
           CASE WHEN grouping(borough) = 0 THEN borough ELSE 'New York City' END AS area,
           count(DISTINCT dbn)::BIGINT AS schools,
           sum(enrolled)::BIGINT AS student_days,
           sum(enrolled)::DOUBLE / count(DISTINCT event_date) AS daily_students,
           sum(present + late)::DOUBLE / nullif(sum(enrolled), 0) AS attendance_rate
    FROM e
    GROUP BY GROUPING SETS ((period), (period, borough))
    ORDER BY period, grouping(borough) DESC, area`,
} as const;

type SqlRow = {
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
  const daily = (await wh.query<SqlRow>(TREND_SQL.points, [...params, 'day'])).map(point);
  const weekly = (await wh.query<SqlRow>(TREND_SQL.points, [...params, 'week'])).map(point);
  const boroughs = [...new Set(daily.map((p) => p.area).filter((a) => a !== 'New York City'))].sort();
  return { minGroupSize: min, areas: ['New York City', ...boroughs], daily, weekly };
}
