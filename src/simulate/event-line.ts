import { fmix32, mix } from './seeded-random.ts';

/** Attendance statuses, indexed by the simulator's status codes 0–3. */
export const STATUSES = ['present', 'absent', 'late', 'excused'] as const;
export type Status = (typeof STATUSES)[number];
export const PRESENT = 0;
export const ABSENT = 1;
export const LATE = 2;
export const EXCUSED = 3;

/** Local-time window [from, to) of each status's event time, in seconds after midnight. */
export const STATUS_WINDOWS: readonly (readonly [number, number])[] = [
  [7 * 3600 + 30 * 60, 8 * 3600 + 25 * 60],
  [9 * 3600, 9 * 3600 + 45 * 60],
  [8 * 3600 + 25 * 60, 10 * 3600 + 30 * 60],
  [7 * 3600 + 30 * 60, 14 * 3600],
];

/** Earliest and latest possible event second of a day (for bucketing). */
export const FIRST_SECOND = 7 * 3600 + 30 * 60;
export const LAST_SECOND = 14 * 3600;

const HEX_CODES = new Uint8Array([...'0123456789abcdef'].map((c) => c.charCodeAt(0)));
const VARIANT_CODES = new Uint8Array([...'89ab'].map((c) => c.charCodeAt(0)));
const DASH = 0x2d;

function putHex(out: Uint8Array, pos: number, word: number, nibbles: number): number {
  for (let i = nibbles - 1; i >= 0; i--) out[pos + nibbles - 1 - i] = HEX_CODES[(word >>> (i * 4)) & 15]!;
  return pos + nibbles;
}

/**
 * Deterministic UUID-shaped event ids (version-4 layout: `xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`).
 * The first and last 32 bits are bijections of (subject, day) under the keys, so two different
 * (subject, day) pairs never get the same id under one key set; the rest only adds noise.
 */
export class EventIds {
  readonly #k0: number;
  readonly #k1: number;
  readonly #k2: number;
  readonly #k3: number;
  readonly #scratch = Buffer.alloc(36);

  constructor(key: number) {
    this.#k0 = fmix32(key ^ 0x1b873593);
    this.#k1 = fmix32(key ^ 0x2c1b3c6d);
    this.#k2 = fmix32(key ^ 0x297a2d39);
    this.#k3 = fmix32(key ^ 0x68e31da4);
  }

