import { ABSENT, EXCUSED, FIRST_SECOND, LAST_SECOND, LATE, PRESENT, STATUS_WINDOWS } from './event-line.ts';
import type { SchoolDay } from './school-days.ts';
import { mix, type SeededRandom } from './seeded-random.ts';
import type { SimulationPlan } from './simulation-plan.ts';

/** Faults to inject into one day's events (counts, not rates). */
export interface DayFaults {
  readonly duplicate: number;
  readonly late: number;
  readonly outOfOrder: number;
  readonly malformed: number;
  readonly invalid: number;
  readonly unknownSchool: number;
}

/** Kinds of extra (inserted) records. */
export type ExtraKind = 'malformed' | 'invalid' | 'unknownSchool';

/** An extra record placed in the day: its kind, the event it sits next to, and its stream. */
export interface DayExtra {
  readonly kind: ExtraKind;
  /** The base event whose school (and stream) it borrows. */
  readonly neighbour: number;
  /** Its DBN: the neighbour's, or an unknown school's in the neighbour's stream. */
  readonly dbn: string;
  readonly partition: number;
  /** Local second of its event time, set once its place in the stream is known (≤ the stream's newest time there). */
  second: number;
}

/** One day's events and their emission order, faults included. */
export interface DaySequence {
  readonly day: SchoolDay;
  /** Per base event: global student index, local second, status code, watermark stream. */
  readonly student: Int32Array;
  readonly second: Int32Array;
  readonly status: Uint8Array;
  readonly partition: Int32Array;
  /**
   * Emission order. A code `c` in [0, n) is base event c; `c >= n` is extra record c - n;
   * `c < 0` is a duplicate of base event -1 - c.
   */
  readonly sequence: Int32Array;
  readonly extras: readonly DayExtra[];
  /** Faults actually injected (late = events moved; the ground truth replays lateness). */
  readonly injected: { -readonly [K in keyof DayFaults]: number };
}

/** What `buildDaySequence` needs besides the day itself. */
export interface DayContext {
  readonly plan: SimulationPlan;
  /** Watermark stream of each school. */
  readonly schoolPartition: Int32Array;
  readonly partitions: number;
  readonly allowedLatenessSeconds: number;
  /** Key of the per-(day, student) draws. */
  readonly eventKey: number;
  /** DBNs that are in no reference file, per watermark stream. */
  readonly unknownDbnsByPartition: readonly (readonly string[])[];
}

/** Duplicates are emitted this many lines after their original at most (not counting other duplicates). */
export const MAX_DUPLICATE_DISTANCE = 2000;
/** A late event is moved behind an event of its stream at least this much newer than allowed lateness. */
export const LATE_MARGIN_SECONDS = 5 * 60;
/** Extra records take a time up to this much before the newest time in their stream. */
const EXTRA_JITTER_SECONDS = 10 * 60;

const FLAG_OUT_OF_ORDER = 1;
const FLAG_LATE = 2;
const FLAG_DUPLICATED = 3;

/**
 * Chooses up to `want` distinct indices in [0, n) that are `eligible`, uniformly at random, calling
 * `take` on each (which must make it ineligible). Draws at random first (cheap when most indices
 * qualify) and falls back to shuffling the remaining eligible indices when draws keep missing.
 */
function chooseEligible(
  rng: SeededRandom,
  n: number,
  want: number,
  eligible: (i: number) => boolean,
  take: (i: number) => void,
): number {
  let done = 0;
  for (let attempts = want * 8 + 64; done < want && attempts > 0 && n > 0; attempts--) {
    const i = rng.int(n);
    if (eligible(i)) {
      take(i);
      done++;
    }
  }
  if (done < want) {
    const rest: number[] = [];
    for (let i = 0; i < n; i++) if (eligible(i)) rest.push(i);
    for (let i = 0; i < rest.length && done < want; i++) {
      const j = i + rng.int(rest.length - i);
      const c = rest[j]!;
      rest[j] = rest[i]!;
      take(c);
      done++;
    }
  }
  return done;
}

