import { existsSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { MedallionError } from '../../../core/errors.ts';
import { readYamlFile, yamlError } from './yaml-file.ts';

/**
 * The dbt target a run builds in, from `profiles.yml` (dbt docs "About profiles.yml", dbt-duckdb
 * "Profile"): `<profile>: {target: dev, outputs: {dev: {type: duckdb, path: …, schema: …}}}`.
 * Every string is rendered first, so `{{ env_var('X', 'default') }}` works anywhere in it.
 */
export interface DbtTarget {
  readonly profileName: string;
  /** The output's name (`dev`, `prod`). */
  readonly name: string;
  /** The adapter type (`duckdb`). */
  readonly type: string;
  /** The schema models land in when they set none (`main` by default for DuckDB). */
  readonly schema: string;
  /** The database (catalog) name: for DuckDB, the file's stem (`memory` in memory). */
  readonly database: string;
  /** DuckDB: the database file, resolved against the working directory as dbt-duckdb does. */
  readonly path: string | undefined;
  readonly threads: number;
  /** The output's settings as written (rendered), for `target.<key>` in Jinja; secrets removed. */
  readonly settings: Readonly<Record<string, unknown>>;
}

export interface ProfileOptions {
  readonly projectDir: string;
  readonly profilesDir?: string;
  readonly profileName: string;
  readonly target?: string;
  /** Renders a string value (env_var …). */
  readonly render: (s: string) => string;
  /** When the caller brings its own open warehouse, a missing profiles.yml is allowed. */
  readonly warehouseDialect?: string;
}

const SECRET = /pass|secret|token|key/i;

function renderDeep(v: unknown, render: (s: string) => string): unknown {
  if (typeof v === 'string') return v.includes('{{') || v.includes('{%') ? render(v) : v;
  if (Array.isArray(v)) return v.map((x) => renderDeep(x, render));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, renderDeep(x, render)]));
  return v;
}

function databaseName(path: string | undefined): string {
  if (!path || path === ':memory:' || path.startsWith(':memory:')) return 'memory';
  return basename(path, extname(path));
}

/** Finds and reads the profile's target. */
export async function loadTarget(options: ProfileOptions): Promise<DbtTarget> {
  const dirs = [options.profilesDir, process.env['DBT_PROFILES_DIR'], options.projectDir].filter(
    (d): d is string => typeof d === 'string' && d !== '',
  );
  const dir = dirs.find((d) => existsSync(join(d, 'profiles.yml')));
  if (!dir) {
    if (options.warehouseDialect) {
      return {
        profileName: options.profileName,
        name: options.target ?? 'default',
        type: options.warehouseDialect,
        schema: 'main',
        database: 'warehouse',
        path: undefined,
        threads: 1,
        settings: {},
      };
    }
    throw new MedallionError('MDL_DBT_PROJECT_INVALID', `profiles.yml not found (looked in ${dirs.join(', ')}).`, {
      hint: 'Put a profiles.yml in the project folder or pass profilesDir (--profiles-dir).',
    });
  }
  const file = join(dir, 'profiles.yml');
  const yaml = await readYamlFile(file, file);
  const all = yaml.data as Record<string, unknown>;
  const profile = all?.[options.profileName];
  if (!profile || typeof profile !== 'object') {
    throw yamlError(
      yaml,
      [],
      `no profile named "${options.profileName}" (dbt_project.yml names it).`,
      `Add a "${options.profileName}:" entry with target and outputs.`,
    );
  }
  const p = profile as Record<string, unknown>;
  const outputs = p['outputs'];
  if (!outputs || typeof outputs !== 'object') {
    throw yamlError(
      yaml,
      [options.profileName],
      'the profile has no "outputs".',
      'Add outputs: {dev: {type: duckdb, path: ...}}.',
    );
  }
  const defaultTarget = renderDeep(p['target'], options.render);
  const targetName = options.target ?? (typeof defaultTarget === 'string' ? defaultTarget : 'dev');
  const raw = (outputs as Record<string, unknown>)[targetName];
  if (!raw || typeof raw !== 'object') {
    throw yamlError(
      yaml,
      [options.profileName, 'outputs'],
      `profile "${options.profileName}" has no output "${targetName}" (has: ${Object.keys(outputs).join(', ')}).`,
      'Pick one of those targets or add it.',
    );
  }
  const out = renderDeep(raw, options.render) as Record<string, unknown>;
  const type = out['type'];
  if (typeof type !== 'string') {
    throw yamlError(
      yaml,
      [options.profileName, 'outputs', targetName],
      'the output has no "type".',
      'Add type: duckdb.',
    );
  }
  if (!options.warehouseDialect && type !== 'duckdb') {
    throw yamlError(
      yaml,
      [options.profileName, 'outputs', targetName, 'type'],
      `adapter type "${type}" is not supported yet (only duckdb).`,
      'Use a duckdb output, or pass an open warehouse of that kind.',
    );
  }
  if (options.warehouseDialect && type !== options.warehouseDialect) {
    throw yamlError(
      yaml,
      [options.profileName, 'outputs', targetName, 'type'],
      `the output is of type "${type}" but the warehouse given is ${options.warehouseDialect}.`,
      'Choose a target of the same kind as the warehouse.',
    );
  }
  const pathValue = out['path'];
  const path =
    typeof pathValue === 'string' && pathValue !== ''
      ? pathValue.startsWith(':memory:')
        ? pathValue
        : resolve(pathValue)
      : type === 'duckdb'
        ? ':memory:'
        : undefined;
  const schema = typeof out['schema'] === 'string' && out['schema'] !== '' ? out['schema'] : 'main';
  const threads = typeof out['threads'] === 'number' ? out['threads'] : 1;
  const settings = Object.fromEntries(Object.entries(out).filter(([k]) => !SECRET.test(k)));
  return {
    profileName: options.profileName,
    name: targetName,
    type,
    schema,
    database: typeof out['database'] === 'string' ? out['database'] : databaseName(path),
    path,
    threads,
    settings,
  };
}
