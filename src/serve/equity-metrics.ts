import type { Warehouse } from '../warehouse/warehouse.ts';
import { type Filters, filterParams, SCHOOL_RANGE_SQL, type SchoolMetric, SELECTED_SCHOOLS_SQL } from './filters.ts';
import { type Published, publish } from './suppression.ts';

/** Gold tables the Equity page reads. */
export const EQUITY_TABLES = ['fact_event_metrics', 'fact_school_week', 'dim_school', 'fact_equity_metrics'] as const;

/** Attendance, chronic absence and the equity covariates of one group of schools. */
export interface EquityGroup {
  /** `Q1`…`Q5`/`unknown` for quintiles, a borough name, a two-digit district, or `New York City`. */
  readonly group: string;
  readonly schools: number;
  /** Students reporting (each school's largest daily count in the range, summed). */
  readonly students: Published;
  /** Streaming attendance over the date range: (present + late) / student-days. */
  readonly attendanceRate: Published;
  readonly officialAttendanceRate: Published;
  readonly officialChronicAbsenceRate: Published;
  /** Streaming chronic absence over every day streamed; null when a filter applies (it is per student). */
  readonly streamingChronicAbsenceRate: Published;
  readonly economicNeedIndex: Published;
  readonly shareTemporaryHousing: Published;
  readonly shareEll: Published;
  readonly shareSwd: Published;
}

/** One school on the map. */
export interface MapSchool {
  readonly dbn: string;
  readonly name: string;
  readonly borough: string;
  readonly latitude: number;
  readonly longitude: number;
  readonly value: Published;
}

/** The body of `GET /api/equity`. */
export interface EquityMetrics {
  readonly minGroupSize: number;
  readonly metric: SchoolMetric;
  /** True when a filter applies (streaming chronic absence is then not available). */
  readonly filtered: boolean;
  readonly city: EquityGroup | null;
  readonly quintiles: readonly EquityGroup[];
  readonly boroughs: readonly EquityGroup[];
  readonly districts: readonly EquityGroup[];
  /** Highest-need (Q5) minus lowest-need (Q1) schools; null when either is missing or suppressed. */
  readonly gap: {
    readonly attendanceRate: number | null;
    readonly officialAttendanceRate: number | null;
    readonly officialChronicAbsenceRate: number | null;
  };
  readonly schools: readonly MapSchool[];
}

/** SQL of the Equity page; every figure is computed here, on gold, in one pass over the facts. */
export const EQUITY_SQL = {
  // Groups (city, ENI quintile, borough, district) and, as rows of group_type 'school', every school
  // with coordinates and the metric named by $5, for the map.
  all: `
    WITH ${SELECTED_SCHOOLS_SQL}, ${SCHOOL_RANGE_SQL},
    s AS (SELECT sel.*, e.students, e.student_days, e.attended FROM sel JOIN school_ev e USING (dbn)),
    g AS (
      SELECT
        CASE WHEN grouping(eni_quintile) = 0 THEN 'eni_quintile'
             WHEN grouping(borough_name) = 0 THEN 'borough'
             WHEN grouping(district) = 0 THEN 'district'
             ELSE 'city' END AS group_type,
        CASE WHEN grouping(eni_quintile) = 0 THEN coalesce('Q' || eni_quintile::VARCHAR, 'unknown')
             WHEN grouping(borough_name) = 0 THEN coalesce(borough_name, 'Unknown')
             WHEN grouping(district) = 0 THEN lpad(district::VARCHAR, 2, '0')
             ELSE 'New York City' END AS group_key,
        count(*)::BIGINT AS schools,
        sum(students)::BIGINT AS students,
        sum(attended)::DOUBLE / nullif(sum(student_days), 0) AS attendance_rate,
        sum(official_days_present)::DOUBLE / nullif(sum(official_total_days), 0) AS official_attendance_rate,
        sum(official_chronically_absent)::DOUBLE / nullif(sum(official_students_contributing), 0)
          AS official_chronic_absence_rate,
        sum(official_students_contributing)::BIGINT AS official_students,
        sum(enrollment)::BIGINT AS enrollment,
        sum(economic_need_index * enrollment)::DOUBLE
          / nullif(sum(enrollment) FILTER (WHERE economic_need_index IS NOT NULL), 0) AS economic_need_index,
        sum(share_temporary_housing * enrollment)::DOUBLE
          / nullif(sum(enrollment) FILTER (WHERE share_temporary_housing IS NOT NULL), 0) AS share_temporary_housing,
        sum(share_ell * enrollment)::DOUBLE
          / nullif(sum(enrollment) FILTER (WHERE share_ell IS NOT NULL), 0) AS share_ell,
        sum(share_swd * enrollment)::DOUBLE
          / nullif(sum(enrollment) FILTER (WHERE share_swd IS NOT NULL), 0) AS share_swd
      FROM s
      GROUP BY GROUPING SETS ((), (eni_quintile), (borough_name), (district))
    ),
    grouped AS (
      SELECT g.*, fe.streaming_chronic_absence_rate::DOUBLE AS streaming_chronic_absence_rate,
             fe.students::BIGINT AS stream_students
      FROM g
      LEFT JOIN gold.fact_equity_metrics fe ON fe.group_type = g.group_type AND fe.group_key = g.group_key
    ),
    mapped AS (
    SELECT 'school' AS group_type, sel.dbn AS group_key, sel.school_name, coalesce(sel.borough_name, 'Unknown') AS borough,
           sel.latitude::DOUBLE AS latitude, sel.longitude::DOUBLE AS longitude,
           CASE $5::VARCHAR
             WHEN 'attendance' THEN e.attended::DOUBLE / nullif(e.student_days, 0)
             WHEN 'official_attendance' THEN sel.official_attendance_rate::DOUBLE
             WHEN 'official_chronic_absence' THEN sel.official_chronic_absence_rate::DOUBLE
             WHEN 'economic_need' THEN sel.economic_need_index::DOUBLE
             WHEN 'temporary_housing' THEN sel.share_temporary_housing::DOUBLE
             WHEN 'ell' THEN sel.share_ell::DOUBLE
             WHEN 'swd' THEN sel.share_swd::DOUBLE
           END AS value,
           CASE WHEN $5::VARCHAR = 'attendance' THEN e.students
                WHEN $5::VARCHAR LIKE 'official_%' THEN sel.official_students_contributing
                ELSE sel.enrollment END::BIGINT AS group_size
    FROM sel
    LEFT JOIN school_ev e USING (dbn)
    WHERE sel.latitude IS NOT NULL AND sel.longitude IS NOT NULL
      AND ($5::VARCHAR <> 'attendance' OR e.dbn IS NOT NULL)
    )
    -- Two JSON lists in one row: the groups (~45 rows of many figures) and the map (~1,800 rows of a
    -- few); one list of both, each row carrying every column, was 2.7x the text to write and parse.
    SELECT (SELECT to_json(coalesce(list(g ORDER BY g.group_type, g.group_key), [])) FROM grouped g)::VARCHAR AS groups,
           (SELECT to_json(coalesce(list(m ORDER BY m.group_key), [])) FROM mapped m)::VARCHAR AS schools`,
} as const;