interface BaseEvents {
  readonly second: Int32Array;
  readonly status: Uint8Array;
  readonly partition: Int32Array;
  /** Event indices sorted by time, ties in student order. */
  readonly order: Int32Array;
}

function drawEvents(ctx: DayContext, dayNumber: number, students: Int32Array): BaseEvents {
  const n = students.length;
  const studentSchool = ctx.plan.studentSchool;
  const attendProbability = ctx.plan.attendProbability;
  const schoolPartition = ctx.schoolPartition;
  const second = new Int32Array(n);
  const status = new Uint8Array(n);
  const partition = new Int32Array(n);
  const span = LAST_SECOND - FIRST_SECOND + 1;
  const bucket = new Int32Array(span + 1);
  const dayKey = mix(ctx.eventKey, dayNumber);
  for (let i = 0; i < n; i++) {
    const g = students[i]!;
    const h = mix(dayKey, g);
    const u = mix(h, 1) / 4294967296;
    const st = h / 4294967296 < attendProbability[g]! ? (u < 0.04 ? LATE : PRESENT) : u < 0.25 ? EXCUSED : ABSENT;
    const w = STATUS_WINDOWS[st]!;
    const s = w[0] + Math.floor((mix(h, 2) / 4294967296) * (w[1] - w[0]));
    status[i] = st;
    second[i] = s;
    partition[i] = schoolPartition[studentSchool[g]!]!;
    bucket[s - FIRST_SECOND + 1]!++;
  }
  for (let b = 1; b <= span; b++) bucket[b]! += bucket[b - 1]!;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[bucket[second[i]! - FIRST_SECOND]!++] = i;
  return { second, status, partition, order };
}

/** Swaps disjoint pairs of stream neighbours whose times differ by 1 s up to less than `L`. */
function swapOutOfOrder(
  ev: BaseEvents,
  flag: Uint8Array,
  partitions: number,
  L: number,
  want: number,
  rng: SeededRandom,
): number {
  const { order, second, partition } = ev;
  const n = order.length;
  const next = new Int32Array(n).fill(-1);
  const last = new Int32Array(partitions).fill(-1);
  for (let a = n - 1; a >= 0; a--) {
    const s = partition[order[a]!]!;
    const b = last[s]!;
    last[s] = a;
    if (b < 0) continue;
    const d = second[order[b]!]! - second[order[a]!]!;
    if (d > 0 && d < L) next[a] = b;
  }
  return chooseEligible(
    rng,
    n,
    want,
    (a) => next[a]! >= 0 && flag[order[a]!] === 0 && flag[order[next[a]!]!] === 0,
    (a) => {
      const b = next[a]!;
      const ea = order[a]!;
      const eb = order[b]!;
      flag[ea] = FLAG_OUT_OF_ORDER;
      flag[eb] = FLAG_OUT_OF_ORDER;
      order[a] = eb;
      order[b] = ea;
    },
  );
}

/**
 * Moves `want` events later: each goes after a random position behind the first event of its
 * stream (among those staying in place) at least `gap` seconds newer. Returns the moves.
 */
