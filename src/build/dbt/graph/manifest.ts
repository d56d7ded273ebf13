import type { Relation } from '../compile/relation.ts';
import type { MacroParam } from '../jinja/blocks.ts';

/**
 * The parsed project, shaped after dbt-core's manifest (dbt docs "Manifest JSON file"): nodes
 * (models, snapshots, tests), sources and macros keyed by unique id (`model.<project>.<name>`), with
 * their configs and dependencies. Built once by parsing; compiling and running read it.
 */
export type ResourceType = 'model' | 'seed' | 'snapshot' | 'test';

export type NodeConfig = Record<string, unknown>;

export interface ColumnDef {
  readonly name: string;
  readonly description: string;
  readonly dataType: string | undefined;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly tags: readonly string[];
}

/** A call of `ref(...)` found while parsing. */
export interface RefCall {
  readonly name: string;
  readonly package: string | null;
}

/** What a generic test is: the test macro and the arguments it is called with. */
export interface TestMetadata {
  /** The generic test's name (`unique`, `accepted_values`, a custom `{% test %}`). */
  readonly name: string;
  /** Its arguments from the YAML, as written (strings like `ref('x')` are evaluated at compile time). */
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly namespace: string | null;
  /** The node or source the test is attached to, and how to reference it (`ref('x')`, `source('s','t')`). */
  readonly attachedTo: string;
  readonly modelExpression: string;
  readonly columnName: string | null;
}

export interface DbtNode {
  readonly uniqueId: string;
  readonly resourceType: ResourceType;
  readonly name: string;
  readonly packageName: string;
  /** Path relative to the resource folder (`staging/stg_x.sql`). */
  readonly path: string;
  /** Path relative to the project (`models/staging/stg_x.sql`). */
  readonly originalFilePath: string;
  /** Line of the file where `rawCode` starts. */
  readonly rawCodeLine: number;
  readonly fqn: readonly string[];
  readonly rawCode: string;
  description: string;
  columns: Record<string, ColumnDef>;
  /** The resolved config (project folders ⊕ property files ⊕ the node's own config()). */
  config: NodeConfig;
  refs: RefCall[];
  sources: [string, string][];
  dependsOn: { nodes: string[]; macros: string[] };
  /** Where the node builds (models, snapshots); undefined for tests. */
  relation: Relation | undefined;
  readonly testMetadata: TestMetadata | undefined;
  /** For generic tests: the short name dbt uses for the compiled file. */
  readonly fileName: string;
  /** Where the node is declared when that is not `originalFilePath` line 1 (tests from YAML). */
  readonly declaredAt: string;
  /** For seeds: the CSV file's absolute path. */
  readonly seedPath?: string;
  /** For tests with `store_failures`: where the failing rows are stored (dbt's `<target>_dbt_test__audit.<name>`). */
  auditRelation?: Relation;
}

export interface SourceDefinition {
  readonly uniqueId: string;
  readonly resourceType: 'source';
  readonly sourceName: string;
  readonly name: string;
  readonly packageName: string;
  readonly originalFilePath: string;
  readonly fqn: readonly string[];
  readonly description: string;
  readonly sourceDescription: string;
  readonly columns: Record<string, ColumnDef>;
  readonly config: NodeConfig;
  readonly relation: Relation;
  readonly loader: string;
  readonly meta: Readonly<Record<string, unknown>>;
}

export interface MacroDefinition {
  readonly uniqueId: string;
  readonly name: string;
  /** `dbt` for Medallion's built-in macros, else the project's name. */
  readonly packageName: string;
  readonly originalFilePath: string;
  readonly params: readonly MacroParam[];
  readonly body: string;
  readonly bodyLine: number;
}

export interface Manifest {
  readonly projectName: string;
  readonly nodes: Map<string, DbtNode>;
  readonly sources: Map<string, SourceDefinition>;
  readonly macros: Map<string, MacroDefinition>;
  /** Seed files found (project-relative). */
  readonly seedFiles: readonly string[];
}
