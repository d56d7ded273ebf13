import type { Warehouse } from '../warehouse/warehouse.ts';
import { type Published, publish } from './suppression.ts';

/** Gold tables the "Now" page reads. */
export const NOW_TABLES = ['fact_event_metrics', 'dim_school', 'fact_equity_metrics'] as const;

/** Attendance of one school day, citywide. */
export interface CitywideNow {
  /** Schools with at least one attendance event that day. */
  readonly schools: number;
  /** Student-days counted that day (one per student reporting). */
  readonly students: Published;
  /** (present + late) / students. */
  readonly attendanceRate: Published;
}

/** Attendance of one school day in one borough. */
export interface BoroughNow {
  readonly borough: string;
  readonly schools: number;
  readonly students: Published;
  readonly attendanceRate: Published;
}

/** Streaming vs official attendance and chronic absence of one ENI quintile, over every day streamed. */
export interface EquityRow {
  /** `Q1` (lowest economic need) … `Q5` (highest), or `unknown` for schools without an ENI. */
  readonly group: string;
  readonly schools: number;
  /** Students seen in the stream. */
  readonly students: Published;
  readonly streamingAttendanceRate: Published;
  readonly officialAttendanceRate: Published;
  readonly streamingChronicAbsenceRate: Published;
  readonly officialChronicAbsenceRate: Published;
}

/** The body of `GET /api/now`. */
export interface NowMetrics {
  /** The school day shown (YYYY-MM-DD): the latest event_date in gold unless one was asked for; null when gold has no events. */
  readonly date: string | null;
  /** Figures resting on fewer students than this are published as `s`. */
  readonly minGroupSize: number;
  /** School days in the stream so far: the span the equity figures cover. */
  readonly streamedDays: number;
  /** The newest event time in gold (the stream's clock, YYYY-MM-DDTHH:MM:SS); null without events. */
  readonly newestEventTime: string | null;
  readonly citywide: CitywideNow | null;
  readonly boroughs: readonly BoroughNow[];
  readonly equity: readonly EquityRow[];
}

/** SQL of the "Now" page; every figure is computed here, on gold. */
export const NOW_SQL = {
  latestDate: `SELECT strftime(max(event_date), '%Y-%m-%d') AS event_date,
                      count(DISTINCT event_date)::BIGINT AS days,
                      strftime(max(last_event_time), '%Y-%m-%dT%H:%M:%S') AS newest_event_time
               FROM gold.fact_event_metrics`,
  hasDate: `SELECT count(*)::BIGINT AS n FROM gold.fact_event_metrics WHERE event_date = CAST(? AS DATE)`,
  citywide: `
    SELECT count(DISTINCT dbn)::BIGINT AS schools,
           sum(enrolled)::BIGINT AS students,
           sum(present + late)::DOUBLE / nullif(sum(enrolled), 0) AS attendance_rate
    FROM gold.fact_event_metrics
    WHERE event_date = CAST(? AS DATE)`,
  boroughs: `
    SELECT coalesce(s.borough_name, 'Unknown') AS borough,
           count(DISTINCT f.dbn)::BIGINT AS schools,
           sum(f.enrolled)::BIGINT AS students,
           sum(f.present + f.late)::DOUBLE / nullif(sum(f.enrolled), 0) AS attendance_rate
    FROM gold.fact_event_metrics f
    LEFT JOIN gold.dim_school s ON s.dbn = f.dbn
    WHERE f.event_date = CAST(? AS DATE)
    GROUP BY 1
    ORDER BY 1`,
  // The official figures of fact_equity_metrics rest on the official students of the streamed
  // schools (the same schools fact_equity_metrics aggregates), so that is the group size for them.
  equity: `
    WITH streamed AS (SELECT DISTINCT dbn FROM gold.fact_event_metrics),
    official AS (
      SELECT coalesce('Q' || d.eni_quintile::VARCHAR, 'unknown') AS group_key,
             sum(d.official_students_contributing)::BIGINT AS official_students
      FROM gold.dim_school d
      JOIN streamed USING (dbn)
      GROUP BY 1
    )
    SELECT e.group_key,
           e.schools::BIGINT AS schools,
           e.students::BIGINT AS students,
           e.streaming_attendance_rate::DOUBLE AS streaming_attendance_rate,
           e.official_attendance_rate::DOUBLE AS official_attendance_rate,
           e.streaming_chronic_absence_rate::DOUBLE AS streaming_chronic_absence_rate,
           e.official_chronic_absence_rate::DOUBLE AS official_chronic_absence_rate,
           o.official_students
    FROM gold.fact_equity_metrics e
    LEFT JOIN official o USING (group_key)
    WHERE e.group_type = 'eni_quintile'
    ORDER BY e.group_key`,
  dates: `
    SELECT strftime(event_date, '%Y-%m-%d') AS event_date
    FROM gold.fact_event_metrics
    GROUP BY event_date
    ORDER BY event_date DESC
    LIMIT ?`,
} as const;

