import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { MedallionError } from '../core/errors.ts';
import { type PipelineConfig, pipelineConfigSchema } from './schema.ts';

/** Name of the config file that marks a pipeline project folder. */
export const CONFIG_FILE = 'medallion.yml';

/** The repository's own root (where package.json is). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The flagship pipeline project, used when no other project is found. */
export const FLAGSHIP_PROJECT_DIR = join(REPO_ROOT, 'pipelines', 'nyc-schools');

/** Where every piece of state lives, all under one data directory. */
export interface DataPaths {
  readonly root: string;
  readonly landing: string;
  readonly lake: string;
  readonly bronze: string;
  readonly silver: string;
  readonly quarantine: string;
  readonly duplicates: string;
  readonly state: string;
  readonly warehouse: string;
  readonly goldTarget: string;
  readonly runLog: string;
  readonly secrets: string;
}

/** A loaded pipeline project: its folder, validated config and data directory. */
export interface PipelineProject {
  readonly dir: string;
  readonly configPath: string;
  readonly config: PipelineConfig;
  readonly paths: DataPaths;
  /** Resolves a path from the config (relative to the project folder). */
  resolve(relative: string): string;
}

/** Lays out the data directory. */
export function dataPaths(root: string): DataPaths {
  const lake = join(root, 'lake');
  return {
    root,
    landing: join(root, 'landing'),
    lake,
    bronze: join(lake, 'bronze'),
    silver: join(lake, 'silver'),
    quarantine: join(lake, 'quarantine'),
    duplicates: join(lake, 'duplicates'),
    state: join(root, 'state'),
    warehouse: join(root, 'warehouse', 'medallion.duckdb'),
    goldTarget: join(root, 'gold-target'),
    runLog: join(root, 'runlog'),
    secrets: join(root, 'secrets'),
  };
}

/** Finds the project folder: `--project`, else the current folder if it holds medallion.yml, else the flagship. */
export function resolveProjectDir(explicit?: string, cwd: string = process.cwd()): string {
  if (explicit) {
    const dir = resolve(cwd, explicit);
    if (!existsSync(join(dir, CONFIG_FILE))) {
      throw new MedallionError('MDL_PROJECT_NOT_FOUND', `No ${CONFIG_FILE} in ${dir}.`, {
        hint: 'Pass --project with a pipeline project folder (one that holds medallion.yml).',
      });
    }
    return dir;
  }
  if (existsSync(join(cwd, CONFIG_FILE))) return cwd;
  return FLAGSHIP_PROJECT_DIR;
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((i) => {
      const at = i.path.length > 0 ? i.path.join('.') : '(top level)';
      if (i.code === 'unrecognized_keys') return `${at}: unknown key(s) ${i.keys.map((k) => `"${k}"`).join(', ')}`;
      return `${at}: ${i.message}`;
    })
    .join('; ');
}

/** Parses and validates config text; errors name the file and the offending keys. */
export function parseConfig(text: string, file: string): PipelineConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    const line = err instanceof YAMLParseError ? err.linePos?.[0]?.line : undefined;
    throw new MedallionError('MDL_CONFIG_INVALID', `${file}${line ? `:${line}` : ''} is not valid YAML.`, {
      hint: 'Fix the YAML syntax at that line.',
      cause: err,
    });
  }
  const parsed = pipelineConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new MedallionError('MDL_CONFIG_INVALID', `${file}: ${formatIssues(parsed.error.issues)}.`, {
      hint: 'Correct these keys; `medallion config --docs` lists every key the file accepts.',
      details: { file },
    });
  }
  return parsed.data;
}

/** Loads the pipeline project: validates its config and resolves its data directory. */
export function loadProject(options: { projectDir?: string; dataDir?: string } = {}): PipelineProject {
  const dir = resolveProjectDir(options.projectDir);
  const configPath = join(dir, CONFIG_FILE);
  if (!existsSync(configPath)) {
    throw new MedallionError('MDL_CONFIG_NOT_FOUND', `${configPath} does not exist.`, {
      hint: 'Create it, or pass --project with a pipeline project folder.',
    });
  }
  const config = parseConfig(readFileSync(configPath, 'utf8'), configPath);
  const root = options.dataDir ?? process.env.MEDALLION_HOME ?? join(dir, '.medallion');
  return {
    dir,
    configPath,
    config,
    paths: dataPaths(resolve(root)),
    resolve: (relative: string) => (isAbsolute(relative) ? relative : join(dir, relative)),
  };
}
