import type { Warehouse } from '../warehouse/warehouse.ts';
import { type Filters, filterParams, SCHOOL_RANGE_SQL, SELECTED_SCHOOLS_SQL } from './filters.ts';
import { jsonRows } from './json-rows.ts';
import { type Published, publish } from './suppression.ts';

/** Gold tables the Schools page reads. */
export const SCHOOLS_TABLES = ['fact_event_metrics', 'fact_school_week', 'dim_school'] as const;
/** Gold tables a school's page reads. */
export const SCHOOL_TABLES = ['fact_event_metrics', 'dim_school', 'school_snapshot'] as const;

/** One row of the searchable schools table. */
export interface SchoolListRow {
  readonly dbn: string;
  readonly name: string;
  readonly district: number;
  readonly borough: string;
  readonly enrollment: Published;
  readonly economicNeedIndex: Published;
  /** Streaming attendance over the date range (null when the school has no events in it). */
  readonly attendanceRate: Published;
}

/** The body of `GET /api/schools`. */
export interface SchoolList {
  readonly minGroupSize: number;
  /** Schools matching, before the cut at `limit`. */
  readonly total: number;
  readonly limit: number;
  readonly schools: readonly SchoolListRow[];
}

/** One school day of one school. */
export interface SchoolDay {
  readonly date: string;
  readonly students: Published;
  readonly present: Published;
  readonly late: Published;
  readonly absent: Published;
  readonly excused: Published;
  readonly attendanceRate: Published;
}

/** One SCD2 version of a school in `gold.school_snapshot`. */
export interface SchoolVersion {
  readonly validFrom: string;
  /** null for the current version. */
  readonly validTo: string | null;
  readonly name: string;
  readonly district: number | null;
  readonly status: string | null;
  readonly isOpen: boolean | null;
  readonly managedBy: string | null;
  readonly category: string | null;
  readonly grades: string | null;
  readonly address: string | null;
}

/** The body of `GET /api/school`. */
export interface SchoolDetail {
  readonly minGroupSize: number;
  readonly school: {
    readonly dbn: string;
    readonly name: string;
    readonly borough: string;
    readonly district: number;
    readonly managedBy: string | null;
    readonly category: string | null;
    readonly grades: string | null;
    readonly status: string | null;
    readonly address: string | null;
    readonly neighborhood: string | null;
    readonly enrollment: Published;
    readonly economicNeedIndex: Published;
    readonly eniQuintile: number | null;
    readonly sharePoverty: Published;
    readonly shareTemporaryHousing: Published;
    readonly shareEll: Published;
    readonly shareSwd: Published;
    readonly officialAttendanceRate: Published;
    readonly officialChronicAbsenceRate: Published;
    /** Streaming attendance over the date range. */
    readonly attendanceRate: Published;
  };
  readonly daily: readonly SchoolDay[];
  readonly history: readonly SchoolVersion[];
}

/** SQL of the Schools pages; every figure is computed here, on gold. */
export const SCHOOL_SQL = {
  // $5: search text (case-insensitive, in the name or the DBN); $6: most rows returned.
  list: `
    WITH ${SELECTED_SCHOOLS_SQL}, ${SCHOOL_RANGE_SQL},
    hits AS (
      SELECT sel.*, e.students, e.student_days, e.attended
      FROM sel LEFT JOIN school_ev e USING (dbn)
      WHERE $5::VARCHAR IS NULL
         OR strpos(lower(sel.school_name), lower($5::VARCHAR)) > 0
         OR strpos(lower(sel.dbn), lower($5::VARCHAR)) > 0
    )
    SELECT dbn, school_name, district::INTEGER AS district, coalesce(borough_name, 'Unknown') AS borough,
           enrollment::BIGINT AS enrollment, economic_need_index::DOUBLE AS economic_need_index,
           students::BIGINT AS students, attended::DOUBLE / nullif(student_days, 0) AS attendance_rate,
           count(*) OVER ()::BIGINT AS total
    FROM hits
    ORDER BY dbn
    LIMIT $6::INTEGER`,
  school: `
    SELECT dbn, school_name, coalesce(borough_name, 'Unknown') AS borough, district::INTEGER AS district,
           managed_by, school_category, grades, status, address, neighborhood,
           enrollment::BIGINT AS enrollment, economic_need_index::DOUBLE AS economic_need_index,
           eni_quintile::INTEGER AS eni_quintile, share_poverty::DOUBLE AS share_poverty,
           share_temporary_housing::DOUBLE AS share_temporary_housing, share_ell::DOUBLE AS share_ell,
           share_swd::DOUBLE AS share_swd, official_attendance_rate::DOUBLE AS official_attendance_rate,
           official_chronic_absence_rate::DOUBLE AS official_chronic_absence_rate,
           official_students_contributing::BIGINT AS official_students
    FROM gold.dim_school WHERE dbn = $1::VARCHAR`,
  daily: `
    SELECT strftime(event_date, '%Y-%m-%d') AS event_date, enrolled::BIGINT AS enrolled,
           present::BIGINT AS present, late::BIGINT AS late, absent::BIGINT AS absent,
           excused::BIGINT AS excused, (present + late)::DOUBLE / nullif(enrolled, 0) AS attendance_rate
    FROM gold.fact_event_metrics
    WHERE dbn = $1::VARCHAR
      AND ($2::DATE IS NULL OR event_date >= $2::DATE)
      AND ($3::DATE IS NULL OR event_date <= $3::DATE)
    ORDER BY event_date`,
  history: `
    SELECT strftime(dbt_valid_from, '%Y-%m-%dT%H:%M:%S') AS valid_from,
           strftime(dbt_valid_to, '%Y-%m-%dT%H:%M:%S') AS valid_to,
           school_name, district::INTEGER AS district, status, is_open, managed_by, school_category,
           grades, address
    FROM gold.school_snapshot
    WHERE dbn = $1::VARCHAR
    ORDER BY dbt_valid_from DESC`,
} as const;

