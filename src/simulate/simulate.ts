import type { PipelineProject } from '../config/project.ts';
import { MedallionError } from '../core/errors.ts';
import { buildDaySequence, type DayContext, type DayFaults } from './day-sequence.ts';
import { clockTime, EventIds, EventLineEncoder, MAX_EVENT_LINE_BYTES } from './event-line.ts';
import type { EventSink } from './event-sink.ts';
import { invalidLine, malformedLine, unknownDbns, unknownSchoolLine } from './fault-records.ts';
import { LandingSink, type LandingSinkOptions } from './landing-sink.ts';
import { LineBlock } from './line-block.ts';
import { type FaultRates, type FaultSelection, resolveFaultRates } from './parse-fault-spec.ts';
import { fnv1a32, partitionForDbn } from './partition-for-dbn.ts';
import { type SchoolDay, schoolDays } from './school-days.ts';
import { SeededRandom, seedWord } from './seeded-random.ts';
import { type SimulationPlan, simulationPlan, studentIdOf, studentNumberOf } from './simulation-plan.ts';

/** How much to simulate, and how. */
export interface SimulateOptions {
  /** Exactly this many records in total, faults included (a seeded sample of students over as few days as fit). */
  readonly events?: number;
  /** This many consecutive school days of all students (or of the `sample`). */
  readonly days?: number;
  /** Fraction 0 < F ≤ 1 of the students (a seeded choice, the same every day). */
  readonly sample?: number;
  /** Random seed (default `simulate.seed` of the config). */
  readonly seed?: number;
  /** First school day (YYYY-MM-DD; default `simulate.startDate`). */
  readonly startDate?: string;
  /** Faults to inject (default: the config's rates). */
  readonly faults?: FaultSelection;
  /**
   * Share 0 ≤ F ≤ 1 of schools whose devices send schema version 2 events (with `device_id`); the
   * same schools whatever the seed (chosen by a hash of the DBN). Default 0: every event is version 1.
   */
  readonly schemaV2?: number;
  /**
   * Borough letter (M, X, K, Q or R) whose schools stop sending from `dropFrom` on: a volume drop,
   * for exercising the volume checks. Days before `dropFrom` are exactly those of a run without it.
   */
  readonly dropBorough?: string;
  /** First day (YYYY-MM-DD) without events of `dropBorough` (default: the first simulated day). */
  readonly dropFrom?: string;
  /** Called after each simulated day has been written to the sink. */
  readonly onProgress?: (progress: SimulateProgress) => void;
}

/** Progress after one day. */
export interface SimulateProgress {
  readonly date: string;
  /** 1-based index of the day, out of `days`. */
  readonly day: number;
  readonly days: number;
  /** Records written so far. */
  readonly records: number;
}

/**
 * What a simulation produced: the ground truth that the pipeline's counts are checked against.
 * The first six keys are the `simulate --json` contract; faults are counted once each.
 */
export interface GroundTruth {
  /** Every line/message written, faults included. */
  readonly records: number;
  /** Exact copies of valid events. */
  readonly duplicates: number;
  /** Lines that are not JSON. */
  readonly malformed: number;
  /** JSON records that break the event contract. */
  readonly invalid: number;
  /** Distinct valid events later than the allowed lateness under the watermark rule (replayed per stream). */
  readonly late: number;
  /** Valid records for a DBN that is in no reference file. */
  readonly unknownSchool: number;
  /** Events swapped with a stream neighbour (within the allowed lateness). */
  readonly outOfOrder: number;
  /** Distinct valid events: records − duplicates − malformed − invalid − unknownSchool. */
  readonly events: number;
  /** Distinct valid events by status. */
  readonly byStatus: {
    readonly present: number;
    readonly absent: number;
    readonly late: number;
    readonly excused: number;
  };
  /** Schools and students with events. */
  readonly schools: number;
  readonly students: number;
  readonly days: number;
  readonly firstDate: string;
  readonly lastDate: string;
  readonly seed: number;
  /** Watermark streams (Kafka partitions; 1 for the landing directory). */
  readonly partitions: number;
  /** Distinct valid events sent with schema version 2. */
  readonly schemaV2Events: number;
}

const BATCH = 16_384;
const MAX_DAYS = 10_000;
const EXTRA_KINDS = ['duplicate', 'malformed', 'invalid', 'unknownSchool'] as const;

function usage(message: string, hint: string): MedallionError {
  return new MedallionError('MDL_USAGE', message, { hint });
}

