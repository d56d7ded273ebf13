import { createHash } from 'node:crypto';
import type { NodeConfig } from '../graph/manifest.ts';
import { normalizeConfig } from '../project/configs.ts';
import type { TestEntry } from '../project/properties.ts';
import { yamlError } from '../project/yaml-file.ts';

/**
 * Generic test entries from property files, read the way dbt-core's test builder reads them
 * (`parser/generic_test_builders.py`): the test name (optionally `namespace.name`), its arguments,
 * its config, and the synthesized node name dbt gives it.
 */
export interface GenericTestDefinition {
  readonly testName: string;
  readonly namespace: string | null;
  readonly kwargs: Record<string, unknown>;
  readonly config: NodeConfig;
  readonly customName: string | null;
  readonly description: string;
}

/** Keys that configure a test rather than being its arguments (dbt's CONFIG_ARGS). */
const CONFIG_ARGS = new Set([
  'severity',
  'tags',
  'enabled',
  'where',
  'limit',
  'warn_if',
  'error_if',
  'fail_calc',
  'store_failures',
  'store_failures_as',
  'meta',
  'database',
  'schema',
  'alias',
]);

/** Reads one test entry (`- unique`, `- accepted_values: {...}`, `- name: x, test_name: y`). */
export function readTestDefinition(entry: TestEntry): GenericTestDefinition {
  const { yaml, path, definition } = entry;
  let fullTestName: string;
  let body: Record<string, unknown>;
  if (typeof definition === 'string') {
    fullTestName = definition;
    body = {};
  } else if (definition && typeof definition === 'object' && !Array.isArray(definition)) {
    const d = definition as Record<string, unknown>;
    if (typeof d['test_name'] === 'string') {
      fullTestName = d['test_name'];
      body = { ...d };
      delete body['test_name'];
    } else {
      const keys = Object.keys(d);
      if (keys.length !== 1) {
        throw yamlError(
          yaml,
          path,
          `a test must be a name or a mapping with one key (the test's name); found keys ${keys.join(', ')}.`,
          'Indent the arguments under the test name, e.g. "- accepted_values: {values: [a, b]}".',
        );
      }
      fullTestName = keys[0]!;
      const v = d[fullTestName];
      if (v !== null && v !== undefined && (typeof v !== 'object' || Array.isArray(v))) {
        throw yamlError(
          yaml,
          [...path, fullTestName],
          `the arguments of "${fullTestName}" must be a mapping.`,
          'Write them as key: value pairs.',
        );
      }
      body = { ...((v as Record<string, unknown> | null) ?? {}) };
    }
  } else {
    throw yamlError(
      yaml,
      path,
      'a test must be a name or a mapping.',
      'Write "- unique" or "- accepted_values: {values: [...]}".',
    );
  }
  const m = /^(?:([A-Za-z_]\w*)\.)?([A-Za-z_]\w*)$/.exec(fullTestName);
  if (!m)
    throw yamlError(
      yaml,
      path,
      `"${fullTestName}" is not a test name.`,
      'Test names are identifiers, optionally package.name.',
    );
  const customName = typeof body['name'] === 'string' ? body['name'] : null;
  const description = typeof body['description'] === 'string' ? body['description'] : '';
  delete body['name'];
  delete body['description'];
  let config: NodeConfig = {};
  if (body['config'] !== undefined) {
    if (!body['config'] || typeof body['config'] !== 'object') {
      throw yamlError(
        yaml,
        [...path, fullTestName, 'config'],
        '"config" must be a mapping.',
        'Write config as key: value pairs.',
      );
    }
    config = normalizeConfig(body['config'] as Record<string, unknown>);
    delete body['config'];
  }
  let kwargs: Record<string, unknown>;
  if (body['arguments'] !== undefined) {
    if (!body['arguments'] || typeof body['arguments'] !== 'object' || Array.isArray(body['arguments'])) {
      throw yamlError(
        yaml,
        [...path, fullTestName, 'arguments'],
        '"arguments" must be a mapping.',
        'Write arguments as key: value pairs.',
      );
    }
    kwargs = { ...(body['arguments'] as Record<string, unknown>) };
    delete body['arguments'];
    const legacy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(body)) {
      if (CONFIG_ARGS.has(k)) legacy[k] = v;
      else {
        throw yamlError(
          yaml,
          [...path, fullTestName, k],
          `"${k}" is neither a test config nor "arguments".`,
          'Move test arguments under "arguments:".',
        );
      }
    }
    config = { ...normalizeConfig(legacy), ...config };
  } else {
    kwargs = {};
    const legacy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(body)) {
      if (CONFIG_ARGS.has(k)) legacy[k] = v;
      else kwargs[k] = v;
    }
    config = { ...normalizeConfig(legacy), ...config };
  }
  if (entry.columnName !== null) kwargs['column_name'] = entry.columnName;
  return { testName: m[2]!, namespace: m[1] ?? null, kwargs, config, customName, description };
}

function pyStrArg(v: unknown): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/**
 * dbt's synthesized generic test name: `<test>_<target>_<args joined by __>`, arguments sorted by
 * name, non-identifier characters replaced by `_`; when 64 characters or longer, the file name is
 * `<first 30 characters of test_target>_<md5 of the full name>`. Returns both.
 */
export function synthesizeTestNames(
  testType: string,
  targetName: string,
  args: Readonly<Record<string, unknown>>,
): { shortName: string; fullName: string } {
  const flat: string[] = [];
  for (const key of Object.keys(args).sort()) {
    if (key === 'model') continue;
    const v = args[key];
    const parts = Array.isArray(v) ? v : v && typeof v === 'object' ? Object.values(v) : [v];
    flat.push(...parts.map(pyStrArg));
  }
  const unique = flat.map((a) => a.replace(/[^0-9a-zA-Z_]+/g, '_')).join('__');
  const identifier = `${testType}_${targetName}`;
  const fullName = `${identifier}_${unique}`;
  if (fullName.length >= 64) {
    const label = createHash('md5').update(fullName).digest('hex');
    return { shortName: `${identifier.slice(0, 30)}_${label}`, fullName };
  }
  return { shortName: fullName, fullName };
}

/** dbt's test-argument rule: strings that look like `ref(...)`, `source(...)`, `var(...)` … are expressions. */
export const LOOKS_LIKE_FUNCTION = /^\s*(env_var|ref|var|source|doc)\s*\(.+\)\s*$/s;
