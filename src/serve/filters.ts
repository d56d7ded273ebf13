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

/** Positional parameters of {@link FILTERED_SCHOOLS_SQL}: borough, district, from, to. */
export function filterParams(f: Filters): [string | null, number | null, string | null, string | null] {
  return [f.borough ?? null, f.district ?? null, f.from ?? null, f.to ?? null];
}

/**
 * The shared filter as SQL CTEs, using positional parameters $1–$4 (borough, district, from, to):
 * `sel` holds the schools of `gold.dim_school` that pass, `ev` their rows of
 * `gold.fact_event_metrics` within the date range.
 */
export const FILTERED_SCHOOLS_SQL = `
  sel AS (
    SELECT * FROM gold.dim_school
    WHERE ($1::VARCHAR IS NULL OR borough_code = $1::VARCHAR)
      AND ($2::INTEGER IS NULL OR district = $2::INTEGER)
  ),
  ev AS (
    SELECT f.* FROM gold.fact_event_metrics f
    WHERE f.dbn IN (SELECT dbn FROM sel)
      AND ($3::DATE IS NULL OR f.event_date >= $3::DATE)
      AND ($4::DATE IS NULL OR f.event_date <= $4::DATE)
  )`;
