import { eventJson, STATUSES } from './event-line.ts';
import type { SeededRandom } from './seeded-random.ts';

/** The fields of a would-be event that an extra (fault) record is made from. */
export interface ExtraBasis {
  readonly eventId: string;
  readonly dbn: string;
  readonly studentId: string;
  readonly eventTime: string;
}

function randomStudentId(rng: SeededRandom): string {
  return String(100_000_000 + rng.int(900_000_000));
}

function randomHex(rng: SeededRandom, n: number): string {
  let s = '';
  while (s.length < n) s += rng.nextU32().toString(16).padStart(8, '0');
  return s.slice(0, n);
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A line that is not valid JSON, in one of several shapes seen in real feeds: a truncated event,
 * unbalanced braces, single quotes, unquoted keys, two objects glued together, CSV, XML, log noise.
 * None of them is blank or contains a line break.
 */
export function malformedLine(rng: SeededRandom, basis: ExtraBasis): string {
  const full = eventJson(basis.eventId, basis.dbn, basis.studentId, basis.eventTime, rng.pick(STATUSES));
  const shapes: (() => string)[] = [
    () => full.slice(0, rng.between(8, full.length - 2)),
    () => full.slice(0, -1),
    () => `${full}}`,
    () => `{${full}`,
    () => `}{"dbn":"${basis.dbn}"`,
    () => full.replaceAll('"', "'"),
    () => `{schema_version:1,event_id:"${basis.eventId}",dbn:"${basis.dbn}",status:"present"}`,
    () => `${full}${full}`,
    () => `${basis.dbn},${basis.studentId},present,${basis.eventTime}`,
    () => `<event dbn="${basis.dbn}" student="${basis.studentId}" status="present"/>`,
    () => `#${randomHex(rng, 24)} garbage`,
    () => `ERROR upstream timeout after 30000ms (device ${randomHex(rng, 6)})`,
    () => `{"schema_version":1,"event_id":"${basis.eventId}","dbn":"${basis.dbn}","status":present}`,
  ];
  const line = rng.pick(shapes)();
  return line.trim() === '' || isJson(line) || /[\r\n]/.test(line) ? `#${randomHex(rng, 16)} garbage` : line;
}

type Json = Record<string, unknown>;

/**
 * A JSON object that breaks the event contract in exactly one way (with a fresh event id unless
 * the id itself is what is missing): event_time not a timestamp, status not an accepted value,
 * student_id missing or not a 9-digit string, schema_version not 1 or 2, event_id missing,
 * event_type not `attendance`, or a DBN that does not match the DBN pattern.
 */
export function invalidLine(rng: SeededRandom, basis: ExtraBasis): string {
  const o: Json = {
    schema_version: 1,
    event_id: basis.eventId,
    event_type: 'attendance',
    dbn: basis.dbn,
    student_id: basis.studentId,
    event_time: basis.eventTime,
    status: rng.pick(STATUSES),
  };
  const breakers: ((o: Json) => void)[] = [
    (o) => {
      o['event_time'] = rng.pick<unknown>([
        'not-a-timestamp',
        `${basis.eventTime.slice(0, 5)}13-45T25:61:00${basis.eventTime.slice(19)}`,
        '',
        'yesterday morning',
        Math.floor(Date.parse(basis.eventTime) / 1000),
      ]);
    },
    (o) => {
      o['status'] = rng.pick(['tardy', 'unknown', '', 'remote', 'P']);
    },
    (o) => {
      delete o['student_id'];
    },
    (o) => {
      const id = basis.studentId;
      o['student_id'] = rng.pick<unknown>([
        Number(id),
        id.slice(0, 8),
        `${id}7`,
        `A${id.slice(1)}`,
        `${id.slice(0, 4)} ${id.slice(4)}`,
      ]);
    },
    (o) => {
      o['schema_version'] = rng.pick([0, 3, 99, -1, 10]);
    },
    (o) => {
      delete o['event_id'];
    },
    (o) => {
      o['event_type'] = rng.pick(['attendence', 'enrollment', '']);
    },
    (o) => {
      o['dbn'] = rng.pick([
        basis.dbn.slice(1),
        `${basis.dbn.slice(0, 2)}Z${basis.dbn.slice(3)}`,
        basis.dbn.toLowerCase(),
        `${basis.dbn}0`,
      ]);
    },
  ];
  rng.pick(breakers)(o);
  return JSON.stringify(o);
}

/** A contract-valid event for a school that exists in no reference file. */
export function unknownSchoolLine(rng: SeededRandom, basis: ExtraBasis): string {
  return eventJson(
    basis.eventId,
    basis.dbn,
    randomStudentId(rng),
    basis.eventTime,
    rng.pick(['present', 'present', 'late', 'absent']),
  );
}

/** Well-formed DBNs (pattern-valid) that are not in `known`, drawn deterministically. */
export function* unknownDbns(rng: SeededRandom, known: ReadonlySet<string>): Generator<string> {
  const boroughs = 'MXKQR';
  for (;;) {
    const district = String(rng.between(1, 32)).padStart(2, '0');
    const dbn = `${district}${boroughs.charAt(rng.int(5))}${String(rng.int(1000)).padStart(3, '0')}`;
    if (!known.has(dbn)) yield dbn;
  }
}
