import type { PipelineProject } from '../config/project.ts';
import { MedallionError } from '../core/errors.ts';
import { type CsvTable, readCsvTable } from './parse-csv.ts';

/** The DBN pattern: two-digit district, borough letter, three-digit number. */
export const DBN_PATTERN = /^\d{2}[MXKQR]\d{3}$/;

/** Where a calibration figure comes from: the school's own row, its district's mean or the city's mean. */
export type CalibrationSource = 'school' | 'district' | 'city';

/** A school the simulator draws students for, with the official figures it is calibrated to. */
export interface CalibratedSchool {
  readonly dbn: string;
  readonly name: string;
  /** Two-digit district from the DBN (01–32, 75, 79, 84). */
  readonly district: string;
  /** Borough letter from the DBN (M, X, K, Q, R). */
  readonly borough: string;
  /** Total enrollment in the demographic snapshot of `enrollmentYear`. */
  readonly enrollment: number;
  /** Official attendance % (0–100) of `attendanceYear`, or the fallback mean. */
  readonly attendancePct: number;
  /** Official chronic-absence % (0–100) of `attendanceYear`, or the fallback mean. */
  readonly chronicAbsentPct: number;
  readonly attendanceSource: CalibrationSource;
  readonly chronicSource: CalibrationSource;
}

/** What the simulator takes from the reference files. */
export interface ReferenceData {
  readonly enrollmentYear: string;
  readonly attendanceYear: string;
  /** Open schools with enrollment, sorted by DBN. */
  readonly schools: readonly CalibratedSchool[];
  /** Every DBN-shaped value found anywhere in any reference file (unknown-school records avoid them). */
  readonly knownDbns: ReadonlySet<string>;
}

function referenceTable(project: PipelineProject, dataset: string): CsvTable {
  const ref = project.config.reference.find((r) => r.dataset === dataset);
  if (!ref) {
    throw new MedallionError('MDL_CONFIG_INVALID', `The simulator needs the reference dataset "${dataset}".`, {
      hint: `Declare it under \`reference:\` in ${project.configPath}.`,
    });
  }
  return readCsvTable(project.resolve(ref.file));
}

/** A published number, or undefined for suppressed (`s`), empty or otherwise non-numeric text. */
function parseNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^-?\d+(\.\d+)?$/.test(t)) return undefined;
  return Number(t);
}

