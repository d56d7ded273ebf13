import { asMedallionError } from '../core/errors.ts';
import { logger } from '../core/logger.ts';
import { type Command, helpText, parseCommandArgs } from './command.ts';
import { configCommand } from './commands/config-command.ts';
import { dbtCommand } from './commands/dbt-command.ts';
import { exportCommand } from './commands/export-command.ts';
import { ingestCommand, loadCommand, refineCommand } from './commands/layer-commands.ts';
import { optimizeCommand, vacuumCommand } from './commands/maintenance-commands.ts';
import { buildCommand, runCommand, testCommand } from './commands/pipeline-commands.ts';
import { quarantineCommand } from './commands/quarantine-command.ts';
import { queryCommand } from './commands/query-command.ts';
import { replayCommand } from './commands/replay-command.ts';
import { demoCommand, serveCommand } from './commands/serve-commands.ts';
import { simulateCommand } from './commands/simulate-command.ts';
import { statusCommand } from './commands/status-command.ts';

/** Every command, in the order `medallion --help` lists them. */
export const COMMANDS: readonly Command[] = [
  demoCommand,
  simulateCommand,
  ingestCommand,
  refineCommand,
  loadCommand,
  buildCommand,
  testCommand,
  runCommand,
  replayCommand,
  dbtCommand,
  serveCommand,
  exportCommand,
  statusCommand,
  queryCommand,
  quarantineCommand,
  optimizeCommand,
  vacuumCommand,
  configCommand,
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'Usage: medallion <command> [options]',
    '',
    'Medallion runs the medallion architecture end to end: events (landing files or Kafka) → bronze → silver → warehouse → gold → dashboard.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary.split('. ')[0]!.replace(/\.$/, '')}.`),
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
    process.stdout.write(mainHelp());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write('medallion 0.1.0\n');
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`medallion: MDL_USAGE: unknown command "${name}". Run \`medallion --help\` for the list.\n`);
    return 2;
  }
  try {
    const { values, positionals } = parseCommandArgs(cmd, rest);
    if (values['help']) {
      process.stdout.write(helpText(cmd));
      return 0;
    }
    return (await cmd.run(values, positionals)) ?? 0;
  } catch (err) {
    const e = asMedallionError(err);
    logger.debug({ err: e, cause: e.cause }, 'command failed');
    process.stderr.write(`medallion ${cmd.name}: ${e.toUserLine()}\n`);
    return e.code === 'MDL_USAGE' ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
