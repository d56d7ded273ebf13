import { MedallionError } from '../../../core/errors.ts';
import type { DbtCommand } from '../types.ts';
import type { DbtNode, Manifest, SourceDefinition } from './manifest.ts';

/**
 * Node selection (dbt docs "Node selection syntax", "Graph operators", "Set operators", "Node
 * selector methods"):
 *
 * - `--select a b` is a union of its space-separated parts; `a,b` inside one part is an intersection.
 * - Each atom is `[@][n]+?<method:value>[+[n]]?`: `+x` adds all ancestors of what `x` picks, `2+x`
 *   ancestors up to two generations, `x+` / `x+1` descendants; `@x` adds x's descendants and every
 *   ancestor of those descendants.
 * - Methods: `tag:`, `source:<source>[.<table>]`, `path:<folder or file>`, `resource_type:`, `fqn:`,
 *   `config.<key>:`, `test_type:`, `test_name:`; a bare value is `path:` when it names a file or
 *   folder, else `fqn:` (the node name, or a dotted fqn prefix like `staging` / `project.staging`).
 *   Values may use shell-style wildcards (`*`, `?`).
 * - `--exclude` removes what its selectors pick, after selection.
 * - Tests are picked with the nodes they test (dbt's default "eager" indirect selection): a test is
 *   selected when any node it depends on is selected, and none of its parents is excluded.
 */
type Selectable = DbtNode | SourceDefinition;

