import { readFileSync } from 'node:fs';
import { MedallionError } from '../core/errors.ts';

/**
 * Parses CSV text as RFC 4180 describes it: fields separated by commas, records by CRLF or LF,
 * fields optionally enclosed in double quotes, where a doubled quote stands for one quote and
 * commas and line breaks are literal. A leading byte-order mark is dropped; empty lines are skipped.
 * Values stay text (like DuckDB's `all_varchar`), empty fields are ''.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let row: string[] = [];
  let field = '';
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 && field === '') {
      let j = i + 1;
      let value = '';
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) throw new Error(`unterminated quoted field at offset ${i}`);
        value += text.slice(j, q);
        if (text.charCodeAt(q + 1) === 0x22) {
          value += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      field = value;
      i = j;
      continue;
    }
    if (c === 0x2c) {
      row.push(field);
      field = '';
      i++;
      continue;
    }
    if (c === 0x0a || c === 0x0d) {
      row.push(field);
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
      field = '';
      i += c === 0x0d && text.charCodeAt(i + 1) === 0x0a ? 2 : 1;
      continue;
    }
    let j = i;
    while (j < n) {
      const d = text.charCodeAt(j);
      if (d === 0x2c || d === 0x0a || d === 0x0d) break;
      j++;
    }
    field += text.slice(i, j);
    i = j;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** A CSV file read whole: its header and its records, with columns looked up by name. */
export interface CsvTable {
  readonly path: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** The index of a column; throws MDL_REFERENCE_INVALID naming the file when it is missing. */
  column(name: string): number;
}

/** Reads a CSV file with a header row. */
export function readCsvTable(path: string): CsvTable {
  let records: string[][];
  try {
    records = parseCsv(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new MedallionError('MDL_REFERENCE_INVALID', `Cannot read reference file ${path}.`, {
      hint: 'Check that the file exists and is CSV with a header row.',
      cause: err,
    });
  }
  const header = records[0] ?? [];
  return {
    path,
    header,
    rows: records.slice(1),
    column(name: string): number {
      const i = header.indexOf(name);
      if (i < 0) {
        throw new MedallionError('MDL_REFERENCE_INVALID', `Reference file ${path} has no column "${name}".`, {
          hint: 'Use the NYC Open Data file the pipeline config names, with its original header.',
        });
      }
      return i;
    },
  };
}