  /** Writes the 36 ASCII bytes of the id of `subject` on `dayNumber` at `pos`; returns the end. */
  write(out: Uint8Array, pos: number, dayNumber: number, subject: number): number {
    const w0 = fmix32(subject ^ this.#k0);
    const w3 = fmix32((Math.imul(dayNumber ^ this.#k3, 0x9e3779b1) + w0) | 0);
    const w1 = mix(w0, dayNumber ^ this.#k1);
    const w2 = mix(w3, this.#k2);
    let p = putHex(out, pos, w0, 8);
    out[p++] = DASH;
    p = putHex(out, p, w1 >>> 16, 4);
    out[p++] = DASH;
    out[p++] = 0x34;
    p = putHex(out, p, w1 & 0xfff, 3);
    out[p++] = DASH;
    out[p++] = VARIANT_CODES[(w2 >>> 30) & 3]!;
    p = putHex(out, p, (w2 >>> 16) & 0xfff, 3);
    out[p++] = DASH;
    p = putHex(out, p, w2 & 0xffff, 4);
    return putHex(out, p, w3, 8);
  }

  /** The id of `subject` (a student index, or 2^31 + n for the n-th extra record) on `dayNumber`. */
  id(dayNumber: number, subject: number): string {
    this.write(this.#scratch, 0, dayNumber, subject);
    return this.#scratch.toString('latin1');
  }
}

const clock: string[] = [];

/** `HH:MM:SS` of a second after midnight. */
export function clockTime(second: number): string {
  let s = clock[second];
  if (s === undefined) {
    const h = Math.floor(second / 3600);
    const m = Math.floor((second % 3600) / 60);
    s = `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(second % 60).padStart(2, '0')}`;
    clock[second] = s;
  }
  return s;
}

/**
 * The JSON text of one valid attendance event, keys in contract order. Schema version 2 adds the
 * optional `device_id` (the attendance kiosk that recorded the event) after `status`.
 */
export function eventJson(
  eventId: string,
  dbn: string,
  studentId: string,
  eventTime: string,
  status: string,
  schemaVersion = 1,
  deviceId?: string,
): string {
  const v2 = schemaVersion === 2 && deviceId !== undefined ? `,"device_id":"${deviceId}"` : '';
  return `{"schema_version":${schemaVersion},"event_id":"${eventId}","event_type":"attendance","dbn":"${dbn}","student_id":"${studentId}","event_time":"${eventTime}","status":"${status}"${v2}}`;
}

/** Kiosks per school in schema version 2; a student always checks in at the same one. */
export const KIOSKS_PER_SCHOOL = 3;

/** The v2 `device_id` of a student's kiosk at a school. */
export function deviceIdOf(dbn: string, studentNumber: number): string {
  return `${dbn}-k${1 + (studentNumber % KIOSKS_PER_SCHOOL)}`;
}

const ascii = (text: string): Uint8Array => Buffer.from(text, 'latin1');

function putBytes(out: Uint8Array, pos: number, src: Uint8Array): number {
  for (let i = 0; i < src.length; i++) out[pos + i] = src[i]!;
  return pos + src.length;
}

function putDigits(out: Uint8Array, pos: number, value: number, digits: number): number {
  let v = value;
  for (let i = digits - 1; i >= 0; i--) {
    out[pos + i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
  return pos + digits;
}

/** The longest base event line in bytes (without the newline), for capacity checks. */
export const MAX_EVENT_LINE_BYTES = 256;

/**
 * Writes valid event lines as bytes, exactly as `eventJson` would render them: a fixed head, the
 * id, a per-school fragment (event type, DBN), the student id, a per-day time prefix, the clock
 * time and a per-day offset-and-status tail.
 */
export class EventLineEncoder {
  readonly #ids: EventIds;
  readonly #schools: readonly Uint8Array[];
  readonly #head = ascii('{"schema_version":1,"event_id":"');
  readonly #headV2 = ascii('{"schema_version":2,"event_id":"');
  /** Per school: null for schema version 1, else the kiosk suffixes of version 2 by kiosk. */
  readonly #v2: readonly (readonly Uint8Array[] | null)[];
  readonly #close = ascii('}');
  #dayNumber = 0;
  #timePrefix: Uint8Array = new Uint8Array(0);
  #tails: readonly Uint8Array[] = [];

  /** `v2Schools[i]` set: school i emits schema version 2 (with device_id). */
  constructor(ids: EventIds, dbns: readonly string[], v2Schools?: Uint8Array) {
    this.#ids = ids;
    this.#schools = dbns.map((dbn) => ascii(`","event_type":"attendance","dbn":"${dbn}","student_id":"`));
    this.#v2 = dbns.map((dbn, i) =>
      v2Schools?.[i]
        ? Array.from({ length: KIOSKS_PER_SCHOOL }, (_, k) => ascii(`,"device_id":"${deviceIdOf(dbn, k)}"}`))
        : null,
    );
  }

  /** Sets the day whose events are written next. */
  setDay(date: string, dayNumber: number, offset: string): void {
    this.#dayNumber = dayNumber;
    this.#timePrefix = ascii(`","event_time":"${date}T`);
    this.#tails = STATUSES.map((s) => ascii(`${offset}","status":"${s}"`));
  }

  /** Writes one event's line (without newline) at `pos`; returns the end. */
  write(
    out: Uint8Array,
    pos: number,
    student: number,
    studentNumber: number,
    school: number,
    second: number,
    status: number,
  ): number {
    const v2 = this.#v2[school];
    let p = putBytes(out, pos, v2 ? this.#headV2 : this.#head);
    p = this.#ids.write(out, p, this.#dayNumber, student);
    p = putBytes(out, p, this.#schools[school]!);
    p = putDigits(out, p, studentNumber, 9);
    p = putBytes(out, p, this.#timePrefix);
    p = putDigits(out, p, Math.floor(second / 3600), 2);
    out[p++] = 0x3a;
    p = putDigits(out, p, Math.floor(second / 60) % 60, 2);
    out[p++] = 0x3a;
    p = putDigits(out, p, second % 60, 2);
    p = putBytes(out, p, this.#tails[status]!);
    return putBytes(out, p, v2 ? v2[studentNumber % KIOSKS_PER_SCHOOL]! : this.#close);
  }
}