type CountsRow = {
  schools: number;
  students: number | null;
  attendance_rate: number | null;
};

type EquitySqlRow = {
  group_key: string;
  schools: number;
  students: number | null;
  streaming_attendance_rate: number | null;
  official_attendance_rate: number | null;
  streaming_chronic_absence_rate: number | null;
  official_chronic_absence_rate: number | null;
  official_students: number | null;
};

/**
 * Reads the "Now" page from gold: the citywide attendance of one school day (the latest unless
 * `date` is given), the same by borough, and streaming vs official figures by ENI quintile.
 * Returns undefined when `date` is given and gold has no events that day. Figures resting on fewer
 * than `minGroupSize` students are replaced by `s` here, so they never leave the server.
 */
export async function readNow(
  wh: Warehouse,
  options: { date?: string; minGroupSize: number },
): Promise<NowMetrics | undefined> {
  const min = options.minGroupSize;
  if (options.date) {
    const [found] = await wh.query<{ n: number }>(NOW_SQL.hasDate, [options.date]);
    if (!found || found.n === 0) return undefined;
  }
  const [latest] = await wh.query<{ event_date: string | null; days: number; newest_event_time: string | null }>(
    NOW_SQL.latestDate,
  );
  const date = options.date ?? latest?.event_date ?? null;
  const streamedDays = latest?.days ?? 0;
  const newestEventTime = latest?.newest_event_time ?? null;
  const equity = (await wh.query<EquitySqlRow>(NOW_SQL.equity)).map(
    (r): EquityRow => ({
      group: r.group_key,
      schools: r.schools,
      students: publish(r.students, r.students, min),
      streamingAttendanceRate: publish(r.streaming_attendance_rate, r.students, min),
      officialAttendanceRate: publish(r.official_attendance_rate, r.official_students, min),
      streamingChronicAbsenceRate: publish(r.streaming_chronic_absence_rate, r.students, min),
      officialChronicAbsenceRate: publish(r.official_chronic_absence_rate, r.official_students, min),
    }),
  );
  if (date === null)
    return { date, minGroupSize: min, streamedDays, newestEventTime, citywide: null, boroughs: [], equity };
  const [city] = await wh.query<CountsRow>(NOW_SQL.citywide, [date]);
  const boroughs = await wh.query<CountsRow & { borough: string }>(NOW_SQL.boroughs, [date]);
  return {
    date,
    minGroupSize: min,
    streamedDays,
    newestEventTime,
    citywide: city
      ? {
          schools: city.schools,
          students: publish(city.students, city.students, min),
          attendanceRate: publish(city.attendance_rate, city.students, min),
        }
      : null,
    boroughs: boroughs.map((b) => ({
      borough: b.borough,
      schools: b.schools,
      students: publish(b.students, b.students, min),
      attendanceRate: publish(b.attendance_rate, b.students, min),
    })),
    equity,
  };
}

/** The school days gold has events for, latest first (at most `limit`). */
export async function readDates(wh: Warehouse, limit = 400): Promise<string[]> {
  const rows = await wh.query<{ event_date: string }>(NOW_SQL.dates, [limit]);
  return rows.map((r) => r.event_date);
}