function checkOptions(o: SimulateOptions): void {
  if (o.events !== undefined && (!Number.isSafeInteger(o.events) || o.events < 1)) {
    throw usage(
      `--events ${o.events} is not a positive whole number.`,
      'Give the number of records, e.g. --events 20000.',
    );
  }
  if (o.days !== undefined && (!Number.isSafeInteger(o.days) || o.days < 1 || o.days > MAX_DAYS)) {
    throw usage(
      `--days ${o.days} is not a whole number from 1 to ${MAX_DAYS}.`,
      'Give the number of school days, e.g. --days 5.',
    );
  }
  if (o.sample !== undefined && !(o.sample > 0 && o.sample <= 1)) {
    throw usage(`--sample ${o.sample} is not a fraction in (0, 1].`, 'Give the share of students, e.g. --sample 0.1.');
  }
  if (o.events !== undefined && (o.days !== undefined || o.sample !== undefined)) {
    throw usage(
      '--events cannot be combined with --days or --sample.',
      'Use --events N alone, or --days N with --sample F.',
    );
  }
  if (o.schemaV2 !== undefined && !(o.schemaV2 >= 0 && o.schemaV2 <= 1)) {
    throw usage(
      `--schema-v2 ${o.schemaV2} is not a share in [0, 1].`,
      'Give the share of schools sending version 2, e.g. --schema-v2 0.5.',
    );
  }
  if (o.dropBorough !== undefined && !/^[MXKQR]$/.test(o.dropBorough)) {
    throw usage(
      `--drop-borough ${o.dropBorough} is not a borough letter.`,
      'Give one of M (Manhattan), X (Bronx), K (Brooklyn), Q (Queens), R (Staten Island).',
    );
  }
  if (o.dropFrom !== undefined && (!/^\d{4}-\d{2}-\d{2}$/.test(o.dropFrom) || Number.isNaN(Date.parse(o.dropFrom)))) {
    throw usage(
      `--drop-from ${o.dropFrom} is not a date.`,
      'Give the first day without the borough, e.g. --drop-from 2018-10-29.',
    );
  }
  if (o.dropFrom !== undefined && o.dropBorough === undefined) {
    throw usage('--drop-from needs --drop-borough.', 'Name the borough that stops sending, e.g. --drop-borough X.');
  }
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) {
    throw usage(`--seed ${o.seed} is not a whole number.`, 'Give an integer seed, e.g. --seed 7.');
  }
}

type Counts = { -readonly [K in keyof FaultRates]: number };

function roundedFaults(base: number, rates: FaultRates): Counts {
  return {
    duplicate: Math.round(rates.duplicate * base),
    late: Math.round(rates.late * base),
    outOfOrder: Math.round(rates.outOfOrder * base),
    malformed: Math.round(rates.malformed * base),
    invalid: Math.round(rates.invalid * base),
    unknownSchool: Math.round(rates.unknownSchool * base),
  };
}

function recordsFor(base: number, rates: FaultRates): number {
  const f = roundedFaults(base, rates);
  return base + f.duplicate + f.malformed + f.invalid + f.unknownSchool;
}

/**
 * The base events and fault counts that make exactly `records` records. Counts are round(rate ×
 * base); when no base gives exactly `records` (rounding can add several records at one step), the
 * largest base below is used and the few kinds closest to rounding up are rounded up instead.
 */
export function volumeForRecords(records: number, rates: FaultRates): { base: number; faults: Counts } {
  let lo = 0;
  let hi = records;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (recordsFor(mid, rates) <= records) lo = mid;
    else hi = mid - 1;
  }
  const base = lo;
  if (base === 0) return { base: records, faults: roundedFaults(0, rates) };
  const faults = roundedFaults(base, rates);
  let missing = records - recordsFor(base, rates);
  const byRemainder = EXTRA_KINDS.filter((k) => rates[k] > 0).sort(
    (a, b) => rates[b] * base - faults[b] - (rates[a] * base - faults[a]),
  );
  for (const k of byRemainder) {
    if (missing === 0) break;
    faults[k]++;
    missing--;
  }
  faults.malformed += missing;
  if (faults.duplicate > base) {
    faults.malformed += faults.duplicate - base;
    faults.duplicate = base;
  }
  return { base, faults };
}

interface Volume {
  /** Students per day (each day takes a prefix of `selection`). */
  readonly perDay: readonly number[];
  /** Students in seeded random order (or all in index order). */
  readonly selection: Int32Array;
  readonly base: number;
  readonly faults: Counts;
}

