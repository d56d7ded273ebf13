import { MedallionError } from '../core/errors.ts';

/** One school day: its local date in New York and what is needed to write and order its event times. */
export interface SchoolDay {
  /** YYYY-MM-DD. */
  readonly date: string;
  /** Days since 1970-01-01. */
  readonly dayNumber: number;
  /** America/New_York's UTC offset that day, e.g. `-04:00` (school hours never span a DST change). */
  readonly offset: string;
  /** UTC epoch seconds of local midnight that day. */
  readonly midnightEpoch: number;
}

const DAY_MS = 86_400_000;
const offsetFormat = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', timeZoneName: 'longOffset' });

/** America/New_York's UTC offset in minutes (e.g. -240) at an instant. */
export function newYorkOffsetMinutes(epochMs: number): number {
  const name = offsetFormat.formatToParts(new Date(epochMs)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name);
  if (!m) throw new MedallionError('MDL_INTERNAL', `Unexpected time-zone offset "${name}".`);
  if (!m[1]) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

function parseDate(date: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw new MedallionError('MDL_USAGE', `"${date}" is not a date (YYYY-MM-DD).`, {
      hint: 'Give the start date as YYYY-MM-DD, e.g. 2018-10-01.',
    });
  }
  return ms;
}

/** Describes one local date in New York. */
export function schoolDay(date: string): SchoolDay {
  const utcMidnight = parseDate(date);
  // Noon local time is 16:00 or 17:00 UTC: well away from the 02:00 DST switch, so the day's offset.
  const minutes = newYorkOffsetMinutes(utcMidnight + 16 * 3_600_000);
  const abs = Math.abs(minutes);
  const offset = `${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return { date, dayNumber: utcMidnight / DAY_MS, offset, midnightEpoch: utcMidnight / 1000 - minutes * 60 };
}

/** `count` consecutive school days from `startDate` (included if it is one): weekdays that are not holidays. */
export function schoolDays(startDate: string, count: number, holidays: readonly string[] = []): SchoolDay[] {
  const skip = new Set(holidays);
  const days: SchoolDay[] = [];
  let ms = parseDate(startDate);
  while (days.length < count) {
    const date = new Date(ms).toISOString().slice(0, 10);
    const weekday = new Date(ms).getUTCDay();
    if (weekday !== 0 && weekday !== 6 && !skip.has(date)) days.push(schoolDay(date));
    ms += DAY_MS;
  }
  return days;
}
