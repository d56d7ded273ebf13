import type { ColumnDef, NodeConfig } from '../graph/manifest.ts';
import { normalizeConfig } from './configs.ts';
import { type YamlFile, yamlError } from './yaml-file.ts';

/**
 * Property files (`models/**\/*.yml`, dbt docs "Properties" / "Source properties" / "Data test
 * properties", version 2): `sources` with their tables, `models` and `snapshots` with descriptions,
 * config, columns and data tests. Tests may be spelled `tests` or `data_tests`; a test is a name
 * (`- unique`) or a one-key mapping whose arguments are given directly (legacy) or under
 * `arguments:` (dbt ≥ 1.10), with `config:` (or legacy top-level `severity`, `where` …).
 */
export type YamlPath = (string | number)[];

/** One test entry as written, with where it is attached. */
export interface TestEntry {
  readonly yaml: YamlFile;
  readonly path: YamlPath;
  readonly definition: unknown;
  readonly attached:
    | { kind: 'model' | 'seed' | 'snapshot'; name: string }
    | { kind: 'source'; source: string; table: string };
  readonly columnName: string | null;
}

export interface SourceTableEntry {
  readonly yaml: YamlFile;
  readonly sourceName: string;
  readonly name: string;
  readonly schema: string;
  readonly identifier: string;
  readonly database: string | null;
  readonly description: string;
  readonly sourceDescription: string;
  readonly loader: string;
  readonly columns: Record<string, ColumnDef>;
  readonly config: NodeConfig;
  readonly meta: Record<string, unknown>;
}

export interface NodePatch {
  readonly yaml: YamlFile;
  readonly path: YamlPath;
  readonly kind: 'model' | 'seed' | 'snapshot';
  readonly name: string;
  readonly description: string;
  readonly config: NodeConfig;
  readonly columns: Record<string, ColumnDef>;
}

export interface Properties {
  readonly sources: SourceTableEntry[];
  readonly patches: NodePatch[];
  readonly tests: TestEntry[];
  /** Notes about parts read but not supported yet (seeds, unit tests …). */
  readonly notes: string[];
}

const IGNORED_SECTIONS = new Set([
  'version',
  'macros',
  'exposures',
  'metrics',
  'semantic_models',
  'saved_queries',
  'groups',
  'analyses',
]);

function str(yaml: YamlFile, path: YamlPath, v: unknown, what: string, dflt?: string): string {
  if (v === undefined || v === null) {
    if (dflt !== undefined) return dflt;
    throw yamlError(yaml, path, `${what} is missing.`, `Add ${what}.`);
  }
  if (typeof v !== 'string')
    throw yamlError(yaml, path, `${what} must be text, not ${JSON.stringify(v)}.`, `Write ${what} as text.`);
  return v;
}

function list(yaml: YamlFile, path: YamlPath, v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v))
    throw yamlError(yaml, path, `${what} must be a list.`, `Write ${what} as a YAML list ("- ...").`);
  return v;
}

function mapping(yaml: YamlFile, path: YamlPath, v: unknown, what: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw yamlError(yaml, path, `${what} must be a mapping.`, `Write ${what} as key: value pairs.`);
  }
  return v as Record<string, unknown>;
}

function testsOf(yaml: YamlFile, path: YamlPath, entry: Record<string, unknown>): { defs: unknown[]; key: string } {
  if (entry['tests'] !== undefined && entry['data_tests'] !== undefined) {
    throw yamlError(
      yaml,
      path,
      'both "tests" and "data_tests" are set.',
      'Keep one of them (data_tests is the current name).',
    );
  }
  const key = entry['data_tests'] !== undefined ? 'data_tests' : 'tests';
  return { defs: list(yaml, [...path, key], entry[key], `"${key}"`), key };
}

function columns(
  yaml: YamlFile,
  path: YamlPath,
  raw: unknown,
  onTests: (columnName: string, defs: unknown[], testsPath: YamlPath) => void,
): Record<string, ColumnDef> {
  const out: Record<string, ColumnDef> = {};
  list(yaml, path, raw, '"columns"').forEach((c, i) => {
    const cp = [...path, i];
    const col = mapping(yaml, cp, c, 'a column');
    const name = str(yaml, [...cp, 'name'], col['name'], 'the column "name"');
    out[name] = {
      name,
      description: str(yaml, [...cp, 'description'], col['description'], '"description"', ''),
      dataType: typeof col['data_type'] === 'string' ? col['data_type'] : undefined,
      meta: mapping(yaml, [...cp, 'meta'], col['meta'], '"meta"'),
      tags: list(yaml, [...cp, 'tags'], col['tags'], '"tags"').map(String),
    };
    const { defs, key } = testsOf(yaml, cp, col);
    if (defs.length > 0) onTests(name, defs, [...cp, key]);
  });
  return out;
}