function moveLate(
  ev: BaseEvents,
  flag: Uint8Array,
  partitions: number,
  gap: number,
  want: number,
  rng: SeededRandom,
): { after: number[]; event: number[] } {
  const { order, second, partition } = ev;
  const n = order.length;
  const streamMax = new Int32Array(partitions).fill(-1);
  for (let e = 0; e < n; e++) if (second[e]! > streamMax[partition[e]!]!) streamMax[partition[e]!] = second[e]!;
  const moved: number[] = [];
  chooseEligible(
    rng,
    n,
    want,
    (a) => flag[order[a]!] === 0 && second[order[a]!]! + gap <= streamMax[partition[order[a]!]!]!,
    (a) => {
      flag[order[a]!] = FLAG_LATE;
      moved.push(a);
    },
  );
  moved.sort((x, y) => x - y);
  // Per stream, in emission order: positions of the events staying in place and the newest time so far.
  const start = new Int32Array(partitions + 1);
  for (let a = 0; a < n; a++) {
    const e = order[a]!;
    if (flag[e] !== FLAG_LATE) start[partition[e]! + 1]!++;
  }
  for (let s = 1; s <= partitions; s++) start[s]! += start[s - 1]!;
  const fill = start.slice(0, partitions);
  const pos = new Int32Array(start[partitions]!);
  const runMax = new Int32Array(start[partitions]!);
  for (let a = 0; a < n; a++) {
    const e = order[a]!;
    if (flag[e] === FLAG_LATE) continue;
    const s = partition[e]!;
    const k = fill[s]!++;
    pos[k] = a;
    const t = second[e]!;
    runMax[k] = k > start[s]! && runMax[k - 1]! > t ? runMax[k - 1]! : t;
  }
  const after: number[] = [];
  const event: number[] = [];
  for (const a of moved) {
    const e = order[a]!;
    const s = partition[e]!;
    const need = second[e]! + gap;
    let lo = start[s]!;
    let hi = start[s + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (runMax[mid]! >= need) hi = mid;
      else lo = mid + 1;
    }
    if (lo === start[s + 1]) {
      flag[e] = 0;
      continue;
    }
    after.push(rng.between(pos[lo]!, n - 1));
    event.push(e);
  }
  return { after, event };
}

/** Lays out base positions with insertions: codes of `order` (minus moved events) and, after position a, the inserted codes. */
function assemble(
  order: Int32Array,
  flag: Uint8Array,
  insertAfter: readonly number[],
  insertCode: readonly number[],
  length: number,
): Int32Array {
  const n = order.length;
  const idx = insertAfter.map((_, i) => i).sort((x, y) => insertAfter[x]! - insertAfter[y]! || x - y);
  const out = new Int32Array(length);
  let m = 0;
  let k = 0;
  for (let a = 0; a < n; a++) {
    const e = order[a]!;
    if (flag[e] !== FLAG_LATE) out[m++] = e;
    while (k < idx.length && insertAfter[idx[k]!] === a) out[m++] = insertCode[idx[k++]!]!;
  }
  return out;
}

/** Times each extra record at or just below the newest time of its stream where it sits; returns each event's place. */
function timeExtras(
  before: Int32Array,
  ev: BaseEvents,
  extras: DayExtra[],
  partitions: number,
  jitter: number,
  rng: SeededRandom,
): Int32Array {
  const { second, partition } = ev;
  const n = second.length;
  const newest = new Int32Array(partitions).fill(-1);
  const place = new Int32Array(n).fill(-1);
  for (let j = 0; j < before.length; j++) {
    const c = before[j]!;
    if (c < n) {
      place[c] = j;
      const s = partition[c]!;
      if (second[c]! > newest[s]!) newest[s] = second[c]!;
    } else {
      const x = extras[c - n]!;
      const top = newest[x.partition]!;
      x.second = top < 0 ? second[x.neighbour]! : Math.max(top - rng.int(jitter + 1), Math.min(top, FIRST_SECOND));
    }
  }
  return place;
}

/**
 * Simulates one school day for `students` (sorted global indices) and lays out its emission order:
 * 1. each student's status and event time from draws keyed by (seed, day, student);
 * 2. events sorted by event time (ties by student order) — a counting sort over the day's seconds;
 * 3. out-of-order: disjoint pairs of stream neighbours less than the allowed lateness apart swapped;
 * 4. late: events moved to a random place after an event of their stream that is newer by more
 *    than the allowed lateness plus 5 minutes;
 * 5. extra records (malformed, invalid, unknown school) inserted at random places, each after a
 *    valid event of its stream and timed no later than the newest valid time there (so they never
 *    move a watermark, whichever way a reader counts them);
 * 6. duplicates: exact copies of untouched events, 1–2,000 lines after the original (not counting
 *    other duplicates in between).
 * Everything stays within the day, so a day is all that is held in memory.
 */
