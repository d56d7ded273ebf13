import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MedallionError } from '../../../core/errors.ts';
import { readYamlFile, type YamlFile, yamlError } from './yaml-file.ts';

/**
 * `dbt_project.yml` as dbt reads it (dbt docs "dbt_project.yml"): the project name and profile,
 * where its resources live, its vars, and the folder-level configs of models, snapshots, tests and
 * sources (`+materialized`, `+schema`, `+tags` …). String values may use `{{ env_var(...) }}`;
 * they are rendered by the caller through `render` (vars and hooks are left as written, as dbt does).
 */
export interface DbtProjectFile {
  readonly name: string;
  readonly profile: string;
  readonly version: string | undefined;
  readonly modelPaths: readonly string[];
  readonly macroPaths: readonly string[];
  readonly snapshotPaths: readonly string[];
  readonly testPaths: readonly string[];
  readonly seedPaths: readonly string[];
  readonly vars: Readonly<Record<string, unknown>>;
  /** Config trees by resource type (`models:`, `snapshots:`, `data_tests:`/`tests:`, `sources:`). */
  readonly configs: Readonly<Record<'models' | 'seeds' | 'snapshots' | 'tests' | 'sources', Record<string, unknown>>>;
  /** Project hooks (`on-run-start`, `on-run-end`): SQL templates run before and after the nodes. */
  readonly onRunStart: readonly string[];
  readonly onRunEnd: readonly string[];
  readonly yaml: YamlFile;
}

function hookList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

const FILE = 'dbt_project.yml';
const UNRENDERED = new Set(['vars', 'on-run-start', 'on-run-end', 'pre-hook', 'post-hook', '+pre-hook', '+post-hook']);

function renderStrings(value: unknown, render: (s: string) => string, key?: string): unknown {
  if (key !== undefined && UNRENDERED.has(key)) return value;
  if (typeof value === 'string') return value.includes('{{') || value.includes('{%') ? render(value) : value;
  if (Array.isArray(value)) return value.map((v) => renderStrings(v, render));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = renderStrings(v, render, k);
    return out;
  }
  return value;
}

function paths(yaml: YamlFile, data: Record<string, unknown>, key: string, dflt: string): string[] {
  const v = data[key];
  if (v === undefined || v === null) return [dflt];
  if (!Array.isArray(v) || v.some((p) => typeof p !== 'string')) {
    throw yamlError(yaml, [key], `"${key}" must be a list of folder names.`, `Write it as ${key}: ["${dflt}"].`);
  }
  return v as string[];
}

function tree(yaml: YamlFile, data: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = data[key];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw yamlError(
      yaml,
      [key],
      `"${key}" must be a mapping of folders to configs.`,
      'See dbt\'s "dbt_project.yml" docs.',
    );
  }
  return v as Record<string, unknown>;
}

/** Reads `<projectDir>/dbt_project.yml`. */
export async function readDbtProject(projectDir: string, render: (s: string) => string): Promise<DbtProjectFile> {
  const abs = join(projectDir, FILE);
  if (!existsSync(abs)) {
    throw new MedallionError('MDL_DBT_PROJECT_INVALID', `${abs}: no dbt_project.yml in this folder.`, {
      hint: 'Point projectDir (--project-dir) at the folder holding dbt_project.yml.',
    });
  }
  const yaml = await readYamlFile(abs, FILE);
  if (!yaml.data || typeof yaml.data !== 'object' || Array.isArray(yaml.data)) {
    throw yamlError(yaml, [], 'dbt_project.yml must be a mapping.', 'Start from dbt\'s "dbt_project.yml" docs.');
  }
  const data = renderStrings(yaml.data, render) as Record<string, unknown>;
  const name = data['name'];
  if (typeof name !== 'string' || !/^[A-Za-z_]\w*$/.test(name)) {
    throw yamlError(
      yaml,
      ['name'],
      '"name" must be the project name (letters, digits and underscores).',
      'Add name: my_project.',
    );
  }
  const profile = data['profile'] ?? name;
  if (typeof profile !== 'string')
    throw yamlError(yaml, ['profile'], '"profile" must be a name.', 'Add profile: <name in profiles.yml>.');
  const vars = data['vars'] ?? {};
  if (typeof vars !== 'object' || Array.isArray(vars)) {
    throw yamlError(yaml, ['vars'], '"vars" must be a mapping.', 'Write vars as key: value pairs.');
  }
  return {
    name,
    profile,
    version: typeof data['version'] === 'string' ? data['version'] : undefined,
    modelPaths: paths(yaml, data, 'model-paths', 'models'),
    macroPaths: paths(yaml, data, 'macro-paths', 'macros'),
    snapshotPaths: paths(yaml, data, 'snapshot-paths', 'snapshots'),
    testPaths: paths(yaml, data, 'test-paths', 'tests'),
    seedPaths: paths(yaml, data, 'seed-paths', 'seeds'),
    vars: vars as Record<string, unknown>,
    configs: {
      models: tree(yaml, data, 'models'),
      snapshots: tree(yaml, data, 'snapshots'),
      seeds: tree(yaml, data, 'seeds'),
      tests: { ...tree(yaml, data, 'tests'), ...tree(yaml, data, 'data_tests') },
      sources: tree(yaml, data, 'sources'),
    },
    onRunStart: hookList(data['on-run-start']),
    onRunEnd: hookList(data['on-run-end']),
    yaml,
  };
}
