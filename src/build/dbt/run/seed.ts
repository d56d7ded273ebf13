import { MedallionError } from '../../../core/errors.ts';
import type { WarehouseAdapter } from '../adapter/warehouse-adapter.ts';
import type { Relation } from '../compile/relation.ts';
import type { NodeConfig } from '../graph/manifest.ts';

/**
 * dbt seeds (dbt docs "Add Seeds to your DAG", "Seed configurations"; dbt-common `agate_helper`
 * `build_type_tester`, dbt-adapters `convert_*_type`): a CSV file with a header row becomes a table.
 * Each column's type is the first of these that every non-null value fits — integer (`integer`),
 * number (`double`), date `YYYY-MM-DD` (`date`), date-time `YYYY-MM-DD HH:MM:SS` or ISO 8601
 * (`timestamp`), boolean `true`/`false` in any case (`boolean`) — else text (`varchar`); `''` and
 * `null` are null. `column_types` overrides a column's type (its values are then kept as text and
 * cast). The table is replaced on every run, as `dbt seed` with `--full-refresh` does (the result is
 * the same as its truncate-and-insert for an unchanged header).
 */
export interface SeedTable {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | null)[])[];
}

/** Parses CSV text (RFC 4180: quoted fields, doubled quotes, CRLF or LF). */
export function parseCsv(text: string, file: string): SeedTable {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let i = 0;
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let fieldWasQuoted = false;
  const endField = () => {
    record.push(field);
    field = '';
    fieldWasQuoted = false;
  };
  while (i < src.length) {
    const ch = src[i]!;
    if (quoted) {
      if (ch === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '' && !fieldWasQuoted) {
      quoted = true;
      fieldWasQuoted = true;
    } else if (ch === ',') endField();
    else if (ch === '\n' || ch === '\r') {
      endField();
      if (!(record.length === 1 && record[0] === '')) records.push(record);
      record = [];
      if (ch === '\r' && src[i + 1] === '\n') i++;
    } else field += ch;
    i++;
  }
  if (quoted) {
    throw new MedallionError('MDL_DBT_PROJECT_INVALID', `${file}: a quoted field is not closed.`, {
      hint: 'Close every opening double quote.',
    });
  }
  if (field !== '' || record.length > 0) {
    endField();
    records.push(record);
  }
  const [header, ...body] = records;
  if (!header || header.length === 0 || header.every((h) => h === '')) {
    throw new MedallionError('MDL_DBT_PROJECT_INVALID', `${file}: a seed needs a header row.`, {
      hint: 'Put the column names on the first line.',
    });
  }
  body.forEach((r, n) => {
    if (r.length !== header.length) {
      throw new MedallionError(
        'MDL_DBT_PROJECT_INVALID',
        `${file}:${n + 2}: ${r.length} fields where the header has ${header.length}.`,
        { hint: 'Give every row as many fields as the header (quote fields holding commas).' },
      );
    }
  });
  return { columns: header.map((h) => h.trim()), rows: body };
}

const NULLS = new Set(['', 'null']);
const TYPES: readonly [string, (v: string) => boolean][] = [
  ['integer', (v) => /^[+-]?\d+$/.test(v.trim())],
  ['double', (v) => /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.trim())],
  ['date', (v) => /^\d{4}-\d{2}-\d{2}$/.test(v.trim())],
  ['timestamp', (v) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(v.trim())],
  ['timestamp', (v) => /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(v.trim())],
  ['boolean', (v) => /^(true|false)$/i.test(v.trim())],
];

/** The SQL type dbt infers for column `index` of a seed. */
export function inferSeedType(rows: readonly (readonly (string | null)[])[], index: number): string {
  const values = rows.map((r) => r[index]!).filter((v) => !NULLS.has(v.trim().toLowerCase()));
  if (values.length === 0) return 'integer';
  for (const [type, fits] of TYPES) if (values.every(fits)) return type;
  return 'varchar';
}

function literal(value: string, type: string, quote: (s: string) => string): string {
  if (type !== 'varchar' && NULLS.has(value.trim().toLowerCase())) return 'null';
  if (type === 'varchar' && NULLS.has(value.trim().toLowerCase())) return 'null';
  if (type === 'integer' || type === 'double') return value.trim();
  if (type === 'boolean') return value.trim().toLowerCase();
  return quote(type === 'varchar' ? value : value.trim());
}

/** Loads a seed into `relation`; returns the number of rows inserted. */
export async function loadSeed(
  adapter: WarehouseAdapter,
  relation: Relation,
  table: SeedTable,
  config: NodeConfig,
): Promise<number> {
  const overrides = (config['column_types'] ?? {}) as Record<string, string>;
  const types = table.columns.map((c, i) => overrides[c] ?? inferSeedType(table.rows, i));
  const inferred = table.columns.map((c, i) => (overrides[c] ? 'varchar' : types[i]!));
  const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
  const w = adapter.warehouse;
  await adapter.ensureSchema(relation.schema);
  await w.transaction(async () => {
    const kind = await adapter.relationKind(relation);
    if (kind) await adapter.drop(relation, kind);
    await w.exec(
      `create table ${relation.render()} (${table.columns.map((c, i) => `${adapter.quote(c)} ${types[i]}`).join(', ')})`,
    );
    for (let start = 0; start < table.rows.length; start += 1000) {
      const chunk = table.rows.slice(start, start + 1000);
      const values = chunk
        .map(
          (r) =>
            `(${r
              .map((v, i) => {
                const lit = literal(v ?? '', inferred[i]!, q);
                return overrides[table.columns[i]!] && lit !== 'null' ? `cast(${lit} as ${types[i]})` : lit;
              })
              .join(', ')})`,
        )
        .join(',\n');
      await w.exec(`insert into ${relation.render()} values\n${values}`);
    }
  });
  return table.rows.length;
}
