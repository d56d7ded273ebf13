import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../../../src/config/project.ts';
import { openDuckDb } from '../../../src/engine/duckdb.ts';

/** The gold marts the dashboard reads that are aggregates of the tables below, built by their own model SQL. */
const DERIVED_MARTS = ['fact_school_week', 'fact_district_day'] as const;

/** A mart's model SQL with its refs pointing at the fixture's gold tables. */
async function martSql(name: string): Promise<string> {
  const sql = await readFile(
    join(REPO_ROOT, 'pipelines', 'nyc-schools', 'gold', 'models', 'marts', `${name}.sql`),
    'utf8',
  );
  return sql.replace(/\{\{\s*ref\('(\w+)'\)\s*\}\}/g, 'gold.$1');
}

/** The latest school day in the fixture. */
export const FIXTURE_LATEST = '2018-10-02';
/** The earlier school day in the fixture. */
export const FIXTURE_EARLIER = '2018-10-01';

/**
 * Builds a small warehouse file with the gold tables the dashboard reads, with known numbers (the
 * aggregate marts fact_school_week and fact_district_day by their models' own SQL):
 * seven schools in five boroughs over two days (and an eighth never streamed). 31R030 has an
 * enrollment of 9, so its demographic shares must be published as `s`; 01M015 has two SCD2 versions. On the latest day Staten Island has 7 students
 * (under the minimum group size of 10); quintile Q4 has 9 streaming students, and the schools
 * without an ENI ("unknown") have 8 official students, so those figures must be published as `s`.
 */