function wildcard(pattern: string): RegExp {
  const esc = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${esc}$`);
}

function fqnMatches(fqn: readonly string[], value: string, projectName: string): boolean {
  const parts = value.split('.');
  const candidates = fqn[0] === projectName ? [fqn, fqn.slice(1)] : [fqn];
  for (const f of candidates) {
    if (parts.length > f.length) continue;
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) ok = wildcard(parts[i]!).test(f[i]!);
    // dbt: a full-length match, or a prefix (folder) match.
    if (ok) return true;
  }
  return false;
}

function matches(manifest: Manifest, node: Selectable, criterion: string): boolean {
  const isSource = node.resourceType === 'source';
  const colon = criterion.indexOf(':');
  let method: string;
  let value: string;
  if (colon < 0) {
    value = criterion;
    method = /\/|\.sql$|\.ya?ml$|\.csv$/.test(value) ? 'path' : 'fqn';
  } else {
    method = criterion.slice(0, colon);
    value = criterion.slice(colon + 1);
  }
  const config = node.config;
  if (method.startsWith('config.')) {
    const v = config[method.slice('config.'.length)];
    if (Array.isArray(v)) return v.some((x) => wildcard(value).test(String(x)));
    return v !== undefined && v !== null && wildcard(value).test(String(v));
  }
  switch (method) {
    case 'fqn':
      if (!isSource && wildcard(value).test((node as DbtNode).name)) return true;
      return !isSource && fqnMatches(node.fqn, value, manifest.projectName);
    case 'tag':
      return ((config['tags'] as string[] | undefined) ?? []).some((t) => wildcard(value).test(t));
    case 'source': {
      if (!isSource) return false;
      const s = node as SourceDefinition;
      const parts = value.split('.');
      const [src, table] = parts.length === 3 && parts[0] === manifest.projectName ? parts.slice(1) : parts;
      return wildcard(src!).test(s.sourceName) && (table === undefined || wildcard(table).test(s.name));
    }
    case 'path': {
      const v = value.replace(/\/$/, '');
      return (
        node.originalFilePath === v ||
        node.originalFilePath.startsWith(`${v}/`) ||
        wildcard(v).test(node.originalFilePath)
      );
    }
    case 'resource_type':
      return node.resourceType === value;
    case 'test_name':
      return (
        !isSource && (node as DbtNode).testMetadata !== undefined && (node as DbtNode).testMetadata!.name === value
      );
    case 'test_type': {
      if (isSource || node.resourceType !== 'test') return false;
      const generic = (node as DbtNode).testMetadata !== undefined;
      return value === 'generic' ? generic : value === 'singular' ? !generic : value === 'data';
    }
    case 'package':
      return node.packageName === value;
    default:
      throw new MedallionError('MDL_USAGE', `selector method "${method}:" is not supported.`, {
        hint: 'Use node names, fqn:, tag:, source:, path:, resource_type:, config.<key>:, test_type:, test_name: or package:.',
      });
  }
}

interface Adjacency {
  readonly parents: Map<string, string[]>;
  readonly children: Map<string, string[]>;
}

function adjacency(manifest: Manifest): Adjacency {
  const parents = new Map<string, string[]>();
  const children = new Map<string, string[]>();
  for (const id of [...manifest.nodes.keys(), ...manifest.sources.keys()]) {
    parents.set(id, []);
    children.set(id, []);
  }
  for (const n of manifest.nodes.values()) {
    for (const p of n.dependsOn.nodes) {
      if (!parents.has(p)) continue;
      parents.get(n.uniqueId)!.push(p);
      children.get(p)!.push(n.uniqueId);
    }
  }
  return { parents, children };
}

function walk(start: Iterable<string>, next: Map<string, string[]>, depth: number): Set<string> {
  const out = new Set<string>();
  let frontier = [...start];
  for (let d = 0; frontier.length > 0 && d < depth; d++) {
    const nextFrontier: string[] = [];
    for (const id of frontier) {
      for (const n of next.get(id) ?? []) {
        if (out.has(n)) continue;
        out.add(n);
        nextFrontier.push(n);
      }
    }
    frontier = nextFrontier;
  }
  return out;
}

const ATOM = /^(@)?(?:(\d*)(\+))?(.+?)(?:(\+)(\d*))?$/;

function selectAtom(manifest: Manifest, graph: Adjacency, atom: string, all: readonly Selectable[]): Set<string> {
  const m = ATOM.exec(atom);
  if (!m)
    throw new MedallionError('MDL_USAGE', `selector "${atom}" is not valid.`, {
      hint: 'See dbt\'s "Node selection syntax".',
    });
  const [, at, upDepth, up, criterion, down, downDepth] = m;
  if (at && (up || down)) {
    throw new MedallionError('MDL_USAGE', `selector "${atom}": "@" cannot be combined with "+".`, {
      hint: 'Write @model, or +model+.',
    });
  }
  const base = new Set(all.filter((n) => matches(manifest, n, criterion!)).map((n) => n.uniqueId));
  const out = new Set(base);
  const depth = (s: string | undefined) => (s ? Number(s) : Number.POSITIVE_INFINITY);
  if (up) for (const id of walk(base, graph.parents, depth(upDepth))) out.add(id);
  if (down || at) {
    const desc = walk(base, graph.children, at ? Number.POSITIVE_INFINITY : depth(downDepth));
    for (const id of desc) out.add(id);
    if (at) for (const id of walk([...base, ...desc], graph.parents, Number.POSITIVE_INFINITY)) out.add(id);
  }
  return out;
}

function selectSpec(
  manifest: Manifest,
  graph: Adjacency,
  spec: readonly string[],
  all: readonly Selectable[],
): Set<string> {
  const out = new Set<string>();
  for (const part of spec.flatMap((s) => s.split(/\s+/)).filter(Boolean)) {
    let acc: Set<string> | undefined;
    for (const atom of part.split(',').filter(Boolean)) {
      const picked = selectAtom(manifest, graph, atom, all);
      acc = acc === undefined ? picked : new Set([...acc].filter((id) => picked.has(id)));
    }
    for (const id of acc ?? []) out.add(id);
  }
  return out;
}

/**
 * The unique ids of the nodes (and sources) `select` picks minus those `exclude` picks; everything
 * when `select` is empty or absent. Tests follow the nodes they test (eager indirect selection).
 */
export function selectIds(
  manifest: Manifest,
  select: readonly string[] | undefined,
  exclude: readonly string[] = [],
): Set<string> {
  const all: Selectable[] = [...manifest.nodes.values(), ...manifest.sources.values()];
  const graph = adjacency(manifest);
  const hasSelect = (select ?? []).some((s) => s.trim() !== '');
  const picked = hasSelect ? selectSpec(manifest, graph, select!, all) : new Set(all.map((n) => n.uniqueId));
  const excluded = selectSpec(manifest, graph, exclude, all);
  for (const n of manifest.nodes.values()) {
    if (n.resourceType !== 'test' || picked.has(n.uniqueId)) continue;
    const parents = n.dependsOn.nodes;
    if (parents.some((p) => picked.has(p)) && parents.every((p) => !excluded.has(p))) picked.add(n.uniqueId);
  }
  for (const id of excluded) picked.delete(id);
  return picked;
}

/** The nodes a command executes, in no particular order. */
export function nodesForCommand(manifest: Manifest, command: DbtCommand, selected: ReadonlySet<string>): DbtNode[] {
  const wanted: Record<DbtCommand, readonly string[]> = {
    build: ['seed', 'model', 'snapshot', 'test'],
    run: ['model'],
    test: ['test'],
    seed: ['seed'],
    snapshot: ['snapshot'],
    freshness: [],
    compile: ['model', 'snapshot', 'test'],
    parse: [],
    ls: ['seed', 'model', 'snapshot', 'test'],
  };
  const types = wanted[command];
  const listing = command === 'ls';
  return [...manifest.nodes.values()].filter(
    (n) =>
      types.includes(n.resourceType) &&
      selected.has(n.uniqueId) &&
      (listing || n.config['materialized'] !== 'ephemeral'),
  );
}
