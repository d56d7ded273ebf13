import { z } from 'zod';

/** Borough letters as DBNs use them, with their names. */
export const BOROUGHS = {
  M: 'Manhattan',
  X: 'Bronx',
  K: 'Brooklyn',
  Q: 'Queens',
  R: 'Staten Island',
} as const;

/** A borough letter (M, X, K, Q, R). */
export type BoroughCode = keyof typeof BOROUGHS;

const isoDate = z.iso.date({ error: 'must be a date written YYYY-MM-DD' });

/** Districts that exist: 1–32 geographic, 75 special education, 79 alternative, 84 charter. */
const district = z
  .string()
  .regex(/^\d{1,2}$/, { error: 'must be a district number (1–32, 75, 79 or 84)' })
  .transform(Number)
  .refine((n) => (n >= 1 && n <= 32) || n === 75 || n === 79 || n === 84, {
    error: 'must be a district number (1–32, 75, 79 or 84)',
  });

/** The filters every page shares, as query parameters: borough, district and a date range. */
export const filterShape = {
  borough: z.enum(Object.keys(BOROUGHS) as [BoroughCode, ...BoroughCode[]]).optional(),
  district: district.optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
};

/** Parsed filters (undefined = not filtered). */
export interface Filters {
  readonly borough?: BoroughCode;
  readonly district?: number;
  readonly from?: string;
  readonly to?: string;
}

function rangeInOrder(f: { from?: string; to?: string }): boolean {
  return !f.from || !f.to || f.from <= f.to;
}
const rangeError = { error: '"from" must not be after "to"', path: ['from'] };

/** Metrics a map or a ranking can colour or sort schools by. */
export const SCHOOL_METRICS = [
  'attendance',
  'official_attendance',
  'official_chronic_absence',
  'economic_need',
  'temporary_housing',
  'ell',
  'swd',
] as const;
export type SchoolMetric = (typeof SCHOOL_METRICS)[number];

/** `GET /api/equity` parameters. */
export const equityQuery = z
  .strictObject({ ...filterShape, metric: z.enum(SCHOOL_METRICS).optional() })
  .refine(rangeInOrder, rangeError);

/** Parameters of endpoints that take the shared filters only (compare, trends). */
export const filterQuery = z.strictObject(filterShape).refine(rangeInOrder, rangeError);

/** `GET /api/schools` parameters: the filters and a search text (name or DBN). */
export const schoolsQuery = z
  .strictObject({
    ...filterShape,
    q: z
      .string()
      .max(60, { error: 'must be at most 60 characters' })
      .regex(/^(?!.*--)[\p{L}\p{N} .,'&()/#-]*$/u, {
        error: "may contain letters, digits, spaces and . , ' & ( ) / # - only (no --)",
      })
      .optional(),
  })
  .refine(rangeInOrder, rangeError);

/** A DBN: two-digit district, borough letter, three-digit number. */
export const dbnSchema = z.string().regex(/^\d{2}[MXKQR]\d{3}$/, { error: 'must be a DBN like 01M015' });

/** `GET /api/school` parameters. */
export const schoolQuery = z
  .strictObject({ dbn: dbnSchema, from: isoDate.optional(), to: isoDate.optional() })
  .refine(rangeInOrder, rangeError);

/** Positional parameters $1–$4 of the filter CTEs below: borough, district, from, to. */
export function filterParams(f: Filters): [string | null, number | null, string | null, string | null] {
  return [f.borough ?? null, f.district ?? null, f.from ?? null, f.to ?? null];
}

/**
 * The shared filter as a SQL CTE, using positional parameters $1 and $2 (borough, district): `sel`
 * holds the schools of `gold.dim_school` that pass.
 */
export const SELECTED_SCHOOLS_SQL = `
  sel AS (
    SELECT * FROM gold.dim_school
    WHERE ($1::VARCHAR IS NULL OR borough_code = $1::VARCHAR)
      AND ($2::INTEGER IS NULL OR district = $2::INTEGER)
  )`;

/**
 * Each school's stream over the date range ($3 from, $4 to; both optional) as a SQL CTE `school_ev`:
 * dbn, students (its largest daily count), student_days and attended (present or late). Whole weeks
 * of the range are read from `gold.fact_school_week`, and only the days of the weeks it covers in
 * part (at its edges) from `gold.fact_event_metrics`; sums and maxima add up exactly, so this equals
 * aggregating the school-days of the range, on ~5x fewer rows. Holds every school that streamed:
 * join it with `sel`.
 */
export const SCHOOL_RANGE_SQL = `
  school_ev AS (
    SELECT dbn, max(students) AS students, sum(student_days) AS student_days, sum(attended) AS attended
    FROM (
      SELECT dbn, max_enrolled AS students, student_days, attended
      FROM gold.fact_school_week
      WHERE ($3::DATE IS NULL OR week_start >= $3::DATE)
        AND ($4::DATE IS NULL OR week_start + 6 <= $4::DATE)
      UNION ALL
      SELECT dbn, enrolled, enrolled, present + late
      FROM gold.fact_event_metrics
      WHERE ($3::DATE IS NOT NULL OR $4::DATE IS NOT NULL)
        AND ($3::DATE IS NULL OR event_date >= $3::DATE)
        AND ($4::DATE IS NULL OR event_date <= $4::DATE)
        AND (($3::DATE IS NOT NULL AND date_trunc('week', event_date)::DATE < $3::DATE)
          OR ($4::DATE IS NOT NULL AND date_trunc('week', event_date)::DATE + 6 > $4::DATE))
    )
    GROUP BY dbn
  )`;

/**
 * The rows of `gold.fact_district_day` (per school day, district and borough) that pass the shared
 * filters $1–$4, as a SQL CTE `dd`.
 */
export const DISTRICT_DAYS_SQL = `
  dd AS (
    SELECT * FROM gold.fact_district_day
    WHERE ($1::VARCHAR IS NULL OR borough_code = $1::VARCHAR)
      AND ($2::INTEGER IS NULL OR district = $2::INTEGER)
      AND ($3::DATE IS NULL OR event_date >= $3::DATE)
      AND ($4::DATE IS NULL OR event_date <= $4::DATE)
  )`;