export function buildDaySequence(
  ctx: DayContext,
  day: SchoolDay,
  students: Int32Array,
  faults: DayFaults,
  rng: SeededRandom,
): DaySequence {
  const n = students.length;
  const P = ctx.partitions;
  const L = ctx.allowedLatenessSeconds;
  const ev = drawEvents(ctx, day.dayNumber, students);
  const { order, partition } = ev;
  const flag = new Uint8Array(n);
  const injected = { duplicate: 0, late: 0, outOfOrder: 0, malformed: 0, invalid: 0, unknownSchool: 0 };
  const dupWanted = Math.min(faults.duplicate, n);
  const lateWanted = Math.min(faults.late, n - dupWanted);
  const oooWanted = Math.min(faults.outOfOrder, Math.floor((n - dupWanted - lateWanted) / 2));
  if (oooWanted > 0 && L > 0) injected.outOfOrder = swapOutOfOrder(ev, flag, P, L, oooWanted, rng);
  const late = lateWanted > 0 ? moveLate(ev, flag, P, L + LATE_MARGIN_SECONDS, lateWanted, rng) : undefined;
  const insertAfter = late?.after ?? [];
  const insertCode = late?.event ?? [];
  injected.late = insertCode.length;

  const dupOriginals: number[] = [];
  injected.duplicate = chooseEligible(
    rng,
    n,
    dupWanted,
    (e) => flag[e] === 0,
    (e) => {
      flag[e] = FLAG_DUPLICATED;
      dupOriginals.push(e);
    },
  );

  const extras: DayExtra[] = [];
  const kinds: [ExtraKind, number][] = [
    ['malformed', faults.malformed + faults.duplicate - injected.duplicate],
    ['invalid', faults.invalid],
    ['unknownSchool', faults.unknownSchool],
  ];
  for (const [kind, count] of kinds) {
    for (let i = 0; i < count && n > 0; i++) {
      let a = rng.int(n);
      for (let tries = 0; flag[order[a]!] === FLAG_LATE && tries < 64; tries++) a = rng.int(n);
      const e = order[a]!;
      const s = partition[e]!;
      const dbn =
        kind === 'unknownSchool'
          ? rng.pick(ctx.unknownDbnsByPartition[s]!)
          : ctx.plan.schools[ctx.plan.studentSchool[students[e]!]!]!.dbn;
      extras.push({ kind, neighbour: e, dbn, partition: s, second: -1 });
      insertAfter.push(a);
      insertCode.push(n + extras.length - 1);
      injected[kind]++;
    }
  }

  const before = assemble(order, flag, insertAfter, insertCode, n + extras.length);
  const place = timeExtras(before, ev, extras, P, Math.min(L, EXTRA_JITTER_SECONDS), rng);

  const dupAfter = dupOriginals.map((e) => {
    const j = place[e]!;
    return j + rng.between(1, Math.min(MAX_DUPLICATE_DISTANCE, before.length - j)) - 1;
  });
  const dups = dupOriginals.map((_, i) => i).sort((x, y) => dupAfter[x]! - dupAfter[y]! || x - y);
  const sequence = new Int32Array(before.length + dups.length);
  let m = 0;
  let k = 0;
  for (let j = 0; j < before.length; j++) {
    sequence[m++] = before[j]!;
    while (k < dups.length && dupAfter[dups[k]!] === j) sequence[m++] = -1 - dupOriginals[dups[k++]!]!;
  }
  return {
    day,
    student: students,
    second: ev.second,
    status: ev.status,
    partition,
    sequence,
    extras,
    injected,
  };
}
