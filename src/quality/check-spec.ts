import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { PipelineProject } from '../config/project.ts';
import { MedallionError } from '../core/errors.ts';

/**
 * Data-quality checks over whole tables, declared beside the data contracts: one YAML file per
 * dataset in the pipeline project's `checks/` folder. Validated when loaded, unknown keys rejected.
 * Each check reads one warehouse table (`silver.<dataset>` unless it names another, such as a gold
 * model) and ends `pass`, `warn` or `fail` (or `skip` when there is not enough data to judge).
 */

/** Folder of the pipeline project that holds the check files. */
export const CHECKS_FOLDER = 'checks';

const ident = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain column name');
const severity = z
  .enum(['warn', 'fail'])
  .default('warn')
  .describe('What a breach makes the check: `warn` (reported) or `fail` (reported, and `check`/`run` exit non-zero).');
const table = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/, 'must be schema.table, e.g. gold.fact_event_metrics')
  .optional()
  .describe('Warehouse table the check reads (default silver.<dataset>).');
const dateColumn = ident.default('event_date').describe('Date column that cuts the table into days.');

/** A duration like `90s`, `30m`, `6h` or `3d`, in seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

const duration = z
  .string()
  .refine((s) => parseDuration(s) !== undefined, 'must be a duration like 90s, 30m, 6h or 3d')
  .transform((s) => parseDuration(s)!);

const groupBy = z
  .union([ident, z.strictObject({ name: ident, sql: z.string().min(1) })])
  .optional()
  .describe(
    'Judge each group apart: a column name, or {name, sql} for an SQL expression (e.g. the borough letter of a DBN).',
  );

const common = {
  name: ident.describe('Unique name of the check within its file.'),
  description: z.string().optional(),
  table,
};

const freshnessSchema = z.strictObject({
  ...common,
  type: z.literal('freshness'),
  column: ident.describe('Timestamp column whose newest value is compared with now (event time or ingest time).'),
  warnAfter: duration.optional().describe('Warn when the newest value is older than this.'),
  failAfter: duration.optional().describe('Fail when the newest value is older than this.'),
});

const volumeSchema = z.strictObject({
  ...common,
  type: z.literal('volume'),
  severity,
  dateColumn,
  groupBy,
  weeks: z.number().int().min(1).max(52).default(4).describe('Previous weeks whose same weekday forms the baseline.'),
  minWeeks: z
    .number()
    .int()
    .min(1)
    .default(2)
    .describe('Fewest baseline days with data needed to judge; fewer → skip.'),
  tolerance: z
    .number()
    .gt(0)
    .default(0.25)
    .describe('Largest accepted relative change against the baseline average (0.25 = ±25%).'),
});

const nullRateSchema = z.strictObject({
  ...common,
  type: z.literal('null_rate'),
  severity,
  dateColumn,
  columns: z.array(ident).min(1).describe('Columns whose share of nulls is measured.'),
  maxRate: z.number().min(0).max(1).default(0).describe('Largest accepted share of nulls (0…1) per column.'),
});

const driftSchema = z.strictObject({
  ...common,
  type: z.literal('drift'),
  severity,
  dateColumn,
  column: ident.describe('Numeric column whose distribution per group is compared (e.g. attendance_rate).'),
  groupBy: ident.describe('Column of the groups (e.g. dbn: one attendance rate per school).'),
  weight: ident.optional().describe('Column weighting each row (e.g. enrolled); default every row counts 1.'),
  days: z.number().int().min(1).default(5).describe('Newest complete days forming the current window.'),
  baselineDays: z.number().int().min(1).default(20).describe('Days before the current window forming the baseline.'),
  minWeight: z
    .number()
    .min(0)
    .default(0)
    .describe('Groups whose weight in either window is below this are left out (too few to judge).'),
  maxChange: z
    .number()
    .gt(0)
    .describe('Largest accepted mean absolute change of the value per group, weighted (0.05 = 5 points of a rate).'),
});

const checkSchema = z.discriminatedUnion('type', [freshnessSchema, volumeSchema, nullRateSchema, driftSchema]);

const checksFileSchema = z.strictObject({
  dataset: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/)
    .describe('The dataset these checks watch (its silver table is the default table).'),
  description: z.string().optional(),
  checks: z.array(checkSchema).min(1),
});

export type FreshnessCheck = z.infer<typeof freshnessSchema>;
export type VolumeCheck = z.infer<typeof volumeSchema>;
export type NullRateCheck = z.infer<typeof nullRateSchema>;
export type DriftCheck = z.infer<typeof driftSchema>;
/** One declared check, as validated. */
export type CheckSpec = z.infer<typeof checkSchema>;
/** One check file: a dataset and its checks. */
export interface CheckSuite {
  readonly file: string;
  readonly dataset: string;
  readonly checks: readonly CheckSpec[];
}

function invalid(file: string, message: string): MedallionError {
  return new MedallionError('MDL_CHECKS_INVALID', `Checks ${file}: ${message}`, {
    hint: 'Correct the check file; docs/contracts.md (Data-quality checks) lists the keys it accepts.',
  });
}

/** Parses and validates the text of one check file; errors name the file and the offending keys. */
export function parseChecks(text: string, file: string): CheckSuite {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new MedallionError('MDL_CHECKS_INVALID', `Checks ${file} cannot be read as YAML.`, {
      hint: 'Fix the YAML syntax of the check file.',
      cause: err,
    });
  }
  const parsed = checksFileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const detail = parsed.error.issues
      .slice(0, 5)
      .map((i) => {
        const at = i.path.join('.') || '(top level)';
        return i.code === 'unrecognized_keys' ? `${at}: unknown key(s) ${i.keys.join(', ')}` : `${at}: ${i.message}`;
      })
      .join('; ');
    throw invalid(file, `${detail}.`);
  }
  const seen = new Set<string>();
  for (const c of parsed.data.checks) {
    if (seen.has(c.name)) throw invalid(file, `two checks are named ${c.name}.`);
    seen.add(c.name);
    if (c.type === 'freshness') {
      if (c.warnAfter === undefined && c.failAfter === undefined) {
        throw invalid(file, `freshness check ${c.name} needs warnAfter, failAfter or both.`);
      }
      if (c.warnAfter !== undefined && c.failAfter !== undefined && c.warnAfter > c.failAfter) {
        throw invalid(file, `freshness check ${c.name} has warnAfter longer than failAfter.`);
      }
    }
    if (c.type === 'volume' && c.minWeeks > c.weeks) {
      throw invalid(file, `volume check ${c.name} has minWeeks above weeks.`);
    }
  }
  return { file, dataset: parsed.data.dataset, checks: parsed.data.checks };
}

/** Loads every `checks/*.yml` file of the project (none when the folder does not exist). */
export function loadChecks(project: PipelineProject): CheckSuite[] {
  const dir = join(project.dir, CHECKS_FOLDER);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => parseChecks(readFileSync(join(dir, f), 'utf8'), join(dir, f)));
}

/** The warehouse table a check reads: its own `table`, else `silver.<dataset>`. */
export function tableOf(suite: CheckSuite, check: CheckSpec): { schema: string; name: string } {
  const [schema, name] = (check.table ?? `silver.${suite.dataset}`).split('.') as [string, string];
  return { schema, name };
}
