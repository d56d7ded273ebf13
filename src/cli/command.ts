import { parseArgs } from 'node:util';
import { MedallionError } from '../core/errors.ts';

/** One option of a command, documented where it is declared (the same text drives --help). */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly description: string;
  readonly placeholder?: string;
  readonly multiple?: boolean;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** A CLI command: parses flags, loads config, builds a task and runs it; the logic lives elsewhere. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  /** Longer text shown by --help under the usage line. */
  readonly details?: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Positional arguments allowed (default none). */
  readonly positionals?: { readonly min: number; readonly max: number; readonly name: string };
  /** Passes unknown flags through as positionals (for `dbt`). */
  readonly passThrough?: boolean;
  run(values: OptionValues, positionals: string[]): Promise<number | undefined>;
}

/** Options every command takes. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  project: {
    type: 'string',
    placeholder: 'DIR',
    description:
      'Pipeline project folder (holds medallion.yml); default: the current folder if it has one, else the flagship nyc-schools project.',
  },
  'data-dir': {
    type: 'string',
    placeholder: 'DIR',
    description: 'Data directory for all state (default: $MEDALLION_HOME, else <project>/.medallion).',
  },
  help: { type: 'boolean', short: 'h', description: 'Show this help.' },
};

/** Renders a command's --help text from its declaration. */
export function helpText(cmd: Command): string {
  const all = { ...cmd.options, ...GLOBAL_OPTIONS };
  const rows = Object.entries(all).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.placeholder ?? 'VALUE'}` : ''}`;
    return [flag, o.description] as const;
  });
  const width = Math.min(34, Math.max(...rows.map(([f]) => f.length)) + 2);
  const lines = rows.map(([f, d]) => `  ${f.padEnd(width)}${d}`);
  return [
    `Usage: medallion ${cmd.usage}`,
    '',
    cmd.summary,
    ...(cmd.details ? ['', cmd.details] : []),
    '',
    'Options:',
    ...lines,
    '',
  ].join('\n');
}

/** Parses argv for a command; unknown flags and bad values are usage errors naming the command. */
export function parseCommandArgs(cmd: Command, argv: string[]): { values: OptionValues; positionals: string[] } {
  if (cmd.passThrough) {
    const help = argv.includes('--help') || argv.includes('-h');
    return { values: { help }, positionals: argv.filter((a) => a !== '--help' && a !== '-h') };
  }
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries({ ...cmd.options, ...GLOBAL_OPTIONS })) {
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options,
      strict: true,
      allowPositionals: true,
      tokens: false,
    });
    const max = cmd.positionals?.max ?? 0;
    if (!values['help'] && (positionals.length > max || positionals.length < (cmd.positionals?.min ?? 0))) {
      throw new MedallionError(
        'MDL_USAGE',
        `medallion ${cmd.name}: expected ${cmd.usage.replace(/^\S+\s*/, '') || 'no arguments'}.`,
        {
          hint: `Run \`medallion ${cmd.name} --help\`.`,
        },
      );
    }
    return { values: values as OptionValues, positionals };
  } catch (err) {
    if (err instanceof MedallionError) throw err;
    throw new MedallionError('MDL_USAGE', `medallion ${cmd.name}: ${(err as Error).message}`, {
      hint: `Run \`medallion ${cmd.name} --help\` for the options it takes.`,
    });
  }
}

/** Reads a non-negative integer option, with a usage error naming the flag. */
export function intOption(values: OptionValues, name: string, min = 0): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < min) {
    throw new MedallionError('MDL_USAGE', `--${name} must be a whole number ≥ ${min} (got "${String(v)}").`, {
      hint: `Pass --${name} N.`,
    });
  }
  return n;
}

/** Reads a number option within (min, max]. */
export function numberOption(values: OptionValues, name: string, min: number, max: number): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || n <= min || n > max) {
    throw new MedallionError('MDL_USAGE', `--${name} must be a number in (${min}, ${max}] (got "${String(v)}").`, {
      hint: `Pass --${name} with a value in that range.`,
    });
  }
  return n;
}