/** Most rows of the schools table in one answer (every NYC school fits). */
export const SCHOOL_LIST_LIMIT = 2500;

/** Reads the schools table: the schools the filters and the search text select, by DBN. */
export async function readSchools(
  wh: Warehouse,
  options: { filters: Filters; q?: string; minGroupSize: number },
): Promise<SchoolList> {
  const min = options.minGroupSize;
  const q = options.q?.trim() ? options.q.trim() : null;
  const rows = await jsonRows<{
    dbn: string;
    school_name: string;
    district: number;
    borough: string;
    enrollment: number | null;
    economic_need_index: number | null;
    students: number | null;
    attendance_rate: number | null;
    total: number;
  }>(wh, SCHOOL_SQL.list, [...filterParams(options.filters), q, SCHOOL_LIST_LIMIT], 'q.dbn');
  return {
    minGroupSize: min,
    total: rows[0]?.total ?? 0,
    limit: SCHOOL_LIST_LIMIT,
    schools: rows.map((r) => ({
      dbn: r.dbn,
      name: r.school_name,
      district: r.district,
      borough: r.borough,
      enrollment: publish(r.enrollment, r.enrollment, min),
      economicNeedIndex: publish(r.economic_need_index, r.enrollment, min),
      attendanceRate: publish(r.attendance_rate, r.students, min),
    })),
  };
}

/**
 * Reads one school's page: its attributes and demographics from `gold.dim_school`, its daily
 * attendance from `gold.fact_event_metrics` and its SCD2 history from `gold.school_snapshot`.
 * Returns undefined when gold has no school with that DBN.
 */
export async function readSchool(
  wh: Warehouse,
  options: { dbn: string; from?: string; to?: string; minGroupSize: number },
): Promise<SchoolDetail | undefined> {
  const min = options.minGroupSize;
  const [s] = await wh.query<{
    dbn: string;
    school_name: string;
    borough: string;
    district: number;
    managed_by: string | null;
    school_category: string | null;
    grades: string | null;
    status: string | null;
    address: string | null;
    neighborhood: string | null;
    enrollment: number | null;
    economic_need_index: number | null;
    eni_quintile: number | null;
    share_poverty: number | null;
    share_temporary_housing: number | null;
    share_ell: number | null;
    share_swd: number | null;
    official_attendance_rate: number | null;
    official_chronic_absence_rate: number | null;
    official_students: number | null;
  }>(SCHOOL_SQL.school, [options.dbn]);
  if (!s) return undefined;
  const days = await jsonRows<{
    event_date: string;
    enrolled: number;
    present: number;
    late: number;
    absent: number;
    excused: number;
    attendance_rate: number | null;
  }>(wh, SCHOOL_SQL.daily, [options.dbn, options.from ?? null, options.to ?? null], 'q.event_date');
  const history = await wh.query<{
    valid_from: string;
    valid_to: string | null;
    school_name: string;
    district: number | null;
    status: string | null;
    is_open: boolean | null;
    managed_by: string | null;
    school_category: string | null;
    grades: string | null;
    address: string | null;
  }>(SCHOOL_SQL.history, [options.dbn]);
  const studentDays = days.reduce((n, d) => n + d.enrolled, 0);
  const attended = days.reduce((n, d) => n + d.present + d.late, 0);
  const students = days.reduce((n, d) => Math.max(n, d.enrolled), 0);
  const byEnrollment = (v: number | null) => publish(v, s.enrollment, min);
  return {
    minGroupSize: min,
    school: {
      dbn: s.dbn,
      name: s.school_name,
      borough: s.borough,
      district: s.district,
      managedBy: s.managed_by,
      category: s.school_category,
      grades: s.grades,
      status: s.status,
      address: s.address,
      neighborhood: s.neighborhood,
      enrollment: byEnrollment(s.enrollment),
      economicNeedIndex: byEnrollment(s.economic_need_index),
      eniQuintile: s.eni_quintile,
      sharePoverty: byEnrollment(s.share_poverty),
      shareTemporaryHousing: byEnrollment(s.share_temporary_housing),
      shareEll: byEnrollment(s.share_ell),
      shareSwd: byEnrollment(s.share_swd),
      officialAttendanceRate: publish(s.official_attendance_rate, s.official_students, min),
      officialChronicAbsenceRate: publish(s.official_chronic_absence_rate, s.official_students, min),
      attendanceRate: publish(studentDays > 0 ? attended / studentDays : null, students, min),
    },
    daily: days.map((d) => ({
      date: d.event_date,
      students: publish(d.enrolled, d.enrolled, min),
      present: publish(d.present, d.enrolled, min),
      late: publish(d.late, d.enrolled, min),
      absent: publish(d.absent, d.enrolled, min),
      excused: publish(d.excused, d.enrolled, min),
      attendanceRate: publish(d.attendance_rate, d.enrolled, min),
    })),
    history: history.map((h) => ({
      validFrom: h.valid_from,
      validTo: h.valid_to,
      name: h.school_name,
      district: h.district,
      status: h.status,
      isOpen: h.is_open,
      managedBy: h.managed_by,
      category: h.school_category,
      grades: h.grades,
      address: h.address,
    })),
  };
}