export async function buildGoldFixture(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const db = await openDuckDb(path);
  try {
    await db.exec(`
      CREATE SCHEMA gold;
      CREATE TABLE gold.dim_school (
        dbn VARCHAR, school_name VARCHAR, borough_code VARCHAR, borough_name VARCHAR, district INTEGER,
        eni_quintile BIGINT, official_students_contributing BIGINT,
        managed_by VARCHAR, school_category VARCHAR, grades VARCHAR, status VARCHAR, is_open BOOLEAN,
        address VARCHAR, neighborhood VARCHAR, latitude DOUBLE, longitude DOUBLE, enrollment BIGINT,
        economic_need_index DOUBLE, share_poverty DOUBLE, share_ell DOUBLE, share_swd DOUBLE,
        share_temporary_housing DOUBLE, official_attendance_rate DOUBLE, official_chronic_absence_rate DOUBLE,
        official_total_days BIGINT, official_days_present BIGINT, official_chronically_absent BIGINT
      );
      INSERT INTO gold.dim_school VALUES
        ('01M015', 'P.S. 015 Roberto Clemente', 'M', 'Manhattan', 1, 1, 300, 'DOE', 'Elementary', 'PK,0K,01,02,03,04,05',
         'Open', true, '333 EAST 4 STREET', 'Lower East Side', 40.7219, -73.9787, 190, 0.30, 0.40, 0.05, 0.18, 0.03,
         0.95, 0.10, 54000, 51300, 30),
        ('02M020', 'P.S. 020 Anna Silver', 'M', 'Manhattan', 2, 2, 250, 'DOE', 'Elementary', '0K,01,02,03,04,05',
         'Open', true, '166 ESSEX STREET', 'Lower East Side', 40.7208, -73.9866, 250, 0.55, 0.50, 0.10, 0.19, 0.05,
         0.94, 0.16, 45000, 42300, 40),
        ('07X005', 'P.S. 005 Port Morris', 'X', 'Bronx', 7, 5, 400, 'DOE', 'K-8', '0K,01,02,03,04,05,06,07,08',
         'Open', true, '564 JACKSON AVENUE', 'Mott Haven', 40.8110, -73.9090, 400, 0.93, 0.90, 0.19, 0.24, 0.21,
         0.87, 0.34, 72000, 62640, 136),
        ('13K010', 'P.S. 010 Magnet School', 'K', 'Brooklyn', 13, 3, 350, 'DOE', 'Elementary', '0K,01,02,03,04,05',
         'Open', true, '511 7 AVENUE', 'Park Slope', 40.6630, -73.9840, 350, 0.70, 0.70, 0.13, 0.20, 0.08,
         0.94, 0.1886, 63000, 59220, 66),
        ('24Q020', 'P.S. 020 John Bowne', 'Q', 'Queens', 24, 4, 500, 'DOE', 'Elementary', '0K,01,02,03,04,05',
         'Open', true, '142-30 BARCLAY AVENUE', 'Flushing', 40.7590, -73.8230, 500, 0.81, 0.80, 0.15, 0.22, 0.10,
         0.92, 0.24, 90000, 82800, 120),
        ('31R030', 'P.S. 030 Westerleigh', 'R', 'Staten Island', 31, 2, 12, 'DOE', 'Elementary', '0K,01,02,03,04,05',
         'Open', true, '200 NEAL DOW AVENUE', 'Westerleigh', 40.6230, -74.1330, 9, 0.50, 0.30, 0.05, 0.21, 0.03,
         0.93, 0.1667, 2160, 2009, 2),
        ('84X099', 'Charter School of the Bronx', 'X', 'Bronx', 84, NULL, 8, 'Charter', 'Elementary', '0K,01,02',
         'Open', true, '1 CHARTER WAY', 'Hunts Point', 40.8130, -73.8850, 45, NULL, NULL, NULL, NULL, NULL,
         0.91, 0.30, 1440, 1310, 2),
        ('15K999', 'Never streamed school', 'K', 'Brooklyn', 15, NULL, 900, 'DOE', 'High school', '09,10,11,12',
         'Open', true, '1 NOWHERE STREET', 'Red Hook', 40.6760, -74.0090, 900, NULL, NULL, NULL, NULL, NULL,
         0.90, 0.25, 162000, 145800, 225);
      CREATE TABLE gold.school_snapshot (
        dbn VARCHAR, school_name VARCHAR, borough_code VARCHAR, district INTEGER, managed_by VARCHAR,
        school_category VARCHAR, grades VARCHAR, status VARCHAR, is_open BOOLEAN, address VARCHAR,
        latitude DOUBLE, longitude DOUBLE, source_ingested_at TIMESTAMP, dbt_scd_id VARCHAR,
        dbt_updated_at TIMESTAMP, dbt_valid_from TIMESTAMP, dbt_valid_to TIMESTAMP
      );
      INSERT INTO gold.school_snapshot
        SELECT dbn, school_name, borough_code, district, managed_by, school_category, grades, status, is_open,
               address, latitude, longitude, TIMESTAMP '2020-07-01 00:00:00', md5(dbn || '|2020-07-01'),
               TIMESTAMP '2020-07-01 00:00:00', TIMESTAMP '2020-07-01 00:00:00', NULL
        FROM gold.dim_school;
      INSERT INTO gold.school_snapshot VALUES
        ('01M015', 'P.S. 015 Roberto Clemente School', 'M', 1, 'DOE', 'Elementary', '0K,01,02,03,04,05', 'Open', true,
         '333 EAST 4 STREET', 40.7219, -73.9787, TIMESTAMP '2019-07-01 00:00:00', md5('01M015|2019-07-01'),
         TIMESTAMP '2019-07-01 00:00:00', TIMESTAMP '2019-07-01 00:00:00', TIMESTAMP '2020-07-01 00:00:00');
      CREATE TABLE gold.fact_event_metrics (
        dbn VARCHAR, event_date DATE, enrolled BIGINT, present BIGINT, absent BIGINT, late BIGINT,
        excused BIGINT, attendance_rate DOUBLE, late_arriving_events BIGINT, last_event_time TIMESTAMP
      );
      INSERT INTO gold.fact_event_metrics
        SELECT dbn, event_date::DATE, enrolled, present, absent, late, excused,
               round((present + late) / enrolled, 6), 0, event_date::TIMESTAMP + INTERVAL 9 HOUR
        FROM (VALUES
          ('01M015', '${FIXTURE_EARLIER}', 118, 100, 10, 5, 3),
          ('02M020', '${FIXTURE_EARLIER}', 80, 69, 6, 3, 2),
          ('07X005', '${FIXTURE_EARLIER}', 150, 120, 20, 6, 4),
          ('13K010', '${FIXTURE_EARLIER}', 200, 179, 12, 7, 2),
          ('24Q020', '${FIXTURE_EARLIER}', 90, 80, 6, 2, 2),
          ('31R030', '${FIXTURE_EARLIER}', 7, 7, 0, 0, 0),
          ('01M015', '${FIXTURE_LATEST}', 120, 108, 6, 4, 2),
          ('02M020', '${FIXTURE_LATEST}', 80, 70, 5, 3, 2),
          ('07X005', '${FIXTURE_LATEST}', 150, 125, 15, 5, 5),
          ('13K010', '${FIXTURE_LATEST}', 200, 182, 10, 6, 2),
          ('24Q020', '${FIXTURE_LATEST}', 90, 81, 5, 2, 2),
          ('31R030', '${FIXTURE_LATEST}', 7, 6, 1, 0, 0),
          ('84X099', '${FIXTURE_LATEST}', 40, 35, 3, 1, 1)
        ) AS t(dbn, event_date, enrolled, present, absent, late, excused);
      CREATE TABLE gold.fact_equity_metrics (
        group_type VARCHAR, group_key VARCHAR, schools BIGINT, students BIGINT, student_days BIGINT,
        streaming_attendance_rate DOUBLE, official_attendance_rate DOUBLE, attendance_rate_difference DOUBLE,
        streaming_chronic_absence_rate DOUBLE, official_chronic_absence_rate DOUBLE,
        economic_need_index DOUBLE, share_temporary_housing DOUBLE, share_ell DOUBLE, share_swd DOUBLE
      );
      INSERT INTO gold.fact_equity_metrics VALUES
        ('city', 'New York City', 7, 687, 1332, 0.9123, 0.9188, -0.0065, 0.171, 0.2012, 0.71, 0.09, 0.12, 0.2),
        ('borough', 'Staten Island', 1, 7, 14, 0.928571, 0.9301, -0.0015, 0.142857, 0.18, 0.5, 0.03, 0.05, 0.21),
        ('eni_quintile', 'Q1', 1, 120, 238, 0.942017, 0.9511, -0.009083, 0.1, 0.112, 0.32, 0.02, 0.06, 0.18),
        ('eni_quintile', 'Q2', 2, 87, 174, 0.922414, 0.9322, -0.009786, 0.149425, 0.16, 0.55, 0.05, 0.1, 0.19),
        ('eni_quintile', 'Q3', 1, 200, 400, 0.935, 0.9401, -0.0051, 0.165, 0.19, 0.7, 0.08, 0.13, 0.2),
        ('eni_quintile', 'Q4', 1, 9, 180, 0.916667, 0.9205, -0.003833, 0.222222, 0.24, 0.81, 0.1, 0.15, 0.22),
        ('eni_quintile', 'Q5', 1, 150, 300, 0.853333, 0.8702, -0.016867, 0.32, 0.341, 0.93, 0.21, 0.19, 0.24),
        ('eni_quintile', 'unknown', 1, 40, 40, 0.9, 0.91, -0.01, 0.25, 0.3, NULL, NULL, NULL, NULL);
    `);
    for (const mart of DERIVED_MARTS) await db.exec(`CREATE TABLE gold.${mart} AS ${await martSql(mart)}`);
  } finally {
    await db.close();
  }
}
