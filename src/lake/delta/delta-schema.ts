import { MedallionError } from '../../core/errors.ts';

/** A column of a Delta table, typed the DuckDB way (`VARCHAR`, `BIGINT`, `DATE`, `TIMESTAMP`, `VARCHAR[]`, `DECIMAL(9,2)` …). */
export interface DeltaColumn {
  readonly name: string;
  readonly type: string;
  /** Defaults to true. */
  readonly nullable?: boolean;
}

/** Field metadata key under which Medallion keeps the exact DuckDB type (keys starting `delta` are reserved by the protocol). */
const DUCKDB_TYPE_KEY = 'medallion.duckdbType';

const PRIMITIVE_TO_DELTA: Readonly<Record<string, string>> = {
  VARCHAR: 'string',
  TEXT: 'string',
  STRING: 'string',
  BIGINT: 'long',
  INT8: 'long',
  INTEGER: 'integer',
  INT: 'integer',
  INT4: 'integer',
  SMALLINT: 'short',
  INT2: 'short',
  TINYINT: 'byte',
  INT1: 'byte',
  DOUBLE: 'double',
  FLOAT8: 'double',
  FLOAT: 'float',
  REAL: 'float',
  FLOAT4: 'float',
  BOOLEAN: 'boolean',
  BOOL: 'boolean',
  BLOB: 'binary',
  DATE: 'date',
  TIMESTAMP: 'timestamp',
  'TIMESTAMP WITH TIME ZONE': 'timestamp',
  TIMESTAMPTZ: 'timestamp',
};

const DELTA_TO_DUCKDB: Readonly<Record<string, string>> = {
  string: 'VARCHAR',
  long: 'BIGINT',
  integer: 'INTEGER',
  short: 'SMALLINT',
  byte: 'TINYINT',
  double: 'DOUBLE',
  float: 'FLOAT',
  boolean: 'BOOLEAN',
  binary: 'BLOB',
  date: 'DATE',
  timestamp: 'TIMESTAMPTZ',
  timestamp_ntz: 'TIMESTAMP',
};

type DeltaType = string | { readonly type: string; readonly [k: string]: unknown };

function unsupported(type: string): MedallionError {
  return new MedallionError(
    'MDL_DELTA_PROTOCOL',
    `Column type ${type} has no Delta Lake equivalent Medallion supports.`,
    {
      hint: 'Use VARCHAR, BIGINT, INTEGER, SMALLINT, TINYINT, DOUBLE, FLOAT, BOOLEAN, BLOB, DATE, TIMESTAMP, DECIMAL(p,s) or a list of those.',
    },
  );
}

/**
 * Delta protocol, "Schema Serialization Format": a DuckDB type as a Delta type. Primitive names
 * (string, long, integer, date, timestamp, decimal(p,s) …) are strings; arrays are objects with
 * `elementType` and `containsNull`. A naive DuckDB TIMESTAMP is stored as an instant in UTC (Delta's
 * `timestamp`; `timestamp_ntz` would need reader version 3 / writer version 7).
 */
export function deltaTypeOf(duckType: string): DeltaType {
  const t = duckType.trim().toUpperCase();
  if (t.endsWith('[]')) {
    return { type: 'array', elementType: deltaTypeOf(t.slice(0, -2)), containsNull: true };
  }
  const dec = /^(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$/.exec(t);
  if (dec) return `decimal(${dec[1]},${dec[2]})`;
  const p = PRIMITIVE_TO_DELTA[t];
  if (!p) throw unsupported(duckType);
  return p;
}

/** A Delta type as the DuckDB type a reader sees (used for tables Medallion did not create). */
export function duckTypeOf(delta: unknown): string {
  if (typeof delta === 'string') {
    const dec = /^decimal\((\d+),\s*(\d+)\)$/.exec(delta);
    if (dec) return `DECIMAL(${dec[1]},${dec[2]})`;
    const d = DELTA_TO_DUCKDB[delta];
    if (!d) throw unsupported(delta);
    return d;
  }
  if (delta && typeof delta === 'object' && (delta as { type?: unknown }).type === 'array') {
    return `${duckTypeOf((delta as { elementType: unknown }).elementType)}[]`;
  }
  throw unsupported(JSON.stringify(delta));
}

/** The `schemaString` of a metaData action for `columns` (partition columns included, as the protocol wants). */
export function schemaStringOf(columns: readonly DeltaColumn[]): string {
  return JSON.stringify({
    type: 'struct',
    fields: columns.map((c) => ({
      name: c.name,
      type: deltaTypeOf(c.type),
      nullable: c.nullable ?? true,
      metadata: { [DUCKDB_TYPE_KEY]: c.type.trim().toUpperCase() },
    })),
  });
}

/** The columns described by a `schemaString`, with Medallion's exact DuckDB type where it recorded one. */
export function columnsOfSchemaString(schemaString: string): DeltaColumn[] {
  const schema = JSON.parse(schemaString) as {
    fields: { name: string; type: unknown; nullable?: boolean; metadata?: Record<string, unknown> }[];
  };
  return schema.fields.map((f) => {
    const recorded = f.metadata?.[DUCKDB_TYPE_KEY];
    return {
      name: f.name,
      type: typeof recorded === 'string' ? recorded : duckTypeOf(f.type),
      nullable: f.nullable ?? true,
    };
  });
}

/** Whether a DuckDB type is a naive timestamp (stored in files as a UTC instant). */
export function isNaiveTimestamp(duckType: string): boolean {
  return duckType.trim().toUpperCase() === 'TIMESTAMP';
}

/** Whether per-file min/max statistics are kept for a column of this type (not for booleans, blobs or lists). */
export function hasMinMaxStats(duckType: string): boolean {
  const t = duckType.trim().toUpperCase();
  return !t.endsWith('[]') && t !== 'BOOLEAN' && t !== 'BOOL' && t !== 'BLOB';
}
