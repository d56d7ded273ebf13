import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MedallionError } from '../core/errors.ts';
import { quoteLiteral } from '../engine/duckdb.ts';

/**
 * A data contract: what a valid record of an event dataset is. Declared in the pipeline project
 * (contracts/<dataset>.yml), validated when loaded, and compiled to set-based SQL that refine runs
 * over whole batches. Each rule has an action: `drop` (record to quarantine), `warn` (kept, counted)
 * or `fail` (the batch stops and nothing of it is committed).
 */
const action = z.enum(['drop', 'warn', 'fail']);

const fieldSchema = z.strictObject({
  name: z.string().regex(/^[a-z_][a-z0-9_]*$/),
  type: z.enum(['string', 'integer', 'timestamp']),
  description: z.string().optional(),
  required: z.boolean().default(false),
  accepted: z.array(z.union([z.string(), z.number()])).optional(),
  pattern: z.string().optional(),
  min: z
    .union([z.number(), z.string()])
    .optional()
    .describe('Smallest accepted value: a number for integers, an ISO-8601 timestamp for timestamps.'),
  max: z
    .union([z.number(), z.string()])
    .optional()
    .describe('Largest accepted value: a number for integers, an ISO-8601 timestamp for timestamps.'),
  references: z
    .strictObject({ dataset: z.string(), column: z.string() })
    .optional()
    .describe('The value must appear in this column of a reference dataset.'),
  pseudonymize: z
    .boolean()
    .default(false)
    .describe('Replace with a keyed HMAC in silver (column <name without _id>_key).'),
  action: action.default('drop'),
});

const contractSchema = z.strictObject({
  dataset: z.string(),
  description: z.string().optional(),
  format: z.literal('json'),
  key: z.string().describe('Field that identifies an event; duplicates of it are removed across all history.'),
  eventTime: z.string().describe('Timestamp field the watermark and event date are computed from.'),
  eventDateTimeZone: z
    .string()
    .default('UTC')
    .describe('Time zone in which event_date is the local date of eventTime.'),
  fields: z.array(fieldSchema).min(1),
});

export type ContractField = z.infer<typeof fieldSchema>;
export type Contract = z.infer<typeof contractSchema>;