function mean(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

interface Fallback {
  readonly byDistrict: Map<string, number>;
  readonly city: number;
}

function fallbackMeans(values: ReadonlyMap<string, number>): Fallback {
  const groups = new Map<string, number[]>();
  for (const [dbn, v] of values) {
    const d = dbn.slice(0, 2);
    let g = groups.get(d);
    if (!g) {
      g = [];
      groups.set(d, g);
    }
    g.push(v);
  }
  const byDistrict = new Map<string, number>();
  for (const [d, g] of groups) byDistrict.set(d, mean(g)!);
  return { byDistrict, city: mean([...values.values()]) ?? Number.NaN };
}

function calibrated(
  dbn: string,
  values: ReadonlyMap<string, number>,
  fallback: Fallback,
): { value: number; source: CalibrationSource } {
  const own = values.get(dbn);
  if (own !== undefined) return { value: own, source: 'school' };
  const district = fallback.byDistrict.get(dbn.slice(0, 2));
  if (district !== undefined) return { value: district, source: 'district' };
  return { value: fallback.city, source: 'city' };
}

/**
 * Reads the reference files and calibrates the simulated schools:
 * - schools are the `Open` rows of school_locations, one per `system_code` (DBN, first row kept),
 *   with a well-formed DBN, that have a positive `Total Enrollment` in demographic_snapshot for
 *   `simulate.enrollmentYear`;
 * - attendance % and chronic-absence % come from the attendance file's `All Grades` / `All Students`
 *   row for `simulate.attendanceYear`; a missing or non-numeric figure falls back to the unweighted
 *   mean of the published figures of the school's district (from its DBN) that year, then to the
 *   citywide mean.
 */
export async function loadReferenceData(project: PipelineProject): Promise<ReferenceData> {
  const { enrollmentYear, attendanceYear } = project.config.simulate;
  const locations = referenceTable(project, 'school_locations');
  const snapshot = referenceTable(project, 'demographic_snapshot');
  const attendance = referenceTable(project, 'attendance');

  const knownDbns = new Set<string>();
  const tables = new Map<string, CsvTable>([
    ['school_locations', locations],
    ['demographic_snapshot', snapshot],
    ['attendance', attendance],
  ]);
  for (const ref of project.config.reference) {
    const table = tables.get(ref.dataset) ?? readCsvTable(project.resolve(ref.file));
    for (const row of table.rows) for (const cell of row) if (DBN_PATTERN.test(cell)) knownDbns.add(cell);
  }

  const lDbn = locations.column('system_code');
  const lStatus = locations.column('status_descriptions');
  const lName = locations.column('location_name');
  const open = new Map<string, string>();
  for (const row of locations.rows) {
    const dbn = row[lDbn] ?? '';
    if (row[lStatus] !== 'Open' || !DBN_PATTERN.test(dbn) || open.has(dbn)) continue;
    open.set(dbn, row[lName] ?? '');
  }

  const sDbn = snapshot.column('DBN');
  const sYear = snapshot.column('Year');
  const sEnrollment = snapshot.column('Total Enrollment');
  const enrollment = new Map<string, number>();
  for (const row of snapshot.rows) {
    if (row[sYear] !== enrollmentYear) continue;
    const dbn = row[sDbn] ?? '';
    const n = parseNumber(row[sEnrollment]);
    if (n !== undefined && !enrollment.has(dbn)) enrollment.set(dbn, n);
  }

  const aDbn = attendance.column('dbn');
  const aYear = attendance.column('year');
  const aGrade = attendance.column('grade');
  const aCategory = attendance.column('category');
  const aRate = attendance.column('attendance');
  const aChronic = attendance.column('chronically_absent_1');
  const rates = new Map<string, number>();
  const chronic = new Map<string, number>();
  for (const row of attendance.rows) {
    if (row[aYear] !== attendanceYear || row[aGrade] !== 'All Grades' || row[aCategory] !== 'All Students') continue;
    const dbn = row[aDbn] ?? '';
    const r = parseNumber(row[aRate]);
    const c = parseNumber(row[aChronic]);
    if (r !== undefined && r >= 0 && r <= 100 && !rates.has(dbn)) rates.set(dbn, r);
    if (c !== undefined && c >= 0 && c <= 100 && !chronic.has(dbn)) chronic.set(dbn, c);
  }
  if (rates.size === 0 || chronic.size === 0) {
    throw new MedallionError('MDL_REFERENCE_INVALID', `The attendance file has no figures for ${attendanceYear}.`, {
      hint: 'Set simulate.attendanceYear to a school year the attendance file covers (e.g. 2018-19).',
    });
  }
  const rateFallback = fallbackMeans(rates);
  const chronicFallback = fallbackMeans(chronic);

  const schools: CalibratedSchool[] = [];
  for (const dbn of [...open.keys()].sort()) {
    const n = enrollment.get(dbn);
    if (n === undefined || n <= 0) continue;
    const a = calibrated(dbn, rates, rateFallback);
    const c = calibrated(dbn, chronic, chronicFallback);
    schools.push({
      dbn,
      name: open.get(dbn)!,
      district: dbn.slice(0, 2),
      borough: dbn.charAt(2),
      enrollment: n,
      attendancePct: a.value,
      chronicAbsentPct: c.value,
      attendanceSource: a.source,
      chronicSource: c.source,
    });
  }
  if (schools.length === 0) {
    throw new MedallionError('MDL_REFERENCE_INVALID', `No open school has enrollment for ${enrollmentYear}.`, {
      hint: 'Set simulate.enrollmentYear to a school year of the demographic snapshot (e.g. 2017-18).',
    });
  }
  return { enrollmentYear, attendanceYear, schools, knownDbns };
}

/** The simulated schools with their calibrated figures (see `loadReferenceData`). */
export async function calibrateSchools(project: PipelineProject): Promise<readonly CalibratedSchool[]> {
  return (await loadReferenceData(project)).schools;
}