function resolveVolume(plan: SimulationPlan, o: SimulateOptions, rates: FaultRates, seed: number): Volume {
  const total = plan.students;
  const all = Int32Array.from({ length: total }, (_, i) => i);
  if (o.events !== undefined) {
    const { base, faults } = volumeForRecords(o.events, rates);
    const days = Math.max(1, Math.ceil(base / total));
    const k = Math.ceil(base / days);
    new SeededRandom(seed, 'sample').choosePrefix(all, k);
    const perDay = Array.from({ length: days }, (_, d) => (d < days - 1 ? k : base - k * (days - 1)));
    return { perDay, selection: all.subarray(0, k), base, faults };
  }
  const days = o.days ?? 1;
  let k = total;
  if (o.sample !== undefined && o.sample < 1) {
    k = Math.max(1, Math.round(o.sample * total));
    new SeededRandom(seed, 'sample').choosePrefix(all, k);
  }
  const base = k * days;
  return { perDay: Array(days).fill(k), selection: all.subarray(0, k), base, faults: roundedFaults(base, rates) };
}

/** Splits fault totals over days in proportion to their events (cumulative rounding, so totals are exact). */
function faultsOfDay(v: Volume, day: number): DayFaults {
  let before = 0;
  for (let d = 0; d < day; d++) before += v.perDay[d]!;
  const after = before + v.perDay[day]!;
  const share = (total: number) =>
    v.base === 0 ? 0 : Math.round((total * after) / v.base) - Math.round((total * before) / v.base);
  return {
    duplicate: share(v.faults.duplicate),
    late: share(v.faults.late),
    outOfOrder: share(v.faults.outOfOrder),
    malformed: share(v.faults.malformed),
    invalid: share(v.faults.invalid),
    unknownSchool: share(v.faults.unknownSchool),
  };
}

function unknownDbnPools(seed: number, partitions: number, known: ReadonlySet<string>): string[][] {
  const pools: string[][] = Array.from({ length: partitions }, () => []);
  const seen = new Set<string>();
  const gen = unknownDbns(new SeededRandom(seed, 'unknown-dbns'), known);
  let short = partitions;
  for (let i = 0; short > 0 && i < 1_000_000; i++) {
    const dbn = gen.next().value as string;
    if (seen.has(dbn)) continue;
    seen.add(dbn);
    const pool = pools[partitionForDbn(dbn, partitions)]!;
    if (pool.length < 4) {
      pool.push(dbn);
      if (pool.length === 4) short--;
    }
  }
  return pools;
}

/**
 * Simulates attendance events from the project's reference data and writes them to `sink` day by
 * day, in emission order, faults included; returns the ground truth. The same options and seed
 * give a byte-identical record sequence. At most one day of events is held in memory.
 */
