/**
 * The attendance-event simulator: students and attendance probabilities calibrated on the NYC
 * reference files, one event per student per school day, faults injected on purpose, and the
 * ground truth of what was produced.
 */
export type { CalibratedSchool, CalibrationSource, ReferenceData } from './calibrate-schools.ts';
export { calibrateSchools, DBN_PATTERN, loadReferenceData } from './calibrate-schools.ts';
export { STATUSES, type Status } from './event-line.ts';
export type { EncodedLines, EventSink, SinkRecord } from './event-sink.ts';
export { LandingSink, type LandingSinkOptions, MAX_LINES_PER_FILE } from './landing-sink.ts';
export {
  FAULT_KINDS,
  type FaultRates,
  type FaultSelection,
  NO_FAULTS,
  parseFaultSpec,
  resolveFaultRates,
} from './parse-fault-spec.ts';
export { fnv1a32, partitionForDbn } from './partition-for-dbn.ts';
export { type SchoolDay, schoolDays } from './school-days.ts';
export {
  type GroundTruth,
  type SimulateOptions,
  type SimulateProgress,
  simulate,
  simulateToLanding,
  volumeForRecords,
} from './simulate.ts';
export { type PlannedSchool, type SimulationPlan, simulationPlan, studentIdOf } from './simulation-plan.ts';
