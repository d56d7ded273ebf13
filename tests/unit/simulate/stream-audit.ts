import { openDuckDb, quoteLiteral } from '../../../src/engine/duckdb.ts';
import type { EventSink, SinkRecord } from '../../../src/simulate/index.ts';

/** Keeps every record in memory (the generic `write` path, like the Kafka sink). */
export class MemorySink implements EventSink {
  readonly partitions: number | undefined;
  readonly records: SinkRecord[] = [];
  closed = false;

  constructor(partitions?: number) {
    this.partitions = partitions;
  }

  async write(records: readonly SinkRecord[]): Promise<void> {
    for (const r of records) this.records.push(r);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

const DBN = /^\d{2}[MXKQR]\d{3}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const STATUSES = new Set(['present', 'absent', 'late', 'excused']);

/** Why a parsed record breaks the event contract, or undefined when it keeps it. */
export function contractBreak(o: unknown): string | undefined {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'not an object';
  const r = o as Record<string, unknown>;
  if (r['schema_version'] !== 1 && r['schema_version'] !== 2) return 'schema_version';
  if (typeof r['event_id'] !== 'string' || r['event_id'] === '') return 'event_id';
  if (r['event_type'] !== 'attendance') return 'event_type';
  if (typeof r['dbn'] !== 'string' || !DBN.test(r['dbn'])) return 'dbn';
  if (typeof r['student_id'] !== 'string' || !/^\d{9}$/.test(r['student_id'])) return 'student_id';
  const t = r['event_time'];
  if (typeof t !== 'string' || !TIMESTAMP.test(t) || Number.isNaN(Date.parse(t))) return 'event_time';
  if (typeof r['status'] !== 'string' || !STATUSES.has(r['status'])) return 'status';
  return undefined;
}

export interface Audit {
  records: number;
  duplicates: number;
  malformed: number;
  invalid: number;
  late: number;
  unknownSchool: number;
  events: number;
  byStatus: Record<string, number>;
  /** Late counted with every record that has a parseable event_time moving the watermark. */
  lateIfEveryTimeCounted: number;
  /** Distance in lines from each duplicate back to its original, minus the duplicates in between. */
  duplicateDistances: number[];
  malformedLines: string[];
  invalidRecords: { line: string; reason: string }[];
  unknownDbns: Set<string>;
  validLines: string[];
}

/**
 * Classifies a record stream independently of the simulator: malformed = not JSON; invalid =
 * breaks the contract; unknown school = valid but its DBN is in no reference file; duplicate = an
 * event_id seen before with identical bytes; late = replay of the watermark rule per stream.
 */
export function audit(
  records: readonly SinkRecord[],
  known: ReadonlySet<string>,
  allowedLatenessMinutes: number,
): Audit {
  const out: Audit = {
    records: records.length,
    duplicates: 0,
    malformed: 0,
    invalid: 0,
    late: 0,
    unknownSchool: 0,
    events: 0,
    byStatus: { present: 0, absent: 0, late: 0, excused: 0 },
    lateIfEveryTimeCounted: 0,
    duplicateDistances: [],
    malformedLines: [],
    invalidRecords: [],
    unknownDbns: new Set(),
    validLines: [],
  };
  const L = allowedLatenessMinutes * 60_000;
  const firstSeen = new Map<string, { line: string; index: number }>();
  const newest = new Map<number, number>();
  const newestLoose = new Map<number, number>();
  const dupIndexes: number[] = [];
  records.forEach((rec, index) => {
    let o: unknown;
    try {
      o = JSON.parse(rec.value);
    } catch {
      out.malformed++;
      out.malformedLines.push(rec.value);
      return;
    }
    const r = o as Record<string, unknown>;
    const t = typeof r?.['event_time'] === 'string' ? Date.parse(r['event_time'] as string) : Number.NaN;
    const reason = contractBreak(o);
    if (reason) {
      out.invalid++;
      out.invalidRecords.push({ line: rec.value, reason });
      if (!Number.isNaN(t) && t > (newestLoose.get(rec.partition) ?? -Infinity)) newestLoose.set(rec.partition, t);
      return;
    }
    const s = rec.partition;
    if (!known.has(r['dbn'] as string)) {
      out.unknownSchool++;
      out.unknownDbns.add(r['dbn'] as string);
      if (t > (newestLoose.get(s) ?? -Infinity)) newestLoose.set(s, t);
      return;
    }
    const id = r['event_id'] as string;
    const first = firstSeen.get(id);
    const isDuplicate = first !== undefined;
    if (isDuplicate) {
      if (first.line !== rec.value) throw new Error(`event_id ${id} re-used with different bytes`);
      out.duplicates++;
      const between = dupIndexes.filter((d) => d > first.index).length;
      out.duplicateDistances.push(index - first.index - between);
      dupIndexes.push(index);
    } else {
      firstSeen.set(id, { line: rec.value, index });
      out.events++;
      out.byStatus[r['status'] as string]!++;
      out.validLines.push(rec.value);
      if (t < (newest.get(s) ?? -Infinity) - L) out.late++;
      if (t < (newestLoose.get(s) ?? -Infinity) - L) out.lateIfEveryTimeCounted++;
    }
    if (t > (newest.get(s) ?? -Infinity)) newest.set(s, t);
    if (t > (newestLoose.get(s) ?? -Infinity)) newestLoose.set(s, t);
  });
  return out;
}

/** Every DBN in the four reference files, read by DuckDB (independently of the simulator's CSV reader). */
export async function referenceDbns(files: { file: string; column: string }[]): Promise<Set<string>> {
  const db = await openDuckDb(':memory:');
  try {
    const parts = files.map(
      (f) => `SELECT "${f.column}" AS v FROM read_csv(${quoteLiteral(f.file)}, all_varchar = true)`,
    );
    const rows = await db.all<{ v: string | null }>(parts.join(' UNION '));
    return new Set(rows.map((r) => r.v).filter((v): v is string => v !== null));
  } finally {
    await db.close();
  }
}
