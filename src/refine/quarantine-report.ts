import type { PipelineProject } from '../config/project.ts';
import { quoteLiteral, type SqlSession } from '../engine/duckdb.ts';
import type { Storage } from '../storage/storage.ts';
import { type Contract, loadContract } from './contract.ts';
import { layerRelation } from './layer-tables.ts';

/** One rule's share of the quarantine, with what it means. */
export interface RuleCount {
  readonly rule: string;
  readonly records: number;
  readonly explanation: string;
}

/** A quarantined record, as received, with where it came from and what it broke. */
export interface QuarantineSample {
  readonly rawValue: string | null;
  readonly violations: readonly string[];
  readonly position: string;
  readonly quarantinedAt: string;
}

/** What `medallion quarantine` shows. */
export interface QuarantineReport {
  readonly dataset: string;
  readonly records: number;
  readonly byRule: readonly RuleCount[];
  readonly samples: readonly QuarantineSample[];
}

/** One sentence on what breaking a rule means, from the contract that declares it. */
export function explainRule(contract: Contract, rule: string): string {
  if (rule === 'malformed_json') return 'the record is not a JSON object (truncated, garbage or not UTF-8 text)';
  const [name, kind] = rule.split('.') as [string, string];
  const f = contract.fields.find((x) => x.name === name);
  if (!f) return 'a rule of an earlier version of the contract';
  switch (kind) {
    case 'required':
      return `${name} is missing or null`;
    case 'type':
      return `${name} is not a ${f.type}${f.type === 'timestamp' ? ' (ISO-8601 text)' : ''}`;
    case 'accepted':
      return `${name} is not one of ${f.accepted?.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'range':
      return `${name} is outside ${f.min ?? '−∞'} … ${f.max ?? '+∞'}`;
    case 'pattern':
      return `${name} does not match ${f.pattern}`;
    case 'reference':
      return `${name} is not a known value of ${f.references?.dataset}.${f.references?.column}`;
    default:
      return rule;
  }
}

/** Counts the quarantine of the event dataset by rule and picks samples (optionally of one rule). */
export async function quarantineReport(
  project: PipelineProject,
  storage: Storage,
  engine: SqlSession,
  options: { rule?: string; limit?: number } = {},
): Promise<QuarantineReport> {
  const dataset = project.config.events.dataset;
  const contract = loadContract(project.resolve(project.config.events.contract));
  const rel = await layerRelation(project, storage, engine, 'quarantine');
  if (!rel) return { dataset, records: 0, byRule: [], samples: [] };
  const total = (await engine.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${rel}`))[0]!.n;
  const rules = await engine.all<{ rule: string; n: number }>(
    `SELECT rule, count(*)::BIGINT AS n FROM (SELECT unnest(violations) AS rule FROM ${rel}) GROUP BY rule ORDER BY n DESC, rule`,
  );
  const where = options.rule ? `WHERE list_contains(violations, ${quoteLiteral(options.rule)})` : '';
  const samples = await engine.all<{
    raw_value: string | null;
    violations: string[];
    position: string;
    quarantined_at: string;
  }>(
    `SELECT raw_value, violations,
            coalesce(kafka_topic || ':' || kafka_partition || '@' || kafka_offset, source_file || ':' || source_line) AS position,
            quarantined_at
     FROM ${rel} ${where} ORDER BY quarantined_at DESC, bronze_stream, bronze_offset LIMIT ${Math.max(0, options.limit ?? 5)}`,
  );
  return {
    dataset,
    records: total,
    byRule: rules.map((r) => ({ rule: r.rule, records: r.n, explanation: explainRule(contract, r.rule) })),
    samples: samples.map((s) => ({
      rawValue: s.raw_value,
      violations: s.violations,
      position: s.position,
      quarantinedAt: s.quarantined_at,
    })),
  };
}

/** A human rendering of the report. */
export function formatQuarantineReport(r: QuarantineReport): string {
  if (r.records === 0) return `quarantine of ${r.dataset} is empty.`;
  const width = Math.max(...r.byRule.map((x) => x.rule.length));
  const lines = [
    `quarantine of ${r.dataset}: ${r.records.toLocaleString('en-US')} record(s); by rule (a record may break several):`,
    '',
  ];
  for (const x of r.byRule) lines.push(`  ${x.rule.padEnd(width)}  ${String(x.records).padStart(8)}  ${x.explanation}`);
  if (r.samples.length > 0) {
    lines.push('', 'samples:');
    for (const s of r.samples) {
      const raw =
        s.rawValue === null
          ? '(not UTF-8 text)'
          : s.rawValue.length > 140
            ? `${s.rawValue.slice(0, 139)}…`
            : s.rawValue;
      lines.push(`  ${s.position}  [${s.violations.join(', ')}]`, `    ${raw}`);
    }
  }
  return lines.join('\n');
}
