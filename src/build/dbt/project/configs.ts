import type { NodeConfig } from '../graph/manifest.ts';

/**
 * dbt's config resolution (dbt docs "Configs, properties, what are they?" and "Define configs"):
 * a node's config is dbt_project.yml's folder configs (general to specific), then the property
 * file's `config:`, then the node's own `{{ config(...) }}` — later wins, except that `tags` add up
 * and `meta` merges key by key. In dbt_project.yml a key with `+` is always a config; a bare key is
 * a config when it is one of dbt's config names, and a folder (or node) name otherwise.
 */
const CONFIG_KEYS = new Set([
  'enabled',
  'tags',
  'meta',
  'materialized',
  'schema',
  'alias',
  'database',
  'docs',
  'persist_docs',
  'full_refresh',
  'pre-hook',
  'post-hook',
  'pre_hook',
  'post_hook',
  'unique_key',
  'strategy',
  'updated_at',
  'check_cols',
  'target_schema',
  'target_database',
  'invalidate_hard_deletes',
  'hard_deletes',
  'snapshot_meta_column_names',
  'dbt_valid_to_current',
  'severity',
  'where',
  'limit',
  'warn_if',
  'error_if',
  'fail_calc',
  'store_failures',
  'store_failures_as',
  'grants',
  'contract',
  'on_schema_change',
  'incremental_strategy',
  'sql_header',
  'quoting',
  'column_types',
  'group',
  'access',
  'quote_columns',
  'event_time',
  'loaded_at_field',
  'freshness',
]);

function asTags(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.map(String);
  return [String(value)];
}

/** Normalises config keys (`+schema` → `schema`, `post_hook` → `post-hook`) and `tags` to a list. */
export function normalizeConfig(raw: Readonly<Record<string, unknown>>): NodeConfig {
  const out: NodeConfig = {};
  for (const [key, value] of Object.entries(raw)) {
    let k = key.startsWith('+') ? key.slice(1) : key;
    if (k === 'pre_hook') k = 'pre-hook';
    if (k === 'post_hook') k = 'post-hook';
    out[k] = k === 'tags' ? asTags(value) : value;
  }
  return out;
}

/** Layers `over` on `base` the way dbt merges configs. */
export function mergeConfig(base: NodeConfig, over: NodeConfig): NodeConfig {
  const out: NodeConfig = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    if (k === 'tags') out['tags'] = [...new Set([...asTags(base['tags']), ...asTags(v)])];
    else if (k === 'meta' && v && typeof v === 'object' && base['meta'] && typeof base['meta'] === 'object') {
      out['meta'] = { ...(base['meta'] as object), ...(v as object) };
    } else out[k] = v;
  }
  return out;
}

function configsAt(level: Readonly<Record<string, unknown>>): NodeConfig {
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(level)) {
    if (k.startsWith('+') || CONFIG_KEYS.has(k)) raw[k] = v;
  }
  return normalizeConfig(raw);
}

/**
 * The folder-level config for a node with `fqn` (`[project, ...folders, name]`) from one
 * resource's tree in dbt_project.yml (`models:`, `snapshots:` …).
 */
export function folderConfig(tree: Readonly<Record<string, unknown>>, fqn: readonly string[]): NodeConfig {
  let config = configsAt(tree);
  let level: Readonly<Record<string, unknown>> = tree;
  for (const part of fqn) {
    if (CONFIG_KEYS.has(part)) break;
    const child = level[part];
    if (!child || typeof child !== 'object' || Array.isArray(child)) break;
    level = child as Record<string, unknown>;
    config = mergeConfig(config, configsAt(level));
  }
  return config;
}

/** `tags` of a config as a list. */
export function configTags(config: NodeConfig): string[] {
  return asTags(config['tags']);
}