export async function simulate(
  project: PipelineProject,
  options: SimulateOptions,
  sink: EventSink,
): Promise<GroundTruth> {
  checkOptions(options);
  const cfg = project.config;
  const seed = options.seed ?? cfg.simulate.seed;
  const rates = resolveFaultRates(options.faults, cfg.simulate.faults);
  const partitions = Math.max(1, sink.partitions ?? 1);
  if (!Number.isSafeInteger(partitions))
    throw usage(`Sink partitions ${partitions} is not a whole number.`, 'Fix the sink.');
  const plan = await simulationPlan(project, { seed });
  const volume = resolveVolume(plan, options, rates, seed);
  const calendar = schoolDays(options.startDate ?? cfg.simulate.startDate, volume.perDay.length, cfg.simulate.holidays);
  const runKey = JSON.stringify([options.events, options.days, options.sample, options.startDate, rates, partitions]);
  const L = cfg.events.allowedLatenessMinutes * 60;

  const ctx: DayContext = {
    plan,
    schoolPartition: Int32Array.from(plan.schools, (s) => partitionForDbn(s.dbn, partitions)),
    partitions,
    allowedLatenessSeconds: L,
    eventKey: seedWord(seed, 'event'),
    unknownDbnsByPartition: unknownDbnPools(seed, partitions, plan.knownDbns),
  };
  const v2Share = options.schemaV2 ?? 0;
  const v2Schools = Uint8Array.from(plan.schools, (s) => (fnv1a32(`v2/${s.dbn}`) % 10_000 < v2Share * 10_000 ? 1 : 0));
  const encoder = new EventLineEncoder(
    new EventIds(seedWord(seed, 'event-id')),
    plan.schools.map((s) => s.dbn),
    v2Schools,
  );
  let v2Events = 0;
  const extraIds = new EventIds(seedWord(seed, `extra-id/${runKey}`));
  const { studentSchool } = plan;
  const dbns = plan.schools.map((s) => s.dbn);
  const dropped = Uint8Array.from(plan.schools, (s) => (s.dbn[2] === options.dropBorough ? 1 : 0));

  const newest = new Float64Array(partitions).fill(Number.NEGATIVE_INFINITY);
  const byStatus = [0, 0, 0, 0];
  const schoolsSeen = new Uint8Array(plan.schools.length);
  const totals = { records: 0, duplicates: 0, malformed: 0, invalid: 0, late: 0, unknownSchool: 0, outOfOrder: 0 };
  let block = new LineBlock(BATCH);
  const flush = async () => {
    if (block.count === 0) return;
    if (sink.writeEncoded) await sink.writeEncoded(block);
    else await sink.write(block.records());
    block = new LineBlock(BATCH);
  };

  for (let d = 0; d < calendar.length; d++) {
    const day: SchoolDay = calendar[d]!;
    let students = volume.selection.slice(0, volume.perDay[d]!).sort();
    if (options.dropBorough !== undefined && day.date >= (options.dropFrom ?? '')) {
      students = students.filter((g) => dropped[studentSchool[g]!] === 0);
    }
    const rng = new SeededRandom(seed, `faults/${day.date}/${runKey}`);
    const seq = buildDaySequence(ctx, day, students, faultsOfDay(volume, d), rng);
    const { sequence, second, status, partition } = seq;
    const n = students.length;
    encoder.setDay(day.date, day.dayNumber, day.offset);
    for (let e = 0; e < n; e++) {
      byStatus[status[e]!]!++;
      schoolsSeen[studentSchool[students[e]!]!] = 1;
      v2Events += v2Schools[studentSchool[students[e]!]!]!;
    }
    for (let j = 0; j < sequence.length; j++) {
      const c = sequence[j]!;
      if (c >= n) {
        const k = c - n;
        const x = seq.extras[k]!;
        const basis = {
          eventId: extraIds.id(day.dayNumber, 0x80000000 + k),
          dbn: x.dbn,
          studentId: studentIdOf(students[x.neighbour]!),
          eventTime: `${day.date}T${clockTime(x.second)}${day.offset}`,
        };
        const text =
          x.kind === 'malformed'
            ? malformedLine(rng, basis)
            : x.kind === 'invalid'
              ? invalidLine(rng, basis)
              : unknownSchoolLine(rng, basis);
        if (!block.fits(4 * text.length + 1)) await flush();
        block.putLine(text, x.dbn, x.partition);
      } else {
        const e = c >= 0 ? c : -1 - c;
        const s = partition[e]!;
        const t = day.midnightEpoch + second[e]!;
        if (c >= 0 && t < newest[s]! - L) totals.late++;
        if (t > newest[s]!) newest[s] = t;
        if (!block.fits(MAX_EVENT_LINE_BYTES + 1)) await flush();
        const g = students[e]!;
        const school = studentSchool[g]!;
        block.pos = encoder.write(block.bytes, block.pos, g, studentNumberOf(g), school, second[e]!, status[e]!);
        block.endLine(dbns[school]!, s);
      }
    }
    await flush();
    totals.records += sequence.length;
    totals.duplicates += seq.injected.duplicate;
    totals.malformed += seq.injected.malformed;
    totals.invalid += seq.injected.invalid;
    totals.unknownSchool += seq.injected.unknownSchool;
    totals.outOfOrder += seq.injected.outOfOrder;
    options.onProgress?.({ date: day.date, day: d + 1, days: calendar.length, records: totals.records });
  }

  const students = volume.perDay.length > 0 ? Math.max(...volume.perDay) : 0;
  return {
    records: totals.records,
    duplicates: totals.duplicates,
    malformed: totals.malformed,
    invalid: totals.invalid,
    late: totals.late,
    unknownSchool: totals.unknownSchool,
    outOfOrder: totals.outOfOrder,
    events: totals.records - totals.duplicates - totals.malformed - totals.invalid - totals.unknownSchool,
    byStatus: { present: byStatus[0]!, absent: byStatus[1]!, late: byStatus[2]!, excused: byStatus[3]! },
    schools: schoolsSeen.reduce((s, x) => s + x, 0),
    students,
    days: calendar.length,
    firstDate: calendar[0]!.date,
    lastDate: calendar[calendar.length - 1]!.date,
    seed,
    partitions,
    schemaV2Events: v2Events,
  };
}

/**
 * Simulates into the landing directory (`LandingSink`) and closes it: the ground truth and the
 * files written. The landing directory is one watermark stream.
 */
export async function simulateToLanding(
  project: PipelineProject,
  options: SimulateOptions,
  sinkOptions: Omit<LandingSinkOptions, 'seed'> = {},
): Promise<{ truth: GroundTruth; files: readonly string[] }> {
  const sink = new LandingSink(project, { ...sinkOptions, seed: options.seed ?? project.config.simulate.seed });
  try {
    const truth = await simulate(project, options, sink);
    await sink.close();
    return { truth, files: sink.files };
  } finally {
    await sink.close().catch(() => {});
  }
}
