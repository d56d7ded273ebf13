import { asMedallionError } from '../core/errors.ts';
import { logger } from '../core/logger.ts';
import { type Command, helpText, parseCommandArgs } from './command.ts';

/**
 * Every command, in the order `medallion --help` lists them. Each is loaded only when it runs (or
 * for the full help): a command's modules (DuckDB, the Kafka client, the dbt runner…) take time to
 * load, and one command needs only its own.
 */
const REGISTRY: readonly { readonly name: string; load(): Promise<Command> }[] = [
  { name: 'demo', load: async () => (await import('./commands/serve-commands.ts')).demoCommand },
  { name: 'simulate', load: async () => (await import('./commands/simulate-command.ts')).simulateCommand },
  { name: 'ingest', load: async () => (await import('./commands/layer-commands.ts')).ingestCommand },
  { name: 'refine', load: async () => (await import('./commands/layer-commands.ts')).refineCommand },
  { name: 'load', load: async () => (await import('./commands/layer-commands.ts')).loadCommand },
  { name: 'build', load: async () => (await import('./commands/pipeline-commands.ts')).buildCommand },
  { name: 'test', load: async () => (await import('./commands/pipeline-commands.ts')).testCommand },
  { name: 'check', load: async () => (await import('./commands/check-command.ts')).checkCommand },
  { name: 'run', load: async () => (await import('./commands/pipeline-commands.ts')).runCommand },
  { name: 'replay', load: async () => (await import('./commands/replay-command.ts')).replayCommand },
  { name: 'dbt', load: async () => (await import('./commands/dbt-command.ts')).dbtCommand },
  { name: 'serve', load: async () => (await import('./commands/serve-commands.ts')).serveCommand },
  { name: 'export', load: async () => (await import('./commands/export-command.ts')).exportCommand },
  { name: 'status', load: async () => (await import('./commands/status-command.ts')).statusCommand },
  { name: 'query', load: async () => (await import('./commands/query-command.ts')).queryCommand },
  { name: 'quarantine', load: async () => (await import('./commands/quarantine-command.ts')).quarantineCommand },
  { name: 'optimize', load: async () => (await import('./commands/maintenance-commands.ts')).optimizeCommand },
  { name: 'vacuum', load: async () => (await import('./commands/maintenance-commands.ts')).vacuumCommand },
  { name: 'config', load: async () => (await import('./commands/config-command.ts')).configCommand },
];

/** Every command, loaded (for the full help and for tests that check every command's --help). */
export async function allCommands(): Promise<Command[]> {
  return Promise.all(REGISTRY.map((r) => r.load()));
}

function mainHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'Usage: medallion <command> [options]',
    '',
    'Medallion runs the medallion architecture end to end: events (landing files or Kafka) → bronze → silver → warehouse → gold → dashboard.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary.split('. ')[0]!.replace(/\.$/, '')}.`),
    '',
    'Every command takes --project DIR, --data-dir DIR and --help. Environment: MEDALLION_HOME (data directory),',
    'MEDALLION_KAFKA_BROKERS, MEDALLION_PSEUDONYM_KEY, MEDALLION_LOG_LEVEL (debug|info|warn|error).',
    '',
  ].join('\n');
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp(await allCommands()));
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write('medallion 0.1.0\n');
    return 0;
  }
  const entry = REGISTRY.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`medallion: MDL_USAGE: unknown command "${name}". Run \`medallion --help\` for the list.\n`);
    return 2;
  }
  const cmd = await entry.load();
  try {
    const { values, positionals } = parseCommandArgs(cmd, rest);
    if (values['help']) {
      process.stdout.write(helpText(cmd));
      return 0;
    }
    return (await cmd.run(values, positionals)) ?? 0;
  } catch (err) {
    const e = asMedallionError(err);
    logger.debug({ event: 'command.failed', err: e, cause: e.cause }, 'command failed');
    process.stderr.write(`medallion ${cmd.name}: ${e.toUserLine()}\n`);
    return e.code === 'MDL_USAGE' ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
