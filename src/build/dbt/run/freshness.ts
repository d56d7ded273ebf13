import { join } from 'node:path';
import { asMedallionError } from '../../../core/errors.ts';
import { writeTextAtomic } from '../../../core/fs-atomic.ts';
import type { Warehouse } from '../../../warehouse/warehouse.ts';
import type { Manifest } from '../graph/manifest.ts';
import type { DbtNodeResult } from '../types.ts';
import { progressLine, seconds } from './progress-lines.ts';

/**
 * `dbt source freshness` (dbt docs "Source freshness", "freshness" and "loaded_at_field"): for each
 * selected source table with a `freshness` config and a `loaded_at_field`, the age of its newest row
 * (`max(loaded_at_field)` against the database's current time) is compared with `warn_after` and
 * `error_after` (`{count, period: minute|hour|day}`): older than error_after → `error`, than
 * warn_after → `warn`, else `pass`; a failing query is a `runtime error`. Results go to
 * `target/sources.json` (dbt's sources artifact shape) and into the returned results.
 */
interface Threshold {
  readonly count: number;
  readonly period: string;
}

const PERIOD_S: Record<string, number> = { minute: 60, hour: 3600, day: 86400 };

function thresholdS(t: unknown): number | undefined {
  if (!t || typeof t !== 'object') return undefined;
  const { count, period } = t as Threshold;
  if (typeof count !== 'number' || !(period in PERIOD_S)) return undefined;
  return count * PERIOD_S[period]!;
}

export async function sourceFreshness(
  manifest: Manifest,
  selected: ReadonlySet<string>,
  warehouse: Warehouse,
  emit: (line: string) => void,
  targetPath: string,
  invocationId: string,
): Promise<DbtNodeResult[]> {
  const sources = [...manifest.sources.values()].filter((s) => {
    const f = s.config['freshness'];
    return selected.has(s.uniqueId) && f && typeof f === 'object' && typeof s.config['loaded_at_field'] === 'string';
  });
  const results: DbtNodeResult[] = [];
  const artifacts: Record<string, unknown>[] = [];
  for (const [i, s] of sources.entries()) {
    const t0 = performance.now();
    const name = `${s.sourceName}.${s.name}`;
    emit(progressLine(i + 1, sources.length, `START freshness of ${name}`, 'RUN'));
    const freshness = s.config['freshness'] as { warn_after?: unknown; error_after?: unknown };
    let status: 'pass' | 'warn' | 'error';
    let message: string;
    try {
      const rows = await warehouse.query<{ max_loaded_at: unknown; snapshotted_at: unknown; age: unknown }>(
        `select max(${String(s.config['loaded_at_field'])})::timestamp as max_loaded_at, now()::timestamp as snapshotted_at,
                epoch(now()::timestamp) - epoch(max(${String(s.config['loaded_at_field'])})::timestamp) as age
         from ${s.relation.render()}`,
      );
      const age = Number(rows[0]?.age ?? Number.POSITIVE_INFINITY);
      const errorS = thresholdS(freshness.error_after);
      const warnS = thresholdS(freshness.warn_after);
      status = errorS !== undefined && age > errorS ? 'error' : warnS !== undefined && age > warnS ? 'warn' : 'pass';
      message = status;
      artifacts.push({
        unique_id: s.uniqueId,
        max_loaded_at: String(rows[0]?.max_loaded_at ?? ''),
        snapshotted_at: String(rows[0]?.snapshotted_at ?? ''),
        max_loaded_at_time_ago_in_s: age,
        status,
        criteria: {
          warn_after: freshness.warn_after ?? null,
          error_after: freshness.error_after ?? null,
          filter: null,
        },
        execution_time: (performance.now() - t0) / 1000,
        thread_id: 'Thread-1',
        adapter_response: {},
        timing: [],
      });
    } catch (err) {
      status = 'error';
      message = asMedallionError(err, 'MDL_DBT_RUN').message;
      artifacts.push({ unique_id: s.uniqueId, status: 'runtime error', error: message });
    }
    const elapsed = (performance.now() - t0) / 1000;
    const word = status === 'pass' ? 'PASS' : status === 'warn' ? 'WARN' : 'ERROR STALE';
    emit(progressLine(i + 1, sources.length, `${word} freshness of ${name}`, `${word} in ${seconds(elapsed)}`));
    results.push({
      uniqueId: s.uniqueId,
      name,
      resourceType: 'source',
      status: status === 'pass' ? 'pass' : status === 'warn' ? 'warn' : 'error',
      message,
      executionTimeS: elapsed,
    });
  }
  await writeTextAtomic(
    join(targetPath, 'sources.json'),
    `${JSON.stringify(
      {
        metadata: {
          dbt_schema_version: 'https://schemas.getdbt.com/dbt/sources/v3.json',
          generated_at: new Date().toISOString(),
          invocation_id: invocationId,
          env: {},
        },
        results: artifacts,
        elapsed_time: results.reduce((a, r) => a + r.executionTimeS, 0),
      },
      null,
      2,
    )}\n`,
  );
  return results;
}
