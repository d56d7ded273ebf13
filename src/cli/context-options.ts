import { openContext, type PipelineContext } from '../pipeline/context.ts';
import type { OptionValues } from './command.ts';

/** Opens the pipeline context named by the global options and closes it after `fn`. */
export async function withContext<T>(values: OptionValues, fn: (ctx: PipelineContext) => Promise<T>): Promise<T> {
  const ctx = await openContext({
    projectDir: values['project'] as string | undefined,
    dataDir: values['data-dir'] as string | undefined,
  });
  const { attachLineage } = await import('../lineage/lineage-observer.ts');
  let lineage: Awaited<ReturnType<typeof attachLineage>>;
  try {
    lineage = attachLineage(ctx);
  } catch (err) {
    await ctx.close();
    throw err;
  }
  try {
    return await fn(ctx);
  } finally {
    await lineage?.close();
    await ctx.close();
  }
}

/** Writes a JSON document to stdout (alone: logs and progress go to stderr). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** An AbortSignal that fires on the first SIGINT/SIGTERM; a second one exits at once. */
export function shutdownSignal(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`\nmedallion: second ${sig}, exiting now\n`);
      process.exit(130);
    }
    process.stderr.write(`\nmedallion: ${sig} received, finishing the batch in hand (again to exit at once)…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}
