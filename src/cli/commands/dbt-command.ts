import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DBT_COMMANDS, type DbtCommand, runDbt } from '../../build/dbt/index.ts';
import { MedallionError } from '../../core/errors.ts';
import { progress } from '../../core/logger.ts';
import type { Command } from '../command.ts';

const VALUE_FLAGS = new Set([
  '--project-dir',
  '--profiles-dir',
  '--target',
  '-t',
  '--vars',
  '--select',
  '-s',
  '--models',
  '-m',
  '--target-path',
  '--exclude',
  '--threads',
]);

const BOOLEAN_FLAGS = new Set(['--full-refresh', '-f', '--partial-parse', '--no-partial-parse']);

/** Parses dbt's own flags (the subset Medallion's runner supports). */
export function parseDbtArgs(args: readonly string[]): {
  command: DbtCommand;
  projectDir?: string;
  profilesDir?: string;
  target?: string;
  targetPath?: string;
  vars?: Record<string, unknown>;
  select: string[];
  exclude: string[];
  fullRefresh: boolean;
  threads?: number;
  partialParse?: boolean;
} {
  const [first, ...afterFirst] = args;
  // dbt's `source freshness` is the one two-word command.
  const freshness = first === 'source' && afterFirst[0] === 'freshness';
  const command = freshness ? 'freshness' : first;
  const rest = freshness ? afterFirst.slice(1) : afterFirst;
  if (!command || (!freshness && !(DBT_COMMANDS as readonly string[]).includes(command))) {
    throw new MedallionError(
      'MDL_USAGE',
      `medallion dbt: expected one of ${DBT_COMMANDS.join(', ')} (got "${command ?? ''}").`,
      {
        hint: 'Run `medallion dbt build --project-dir DIR`, say.',
      },
    );
  }
  const out: ReturnType<typeof parseDbtArgs> = {
    command: command as DbtCommand,
    select: [],
    exclude: [],
    fullRefresh: false,
  };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const [flag, inline] =
      a.includes('=') && a.startsWith('--')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
    if (BOOLEAN_FLAGS.has(flag) && inline === undefined) {
      if (flag === '--partial-parse' || flag === '--no-partial-parse') out.partialParse = flag === '--partial-parse';
      else out.fullRefresh = true;
      continue;
    }
    if (!VALUE_FLAGS.has(flag)) {
      throw new MedallionError('MDL_USAGE', `medallion dbt: unsupported flag "${a}".`, {
        hint: 'Supported: --project-dir, --profiles-dir, --target/-t, --target-path, --vars, --select/-s (also --models/-m), --exclude, --full-refresh, --threads, --partial-parse/--no-partial-parse.',
      });
    }
    const take = () => {
      if (inline !== undefined) return inline;
      const v = rest[++i];
      if (v === undefined)
        throw new MedallionError('MDL_USAGE', `medallion dbt: ${flag} needs a value.`, { hint: `Pass ${flag} VALUE.` });
      return v;
    };
    switch (flag) {
      case '--project-dir':
        out.projectDir = take();
        break;
      case '--profiles-dir':
        out.profilesDir = take();
        break;
      case '--target':
      case '-t':
        out.target = take();
        break;
      case '--target-path':
        out.targetPath = take();
        break;
      case '--vars': {
        const text = take();
        let vars: unknown;
        try {
          vars = parseYaml(text);
        } catch {
          vars = undefined;
        }
        if (!vars || typeof vars !== 'object' || Array.isArray(vars)) {
          throw new MedallionError(
            'MDL_USAGE',
            `medallion dbt: --vars must be a YAML/JSON mapping (got ${JSON.stringify(text)}).`,
            {
              hint: `Pass --vars '{key: value}'.`,
            },
          );
        }
        out.vars = vars as Record<string, unknown>;
        break;
      }
      case '--threads': {
        const n = Number(take());
        if (!Number.isInteger(n) || n < 1) {
          throw new MedallionError('MDL_USAGE', 'medallion dbt: --threads must be a whole number ≥ 1.', {
            hint: 'Pass --threads 4, say.',
          });
        }
        out.threads = n;
        break;
      }
      default: {
        // --select / -s / --models / -m / --exclude: space-separated selectors, possibly several values in a row.
        const into = flag === '--exclude' ? out.exclude : out.select;
        into.push(...take().split(/\s+/).filter(Boolean));
        while (rest[i + 1] !== undefined && !rest[i + 1]!.startsWith('-')) into.push(rest[++i]!);
      }
    }
  }
  return out;
}

/** `medallion dbt`: Medallion's dbt-compatible runner, with dbt's own flags. */
export const dbtCommand: Command = {
  name: 'dbt',
  summary: "Run a dbt project on DuckDB with Medallion's dbt-compatible runner, taking dbt's own commands and flags.",
  usage: `dbt <${DBT_COMMANDS.join('|')}|source freshness> [--project-dir DIR] [--profiles-dir DIR] [--target T] [--target-path DIR] [--vars YAML] [--select S…] [--exclude S…] [--full-refresh] [--threads N] [--no-partial-parse]`,
  details:
    "Without --project-dir, the current folder is used when it holds dbt_project.yml, else the pipeline's gold project;\n" +
    "for the pipeline's project MEDALLION_WAREHOUSE_PATH defaults to the pipeline's warehouse file.\n" +
    'Partial parsing is on, as in dbt-core: a repeated run takes what the last run in the same target folder learnt\n' +
    'of unchanged nodes (target/medallion_partial_parse.json); --no-partial-parse or DBT_PARTIAL_PARSE=false parses everything.',
  options: {},
  passThrough: true,
  async run(values, positionals) {
    const args = parseDbtArgs(positionals);
    let projectDir = args.projectDir ? resolve(args.projectDir) : undefined;
    if (!projectDir) {
      const { existsSync } = await import('node:fs');
      if (existsSync('dbt_project.yml')) projectDir = process.cwd();
      else {
        // The pipeline's project (and its config schema) is loaded only when it is needed.
        const { loadProject } = await import('../../config/project.ts');
        const project = loadProject({
          projectDir: values['project'] as string | undefined,
          dataDir: values['data-dir'] as string | undefined,
        });
        projectDir = project.resolve(project.config.gold.project);
        process.env.MEDALLION_WAREHOUSE_PATH ??= project.paths.warehouse;
      }
    }
    const r = await runDbt({
      command: args.command,
      projectDir,
      profilesDir: args.profilesDir,
      target: args.target,
      targetPath: args.targetPath,
      vars: args.vars,
      select: args.select.length > 0 ? args.select : undefined,
      exclude: args.exclude,
      fullRefresh: args.fullRefresh,
      threads: args.threads,
      partialParse: args.partialParse,
      onEvent: (line) => progress(line),
    });
    if (args.command === 'ls') process.stdout.write(r.listed.map((l) => `${l}\n`).join(''));
    return r.success ? 0 : 1;
  },
};
