import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openContext, type PipelineContext } from '../../src/pipeline/context.ts';

/** A pipeline context on the flagship project with its own temporary data directory. */
export async function tempContext(): Promise<{ ctx: PipelineContext; dataDir: string; cleanup(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'medallion-test-'));
  const ctx = await openContext({ dataDir });
  return {
    ctx,
    dataDir,
    async cleanup() {
      await ctx.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** One attendance event line (the simulator's format). */
export function eventLine(
  id: string,
  overrides: Partial<Record<'dbn' | 'student_id' | 'event_time' | 'status', string>> & { schema_version?: number } = {},
): string {
  return JSON.stringify({
    schema_version: overrides.schema_version ?? 1,
    event_id: id,
    event_type: 'attendance',
    dbn: overrides.dbn ?? '01M015',
    student_id: overrides.student_id ?? '204512345',
    event_time: overrides.event_time ?? '2018-10-01T08:03:12-04:00',
    status: overrides.status ?? 'present',
  });
}
