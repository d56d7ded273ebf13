import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadProject } from '../../config/project.ts';
import { MedallionError } from '../../core/errors.ts';
import { progress, registerSecret } from '../../core/logger.ts';
import { readStatus } from '../../ops/status.ts';
import { runPipeline } from '../../pipeline/run-pipeline.ts';
import { startDashboard } from '../../serve/dashboard.ts';
import { resolveBrokers } from '../../sources/event-source.ts';
import { type Command, intOption } from '../command.ts';
import { shutdownSignal, withContext } from '../context-options.ts';

const portOption = {
  type: 'string',
  placeholder: 'P',
  description: 'Port of the dashboard (default: serve.port of the config, 8787; 0 picks a free one).',
} as const;
const hostOption = {
  type: 'string',
  placeholder: 'HOST',
  description: 'Address to bind (default: serve.host of the config, 127.0.0.1; $MEDALLION_SERVE_HOST overrides).',
} as const;

const tokenOption = {
  type: 'string',
  placeholder: 'T',
  description:
    'Require this access token on every request (default: $MEDALLION_SERVE_TOKEN): send "Authorization: Bearer T", or open /?token=T once to get a cookie. Needed to serve beyond 127.0.0.1.',
} as const;

function waitForSignal(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function hostOf(values: Record<string, unknown>): string | undefined {
  return (values['host'] as string | undefined) ?? process.env.MEDALLION_SERVE_HOST;
}

/** `medallion serve`. */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve the dashboard, fed only by gold (the warehouse opened read-only), until Ctrl-C.',
  usage: 'serve [--port P] [--host HOST] [--token T]',
  details:
    'Pages: Now, Equity, Schools, Streaming vs batch, Trends, Pipeline; open pages update when a new gold build lands. Prometheus metrics at /metrics on the same server (behind the token when there is one; Kafka lag when $MEDALLION_KAFKA_BROKERS is set). Binding to an address other than 127.0.0.1 without a token prints a warning.',
  options: { port: portOption, host: hostOption, token: tokenOption },
  async run(values) {
    const project = loadProject({
      projectDir: values['project'] as string | undefined,
      dataDir: values['data-dir'] as string | undefined,
    });
    const signal = shutdownSignal();
    const token = (values['token'] as string | undefined) ?? (process.env.MEDALLION_SERVE_TOKEN || undefined);
    if (token) registerSecret(token);
    const dashboard = await startDashboard({
      project,
      port: intOption(values, 'port', 0),
      host: hostOf(values),
      token,
    });
    process.stdout.write(`dashboard at ${dashboard.url}${token ? ' (open it once as <url>?token=<token>)' : ''}\n`);
    await waitForSignal(signal);
    await dashboard.close();
    return 0;
  },
};

async function landingFiles(dir: string): Promise<number> {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith('.jsonl')).length;
  } catch {
    return 0;
  }
}

/** `medallion demo`: the main job of `npm start`. */
export const demoCommand: Command = {
  name: 'demo',
  summary:
    'The demo: simulate a school day for every open NYC school, run every layer (bronze → silver → warehouse → gold) and serve the dashboard.',
  usage: 'demo [--events N] [--no-serve] [--kafka BROKERS] [--port P]',
  details:
    'Events already simulated in the data directory are reused (delete it, or set MEDALLION_HOME, for a fresh demo).',
  options: {
    events: {
      type: 'string',
      placeholder: 'N',
      description: 'Simulate N records instead of a full school day (≈1.08 M).',
    },
    'no-serve': { type: 'boolean', description: 'Stop after the pipeline has run (do not serve the dashboard).' },
    kafka: {
      type: 'string',
      placeholder: 'BROKERS',
      description: 'Stream through Kafka instead of the landing directory (default: $MEDALLION_KAFKA_BROKERS).',
    },
    port: portOption,
    host: hostOption,
  },
  async run(values) {
    const signal = shutdownSignal();
    const brokers = resolveBrokers(values['kafka'] as string | undefined);
    const events = intOption(values, 'events', 1);
    const port = intOption(values, 'port', 0);
    const started = Date.now();
    const project = await withContext(values, async (ctx) => {
      const dataset = ctx.project.config.events.dataset;
      const status = await readStatus(ctx.project, ctx.storage, ctx.engine);
      const landed = await landingFiles(join(ctx.project.paths.landing, dataset));
      if (status.bronze.rows > 0 || (!brokers && landed > 0)) {
        progress(`demo: reusing the events already in ${ctx.project.paths.root} (delete that folder for a fresh demo)`);
      } else {
        const { simulateCommand } = await import('./simulate-command.ts');
        const args: Record<string, unknown> = { ...values, faults: 'default', json: false };
        if (events !== undefined) args['events'] = String(events);
        const code = await simulateCommand.run(args as never, []);
        if (code !== 0)
          throw new MedallionError('MDL_INTERNAL', 'the simulation failed.', { hint: 'See the error above.' });
      }
      await runPipeline(ctx, { once: true, kafka: brokers, signal });
      const after = await readStatus(ctx.project, ctx.storage, ctx.engine);
      progress(
        `demo: pipeline done in ${((Date.now() - started) / 1000).toFixed(1)} s — bronze ${after.bronze.rows.toLocaleString('en-US')}, silver ${after.silver.rows.toLocaleString('en-US')}, quarantine ${after.quarantine.rows.toLocaleString('en-US')}, duplicates ${after.duplicates.rows.toLocaleString('en-US')}, late ${after.late.rows.toLocaleString('en-US')}; gold ${after.gold.models} models, tests ${after.gold.tests.pass} pass / ${after.gold.tests.fail} fail`,
      );
      return ctx.project;
    });
    if (values['no-serve'] || signal.aborted) return 0;
    const dashboard = await startDashboard({ project, port, host: hostOf(values) });
    process.stdout.write(`dashboard at ${dashboard.url}\n`);
    progress('demo: press Ctrl-C to stop');
    await waitForSignal(signal);
    await dashboard.close();
    return 0;
  },
};
