import { MedallionError } from '../../../core/errors.ts';

/**
 * A directed acyclic graph of unique ids (parent → child), with dbt's cycle report and a
 * deterministic topological order in which a caller-chosen kind of node (tests, in `build`) runs as
 * soon as it is ready.
 */
export class DependencyGraph {
  readonly #parents = new Map<string, Set<string>>();
  readonly #children = new Map<string, Set<string>>();

  addNode(id: string): void {
    if (!this.#parents.has(id)) this.#parents.set(id, new Set());
    if (!this.#children.has(id)) this.#children.set(id, new Set());
  }

  addEdge(parent: string, child: string): void {
    this.addNode(parent);
    this.addNode(child);
    this.#parents.get(child)!.add(parent);
    this.#children.get(parent)!.add(child);
  }

  has(id: string): boolean {
    return this.#parents.has(id);
  }

  nodes(): string[] {
    return [...this.#parents.keys()];
  }

  parents(id: string): ReadonlySet<string> {
    return this.#parents.get(id) ?? new Set();
  }

  children(id: string): ReadonlySet<string> {
    return this.#children.get(id) ?? new Set();
  }

  /** Every node reachable downstream of `id` (not including it). */
  descendants(id: string): Set<string> {
    const out = new Set<string>();
    const stack = [...this.children(id)];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (out.has(n)) continue;
      out.add(n);
      stack.push(...this.children(n));
    }
    return out;
  }

  ancestors(id: string): Set<string> {
    const out = new Set<string>();
    const stack = [...this.parents(id)];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (out.has(n)) continue;
      out.add(n);
      stack.push(...this.parents(n));
    }
    return out;
  }

  /** A cycle as a list of ids (first repeated at the end), or undefined. */
  findCycle(): string[] | undefined {
    const state = new Map<string, 1 | 2>();
    const path: string[] = [];
    const visit = (id: string): string[] | undefined => {
      state.set(id, 1);
      path.push(id);
      for (const c of [...this.children(id)].sort()) {
        const s = state.get(c);
        if (s === 1) return [...path.slice(path.indexOf(c)), c];
        if (s === undefined) {
          const found = visit(c);
          if (found) return found;
        }
      }
      path.pop();
      state.set(id, 2);
      return undefined;
    };
    for (const id of this.nodes().sort()) {
      if (!state.has(id)) {
        const found = visit(id);
        if (found) return found;
      }
    }
    return undefined;
  }

  /** Throws MDL_DBT_COMPILE naming the cycle if there is one. */
  assertAcyclic(describe: (id: string) => string): void {
    const cycle = this.findCycle();
    if (cycle) {
      throw new MedallionError('MDL_DBT_COMPILE', `Found a cycle: ${cycle.map(describe).join(' --> ')}`, {
        hint: 'Break the cycle: a model cannot depend, directly or not, on itself.',
        details: { cycle },
      });
    }
  }

  /**
   * The nodes of `subset` (default all) in dependency order, considering only edges inside it.
   * Among ready nodes, those `first` picks go first; ties break by id.
   */
  order(subset?: Iterable<string>, first: (id: string) => boolean = () => false): string[] {
    const members = new Set(subset ?? this.nodes());
    const indegree = new Map<string, number>();
    for (const id of members) indegree.set(id, [...this.parents(id)].filter((p) => members.has(p)).length);
    const ready = [...members].filter((id) => indegree.get(id) === 0);
    const out: string[] = [];
    const pick = (): string => {
      ready.sort((a, b) => Number(first(b)) - Number(first(a)) || (a < b ? -1 : a > b ? 1 : 0));
      return ready.shift()!;
    };
    while (ready.length > 0) {
      const id = pick();
      out.push(id);
      for (const c of this.children(id)) {
        if (!members.has(c)) continue;
        const d = indegree.get(c)! - 1;
        indegree.set(c, d);
        if (d === 0) ready.push(c);
      }
    }
    return out;
  }
}