/** Loads and validates a contract file; errors name the file and the offending keys. */
export function loadContract(path: string): Contract {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new MedallionError('MDL_CONTRACT_INVALID', `Contract ${path} cannot be read as YAML.`, {
      hint: 'Check the file exists and its YAML syntax.',
      cause: err,
    });
  }
  const parsed = contractSchema.safeParse(raw);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`)
      .join('; ');
    throw new MedallionError('MDL_CONTRACT_INVALID', `Contract ${path}: ${detail}.`, {
      hint: 'Correct the contract; see docs/contracts.md for the keys it accepts.',
    });
  }
  const c = parsed.data;
  const names = new Set(c.fields.map((f) => f.name));
  for (const needed of [c.key, c.eventTime]) {
    if (!names.has(needed)) {
      throw new MedallionError('MDL_CONTRACT_INVALID', `Contract ${path}: "${needed}" is not one of its fields.`, {
        hint: 'Declare the key and event-time fields under `fields`.',
      });
    }
  }
  for (const f of c.fields) {
    for (const b of [f.min, f.max]) {
      if (b === undefined) continue;
      const ok =
        f.type === 'integer'
          ? typeof b === 'number'
          : f.type === 'timestamp'
            ? typeof b === 'string' && !Number.isNaN(Date.parse(b))
            : true;
      if (!ok) {
        throw new MedallionError(
          'MDL_CONTRACT_INVALID',
          `Contract ${path}: field ${f.name} has a min/max that is not a ${f.type}.`,
          {
            hint: 'Use numbers for integer fields and ISO-8601 timestamps for timestamp fields.',
          },
        );
      }
    }
    if (f.pattern) {
      try {
        new RegExp(f.pattern);
      } catch {
        throw new MedallionError('MDL_CONTRACT_INVALID', `Contract ${path}: field ${f.name} has an invalid pattern.`, {
          hint: 'Use a regular expression that DuckDB and JavaScript both accept.',
        });
      }
    }
  }
  return c;
}

/** A rule compiled to SQL over a JSON column `j`: the condition under which a record breaks it. */
export interface CompiledRule {
  readonly name: string;
  readonly action: 'drop' | 'warn' | 'fail';
  readonly brokenWhen: string;
}

const JSON_TYPES: Record<ContractField['type'], string> = {
  string: `IN ('VARCHAR')`,
  integer: `IN ('UBIGINT', 'BIGINT')`,
  timestamp: `IN ('VARCHAR')`,
};

/**
 * How compiled SQL reaches a field. Refine extracts every contract field of a record once (one
 * multi-path `json_type` and one multi-path `json_extract_string`) and computes each typed value
 * once; rules refer to those: `type(f)` is the field's JSON type name ('VARCHAR', 'BIGINT', 'NULL'…,
 * NULL when absent), `text(f)` its value as text, `value(f)` its typed value (NULL when absent or of
 * another type).
 */
export interface FieldRefs {
  type(field: ContractField): string;
  text(field: ContractField): string;
  value(field: ContractField): string;
}

/** The SQL expression of a field's typed value from its JSON type and text. */
export function typedValueSql(f: ContractField, refs: Pick<FieldRefs, 'type' | 'text'>): string {
  const t = refs.type(f);
  const x = refs.text(f);
  switch (f.type) {
    case 'string':
      return `CASE WHEN ${t} = 'VARCHAR' THEN ${x} END`;
    case 'integer':
      return `CASE WHEN ${t} IN ('UBIGINT', 'BIGINT') THEN TRY_CAST(${x} AS BIGINT) END`;
    case 'timestamp':
      return `CASE WHEN ${t} = 'VARCHAR' THEN TRY_CAST(${x} AS TIMESTAMPTZ) END`;
  }
}

/**
 * Compiles the contract's rules. `referenceSql(dataset, column)` returns a relation (SQL) with the
 * reference values in a column named `v`. Rule names are stable: `<field>.required`, `<field>.type`,
 * `<field>.accepted`, `<field>.range`, `<field>.pattern`, `<field>.reference`.
 */
export function compileRules(
  contract: Contract,
  refs: FieldRefs,
  referenceSql: (dataset: string, column: string) => string,
): CompiledRule[] {
  const rules: CompiledRule[] = [];
  for (const f of contract.fields) {
    const t = refs.type(f);
    const present = `coalesce(${t} <> 'NULL', false)`;
    const value = refs.value(f);
    if (f.required) rules.push({ name: `${f.name}.required`, action: f.action, brokenWhen: `NOT ${present}` });
    rules.push({
      name: `${f.name}.type`,
      action: f.action,
      brokenWhen: `${present} AND (${t} NOT ${JSON_TYPES[f.type]} OR ${value} IS NULL)`,
    });
    if (f.accepted) {
      const list = f.accepted.map((v) => (typeof v === 'number' ? String(v) : quoteLiteral(v))).join(', ');
      rules.push({
        name: `${f.name}.accepted`,
        action: f.action,
        brokenWhen: `(${value}) IS NOT NULL AND (${value}) NOT IN (${list})`,
      });
    }
    if (f.min !== undefined || f.max !== undefined) {
      const bound = (b: number | string) =>
        f.type === 'timestamp'
          ? `TIMESTAMPTZ ${quoteLiteral(String(b))}`
          : typeof b === 'number'
            ? String(b)
            : quoteLiteral(b);
      const checks = [
        ...(f.min !== undefined ? [`(${value}) < ${bound(f.min)}`] : []),
        ...(f.max !== undefined ? [`(${value}) > ${bound(f.max)}`] : []),
      ];
      rules.push({
        name: `${f.name}.range`,
        action: f.action,
        brokenWhen: `(${value}) IS NOT NULL AND (${checks.join(' OR ')})`,
      });
    }
    if (f.pattern) {
      rules.push({
        name: `${f.name}.pattern`,
        action: f.action,
        brokenWhen: `(${value}) IS NOT NULL AND NOT regexp_full_match((${value})::VARCHAR, ${quoteLiteral(f.pattern)})`,
      });
    }
    if (f.references) {
      rules.push({
        name: `${f.name}.reference`,
        action: f.action,
        brokenWhen: `(${value}) IS NOT NULL AND regexp_full_match((${value})::VARCHAR, ${quoteLiteral(f.pattern ?? '.*')})
          AND (${value}) NOT IN (SELECT v FROM ${referenceSql(f.references.dataset, f.references.column)})`,
      });
    }
  }
  return rules;
}
