import { MedallionError } from '../../../core/errors.ts';
import type { DbtCommand } from '../types.ts';
import type { DbtNode, Manifest } from './manifest.ts';

/**
 * Node selection (dbt docs "Node selection syntax"), first cut: node names, `tag:<tag>`,
 * `source:<source>[.<table>]`, `path:<folder or file>`, `resource_type:<type>`. Tests are selected
 * with the nodes they test (dbt's default "eager" indirect selection). Graph operators (`+`, `@`)
 * and wildcards come later and are refused clearly for now.
 */
function matches(
  node:
    | DbtNode
    | { uniqueId: string; sourceName: string; name: string; originalFilePath: string; config: Record<string, unknown> },
  criterion: string,
): boolean {
  const isSource = node.uniqueId.startsWith('source.');
  const colon = criterion.indexOf(':');
  if (colon < 0) return !isSource && (node as DbtNode).name === criterion;
  const method = criterion.slice(0, colon);
  const value = criterion.slice(colon + 1);
  switch (method) {
    case 'tag':
      return ((node.config['tags'] as string[] | undefined) ?? []).includes(value);
    case 'source': {
      if (!isSource) return false;
      const s = node as { sourceName: string; name: string };
      const [src, table] = value.split('.');
      return s.sourceName === src && (table === undefined || s.name === table);
    }
    case 'path':
      return node.originalFilePath === value || node.originalFilePath.startsWith(`${value.replace(/\/$/, '')}/`);
    case 'resource_type':
      return node.uniqueId.startsWith(`${value}.`);
    default:
      throw new MedallionError('MDL_USAGE', `selector method "${method}:" is not supported yet.`, {
        hint: 'Use node names, tag:, source:, path: or resource_type:.',
      });
  }
}

/** The unique ids of the nodes (and sources) `select` picks; everything when it is empty or absent. */
export function selectIds(manifest: Manifest, select: readonly string[] | undefined): Set<string> {
  const all = [...manifest.nodes.values(), ...manifest.sources.values()];
  const criteria = (select ?? []).flatMap((s) => s.split(/\s+/)).filter(Boolean);
  if (criteria.length === 0) return new Set(all.map((n) => n.uniqueId));
  for (const c of criteria) {
    if (/[+@*]/.test(c)) {
      throw new MedallionError('MDL_USAGE', `selector "${c}": graph operators and wildcards are not supported yet.`, {
        hint: 'Select by node name, tag:, source:, path: or resource_type: for now.',
      });
    }
  }
  const out = new Set<string>();
  for (const n of all) if (criteria.some((c) => matches(n as never, c))) out.add(n.uniqueId);
  return out;
}

/** The nodes a command executes, in no particular order. */
export function nodesForCommand(manifest: Manifest, command: DbtCommand, selected: ReadonlySet<string>): DbtNode[] {
  const wanted: Record<DbtCommand, readonly string[]> = {
    build: ['model', 'snapshot', 'test'],
    run: ['model'],
    test: ['test'],
    snapshot: ['snapshot'],
    compile: ['model', 'snapshot', 'test'],
    parse: [],
    ls: ['model', 'snapshot', 'test'],
  };
  const types = wanted[command];
  return [...manifest.nodes.values()].filter((n) => {
    if (!types.includes(n.resourceType)) return false;
    if (selected.has(n.uniqueId)) return true;
    return n.resourceType === 'test' && n.dependsOn.nodes.some((p) => selected.has(p));
  });
}
