import type { PipelineProject } from '../config/project.ts';
import { type CalibratedSchool, loadReferenceData } from './calibrate-schools.ts';
import { mix, seedWord, toUnit } from './seeded-random.ts';

/** Chronically absent students attend each day with a probability drawn from U(0.55, 0.88). */
export const CHRONIC_ATTENDANCE_RANGE = [0.55, 0.88] as const;
/** The other students' probability is clipped to this range. */
export const REGULAR_ATTENDANCE_RANGE = [0.5, 0.995] as const;

/** A calibrated school with the students the plan drew for it. */
export interface PlannedSchool extends CalibratedSchool {
  /** Index in `SimulationPlan.schools`. */
  readonly index: number;
  /** Global index of its first student (its students are `firstStudent … firstStudent + enrollment - 1`). */
  readonly firstStudent: number;
  /** Students drawn as chronically absent. */
  readonly chronicStudents: number;
  /** Daily attendance probability of its other students. */
  readonly regularAttendanceProbability: number;
  /** Mean daily attendance probability of all its students, in % (the official figure unless clipping bit). */
  readonly expectedAttendancePct: number;
}

/**
 * Every simulated student of the city: which school, whether chronically absent, and the daily
 * attendance probability. Students are numbered globally in school (DBN) order. Student ids do
 * not depend on the seed (a student is the same person in every run); chronic status and
 * probabilities do.
 */
export interface SimulationPlan {
  readonly seed: number;
  readonly enrollmentYear: string;
  readonly attendanceYear: string;
  readonly schools: readonly PlannedSchool[];
  /** Number of students (the sum of enrollments). */
  readonly students: number;
  /** Every DBN-shaped value in the reference files. */
  readonly knownDbns: ReadonlySet<string>;
  /** Per student: index of the school. */
  readonly studentSchool: Uint16Array | Uint32Array;
  /** Per student: 1 when chronically absent. */
  readonly chronic: Uint8Array;
  /** Per student: probability of attending on a school day. */
  readonly attendProbability: Float64Array;
}

const ID_BASE = 100_000_000;
const ID_SPACE = 900_000_000;
const ID_MULTIPLIER = 2_654_435_761;
const ID_OFFSET = 104_729_113;

/**
 * The 9-digit student id (like an NYC OSIS number) of the student with global index `g`:
 * an affine bijection of `g` modulo 900,000,000 (the multiplier is coprime with it), offset into
 * 100000000–999999999, so ids are unique and look unordered.
 */
export function studentIdOf(g: number): string {
  return String(studentNumberOf(g));
}

const ID_HI = Math.floor(ID_MULTIPLIER / 65536);
const ID_LO = ID_MULTIPLIER % 65536;

/** `studentIdOf(g)` as a number. */
export function studentNumberOf(g: number): number {
  return ID_BASE + ((((g * ID_HI) % ID_SPACE) * 65536 + g * ID_LO + ID_OFFSET) % ID_SPACE);
}

function clip(x: number, [lo, hi]: readonly [number, number]): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/**
 * Draws the student population for `seed` (default `simulate.seed`): each student is chronically
 * absent with the school's chronic-absence share and then attends with a probability from
 * U(0.55, 0.88); the school's other students share the probability that makes the school's
 * expected attendance equal its official figure, clipped to [0.5, 0.995].
 */
export async function simulationPlan(
  project: PipelineProject,
  options: { seed?: number } = {},
): Promise<SimulationPlan> {
  const seed = options.seed ?? project.config.simulate.seed;
  const ref = await loadReferenceData(project);
  const total = ref.schools.reduce((s, x) => s + x.enrollment, 0);
  const studentSchool = ref.schools.length <= 65535 ? new Uint16Array(total) : new Uint32Array(total);
  const chronic = new Uint8Array(total);
  const attendProbability = new Float64Array(total);
  const kChronic = seedWord(seed, 'student/chronic');
  const kProbability = seedWord(seed, 'student/probability');
  const [cLo, cHi] = CHRONIC_ATTENDANCE_RANGE;
  const schools: PlannedSchool[] = [];
  let g0 = 0;
  ref.schools.forEach((school, index) => {
    const n = school.enrollment;
    const share = school.chronicAbsentPct / 100;
    let chronicCount = 0;
    let chronicSum = 0;
    for (let g = g0; g < g0 + n; g++) {
      studentSchool[g] = index;
      if (toUnit(mix(kChronic, g)) < share) {
        const p = cLo + (cHi - cLo) * toUnit(mix(kProbability, g));
        chronic[g] = 1;
        attendProbability[g] = p;
        chronicCount++;
        chronicSum += p;
      }
    }
    const regular =
      n > chronicCount
        ? clip(((school.attendancePct / 100) * n - chronicSum) / (n - chronicCount), REGULAR_ATTENDANCE_RANGE)
        : REGULAR_ATTENDANCE_RANGE[1];
    for (let g = g0; g < g0 + n; g++) if (chronic[g] === 0) attendProbability[g] = regular;
    schools.push({
      ...school,
      index,
      firstStudent: g0,
      chronicStudents: chronicCount,
      regularAttendanceProbability: regular,
      expectedAttendancePct: (100 * (chronicSum + regular * (n - chronicCount))) / n,
    });
    g0 += n;
  });
  return {
    seed,
    enrollmentYear: ref.enrollmentYear,
    attendanceYear: ref.attendanceYear,
    schools,
    students: total,
    knownDbns: ref.knownDbns,
    studentSchool,
    chronic,
    attendProbability,
  };
}
