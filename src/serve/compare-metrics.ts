import type { Warehouse } from '../warehouse/warehouse.ts';
import { DISTRICT_DAYS_SQL, type Filters, filterParams, SCHOOL_RANGE_SQL, SELECTED_SCHOOLS_SQL } from './filters.ts';
import { jsonRows } from './json-rows.ts';
import { type Published, publish } from './suppression.ts';

/** Gold tables the Streaming vs batch page reads. */
export const COMPARE_TABLES = ['fact_event_metrics', 'fact_school_week', 'fact_district_day', 'dim_school'] as const;

/** Streaming-derived attendance of a school or a district against its official end-of-year figure. */
export interface CompareRow {
  /** DBN, or two-digit district. */
  readonly key: string;
  /** School name, or district type. */
  readonly name: string;
  readonly borough: string;
  readonly schools: number;
  readonly students: Published;
  readonly streamingAttendanceRate: Published;
  readonly officialAttendanceRate: Published;
  /** streaming − official; null when either is missing or suppressed. */
  readonly difference: number | null;
}

/** The body of `GET /api/compare`. */
export interface CompareMetrics {
  readonly minGroupSize: number;
  /** School days streamed in the range. */
  readonly days: number;
  /** Ranked by the size of the difference, largest first; suppressed rows last. */
  readonly schools: readonly CompareRow[];
  readonly districts: readonly CompareRow[];
  /** Over the schools with both figures published. */
  readonly summary: {
    readonly compared: number;
    readonly medianAbsoluteDifference: number | null;
    readonly meanDifference: number | null;
    readonly within1Point: number;
  };
}

/** SQL of the Streaming vs batch page; every figure is computed here, on gold. */
export const COMPARE_SQL = {
  rows: `
    WITH ${SELECTED_SCHOOLS_SQL}, ${SCHOOL_RANGE_SQL},
    s AS (SELECT sel.*, e.students, e.student_days, e.attended FROM sel JOIN school_ev e USING (dbn)),
    g AS (
      SELECT
        CASE WHEN grouping(dbn) = 0 THEN 'school' ELSE 'district' END AS level,
        CASE WHEN grouping(dbn) = 0 THEN dbn ELSE lpad(district::VARCHAR, 2, '0') END AS key,
        CASE WHEN grouping(dbn) = 0 THEN any_value(school_name)
             WHEN district BETWEEN 1 AND 32 THEN 'District ' || district::VARCHAR
             WHEN district = 75 THEN 'District 75 (special education)'
             WHEN district = 79 THEN 'District 79 (alternative)'
             WHEN district = 84 THEN 'District 84 (charter)'
             ELSE 'District ' || district::VARCHAR END AS name,
        CASE WHEN count(DISTINCT borough_name) = 1 THEN any_value(borough_name) ELSE 'Citywide' END AS borough,
        count(*)::BIGINT AS schools,
        sum(students)::BIGINT AS students,
        sum(attended)::DOUBLE / nullif(sum(student_days), 0) AS streaming_rate,
        sum(official_days_present)::DOUBLE / nullif(sum(official_total_days), 0) AS official_rate,
        sum(official_students_contributing)::BIGINT AS official_students
      FROM s
      GROUP BY GROUPING SETS ((district, dbn), (district))
    )
    SELECT * FROM g`,
  days: `WITH ${DISTRICT_DAYS_SQL} SELECT count(DISTINCT event_date)::BIGINT AS days FROM dd`,
} as const;

type SqlRow = {
  level: 'school' | 'district';
  key: string;
  name: string;
  borough: string | null;
  schools: number;
  students: number | null;
  streaming_rate: number | null;
  official_rate: number | null;
  official_students: number | null;
};

function toRow(r: SqlRow, min: number): CompareRow {
  const streamingAttendanceRate = publish(r.streaming_rate, r.students, min);
  const officialAttendanceRate = publish(r.official_rate, r.official_students, min);
  return {
    key: r.key,
    name: r.name,
    borough: r.borough ?? 'Unknown',
    schools: r.schools,
    students: publish(r.students, r.students, min),
    streamingAttendanceRate,
    officialAttendanceRate,
    difference:
      typeof streamingAttendanceRate === 'number' && typeof officialAttendanceRate === 'number'
        ? streamingAttendanceRate - officialAttendanceRate
        : null,
  };
}

/** Ranks by |difference|, largest first; rows without one (suppressed or missing) last. */
function ranked(rows: CompareRow[]): CompareRow[] {
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => {
      const da = a.r.difference === null ? -1 : Math.abs(a.r.difference);
      const db = b.r.difference === null ? -1 : Math.abs(b.r.difference);
      return db - da || a.i - b.i;
    })
    .map(({ r }) => r);
}

/**
 * Reads the Streaming vs batch page: each school's and district's attendance from the stream over
 * the date range next to the official end-of-year figure of the same schools, ranked by the size of
 * the difference, and a summary of how close they are.
 */
export async function readCompare(
  wh: Warehouse,
  options: { filters: Filters; minGroupSize: number },
): Promise<CompareMetrics> {
  const min = options.minGroupSize;
  const params = filterParams(options.filters);
  const rows = await jsonRows<SqlRow>(
    wh,
    COMPARE_SQL.rows,
    params,
    'q.level, abs(q.streaming_rate - q.official_rate) DESC NULLS LAST, q.key',
  );
  const [days] = await wh.query<{ days: number }>(COMPARE_SQL.days, params);
  const schools = ranked(rows.filter((r) => r.level === 'school').map((r) => toRow(r, min)));
  const districts = ranked(rows.filter((r) => r.level === 'district').map((r) => toRow(r, min)));
  const diffs = schools.flatMap((s) => (s.difference === null ? [] : [s.difference]));
  const abs = diffs.map(Math.abs).sort((a, b) => a - b);
  const mid = Math.floor(abs.length / 2);
  return {
    minGroupSize: min,
    days: days?.days ?? 0,
    schools,
    districts,
    summary: {
      compared: diffs.length,
      medianAbsoluteDifference: abs.length === 0 ? null : abs.length % 2 ? abs[mid]! : (abs[mid - 1]! + abs[mid]!) / 2,
      meanDifference: diffs.length === 0 ? null : diffs.reduce((a, b) => a + b, 0) / diffs.length,
      within1Point: abs.filter((d) => d <= 0.01).length,
    },
  };
}