/** Reads one property file into `into`. */
export function readProperties(yaml: YamlFile, into: Properties): void {
  const root = mapping(yaml, [], yaml.data, 'A property file');
  for (const [section, value] of Object.entries(root)) {
    if (IGNORED_SECTIONS.has(section)) continue;
    if (section === 'sources') readSources(yaml, value, into);
    else if (section === 'models' || section === 'snapshots' || section === 'seeds')
      readNodes(yaml, section, value, into);
    else if (section === 'unit_tests')
      into.notes.push(`${yaml.file}: unit_tests are not supported yet; they are skipped.`);
    else {
      throw yamlError(
        yaml,
        [section],
        `unknown top-level key "${section}".`,
        'Property files hold version, sources, models, snapshots, seeds, macros, exposures, metrics.',
      );
    }
  }
}

function readSources(yaml: YamlFile, value: unknown, into: Properties): void {
  list(yaml, ['sources'], value, '"sources"').forEach((s, i) => {
    const sp: YamlPath = ['sources', i];
    const src = mapping(yaml, sp, s, 'a source');
    const sourceName = str(yaml, [...sp, 'name'], src['name'], 'the source "name"');
    const schema = str(yaml, [...sp, 'schema'], src['schema'], '"schema"', sourceName);
    const database = typeof src['database'] === 'string' ? src['database'] : null;
    const sourceDescription = str(yaml, [...sp, 'description'], src['description'], '"description"', '');
    const sourceConfig = normalizeConfig(mapping(yaml, [...sp, 'config'], src['config'], '"config"'));
    list(yaml, [...sp, 'tables'], src['tables'], '"tables"').forEach((t, j) => {
      const tp: YamlPath = [...sp, 'tables', j];
      const table = mapping(yaml, tp, t, 'a source table');
      const name = str(yaml, [...tp, 'name'], table['name'], 'the table "name"');
      const attached = { kind: 'source' as const, source: sourceName, table: name };
      const cols = columns(yaml, [...tp, 'columns'], table['columns'], (columnName, defs, testsPath) => {
        defs.forEach((d, k) => {
          into.tests.push({ yaml, path: [...testsPath, k], definition: d, attached, columnName });
        });
      });
      const { defs, key } = testsOf(yaml, tp, table);
      defs.forEach((d, k) => {
        into.tests.push({ yaml, path: [...tp, key, k], definition: d, attached, columnName: null });
      });
      into.sources.push({
        yaml,
        sourceName,
        name,
        schema,
        identifier: str(yaml, [...tp, 'identifier'], table['identifier'], '"identifier"', name),
        database,
        description: str(yaml, [...tp, 'description'], table['description'], '"description"', ''),
        sourceDescription,
        loader: typeof src['loader'] === 'string' ? src['loader'] : '',
        columns: cols,
        config: {
          ...sourceConfig,
          // Freshness may sit at the source or table level, outside config (dbt's older spelling).
          ...(src['freshness'] !== undefined ? { freshness: src['freshness'] } : {}),
          ...(src['loaded_at_field'] !== undefined ? { loaded_at_field: src['loaded_at_field'] } : {}),
          ...(table['freshness'] !== undefined ? { freshness: table['freshness'] } : {}),
          ...(table['loaded_at_field'] !== undefined ? { loaded_at_field: table['loaded_at_field'] } : {}),
          ...normalizeConfig(mapping(yaml, [...tp, 'config'], table['config'], '"config"')),
        },
        meta: mapping(yaml, [...tp, 'meta'], table['meta'], '"meta"'),
      });
    });
  });
}

function readNodes(yaml: YamlFile, section: 'models' | 'snapshots' | 'seeds', value: unknown, into: Properties): void {
  const kind =
    section === 'models' ? ('model' as const) : section === 'seeds' ? ('seed' as const) : ('snapshot' as const);
  list(yaml, [section], value, `"${section}"`).forEach((m, i) => {
    const mp: YamlPath = [section, i];
    const entry = mapping(yaml, mp, m, `a ${kind}`);
    const name = str(yaml, [...mp, 'name'], entry['name'], `the ${kind} "name"`);
    const attached = { kind, name };
    const cols = columns(yaml, [...mp, 'columns'], entry['columns'], (columnName, defs, testsPath) => {
      defs.forEach((d, k) => {
        into.tests.push({ yaml, path: [...testsPath, k], definition: d, attached, columnName });
      });
    });
    const { defs, key } = testsOf(yaml, mp, entry);
    defs.forEach((d, k) => {
      into.tests.push({ yaml, path: [...mp, key, k], definition: d, attached, columnName: null });
    });
    const config = normalizeConfig(mapping(yaml, [...mp, 'config'], entry['config'], '"config"'));
    for (const k of ['tags', 'meta', 'docs'] as const) {
      if (entry[k] !== undefined && config[k] === undefined)
        config[k] = k === 'tags' ? normalizeConfig({ tags: entry[k] })['tags'] : entry[k];
    }
    into.patches.push({
      yaml,
      path: mp,
      kind,
      name,
      description: str(yaml, [...mp, 'description'], entry['description'], '"description"', ''),
      config,
      columns: cols,
    });
  });
}