export type MapRow = {
  school_name: string;
  borough: string;
  latitude: number;
  longitude: number;
  value: number | null;
  group_size: number | null;
};

export type GroupRow = {
  group_type: string;
  group_key: string;
  schools: number;
  students: number | null;
  attendance_rate: number | null;
  official_attendance_rate: number | null;
  official_chronic_absence_rate: number | null;
  official_students: number | null;
  enrollment: number | null;
  economic_need_index: number | null;
  share_temporary_housing: number | null;
  share_ell: number | null;
  share_swd: number | null;
  streaming_chronic_absence_rate: number | null;
  stream_students: number | null;
};

/** The rows of {@link EQUITY_SQL}.all: its groups and its map, parsed from their JSON lists. */
export function parseEquityRows(result: readonly { groups: string; schools: string }[]): {
  groups: GroupRow[];
  schools: (MapRow & { group_key: string })[];
} {
  const [row] = result;
  return { groups: JSON.parse(row?.groups ?? '[]'), schools: JSON.parse(row?.schools ?? '[]') };
}

/** Publishes one group of {@link EQUITY_SQL}.all. */
function toGroup(r: GroupRow, min: number, filtered: boolean): EquityGroup {
  return {
    group: r.group_key,
    schools: r.schools,
    students: publish(r.students, r.students, min),
    attendanceRate: publish(r.attendance_rate, r.students, min),
    officialAttendanceRate: publish(r.official_attendance_rate, r.official_students, min),
    officialChronicAbsenceRate: publish(r.official_chronic_absence_rate, r.official_students, min),
    streamingChronicAbsenceRate: filtered ? null : publish(r.streaming_chronic_absence_rate, r.stream_students, min),
    economicNeedIndex: publish(r.economic_need_index, r.enrollment, min),
    shareTemporaryHousing: publish(r.share_temporary_housing, r.enrollment, min),
    shareEll: publish(r.share_ell, r.enrollment, min),
    shareSwd: publish(r.share_swd, r.enrollment, min),
  };
}

function difference(a: Published | undefined, b: Published | undefined): number | null {
  return typeof a === 'number' && typeof b === 'number' ? a - b : null;
}

/**
 * Reads the Equity page from gold: attendance, official chronic absence and the shares of students
 * in temporary housing, ELL and SWD by ENI quintile, borough and district for the schools and days
 * the filters select; the gap between the highest- and lowest-need quintiles; and every school
 * with coordinates and the chosen metric, for the map.
 */
export async function readEquity(
  wh: Warehouse,
  options: { filters: Filters; metric: SchoolMetric; minGroupSize: number },
): Promise<EquityMetrics> {
  const min = options.minGroupSize;
  const f = options.filters;
  const filtered = Boolean(f.borough || f.district || f.from || f.to);
  const params = filterParams(f);
  const { groups: rows, schools } = parseEquityRows(
    await wh.query<{ groups: string; schools: string }>(EQUITY_SQL.all, [...params, options.metric]),
  );
  const of = (type: string) => rows.filter((r) => r.group_type === type).map((r) => toGroup(r, min, filtered));
  const quintiles = of('eni_quintile');
  const q1 = quintiles.find((q) => q.group === 'Q1');
  const q5 = quintiles.find((q) => q.group === 'Q5');
  return {
    minGroupSize: min,
    metric: options.metric,
    filtered,
    city: of('city')[0] ?? null,
    quintiles,
    boroughs: of('borough'),
    districts: of('district'),
    gap: {
      attendanceRate: difference(q5?.attendanceRate, q1?.attendanceRate),
      officialAttendanceRate: difference(q5?.officialAttendanceRate, q1?.officialAttendanceRate),
      officialChronicAbsenceRate: difference(q5?.officialChronicAbsenceRate, q1?.officialChronicAbsenceRate),
    },
    schools: schools.map((s) => ({
      dbn: s.group_key,
      name: s.school_name,
      borough: s.borough,
      latitude: s.latitude,
      longitude: s.longitude,
      value: publish(s.value, s.group_size, min),
    })),
  };
}
