import type { Warehouse } from '../../warehouse/warehouse.ts';

/** The dbt commands Medallion's runner implements. */
export type DbtCommand = 'build' | 'run' | 'test' | 'seed' | 'snapshot' | 'freshness' | 'compile' | 'parse' | 'ls';

export const DBT_COMMANDS: readonly DbtCommand[] = [
  'build',
  'run',
  'test',
  'seed',
  'snapshot',
  'compile',
  'parse',
  'ls',
];

export interface DbtRunOptions {
  readonly command: DbtCommand;
  /** The folder holding dbt_project.yml. */
  readonly projectDir: string;
  /** Where profiles.yml is (default: DBT_PROFILES_DIR, then the project folder). */
  readonly profilesDir?: string;
  /** The profile output to use (default: the profile's `target`). */
  readonly target?: string;
  /** Where run_results.json, manifest.json and compiled SQL go (default `<projectDir>/target`). */
  readonly targetPath?: string;
  /** dbt's `--vars`: override the project's vars. */
  readonly vars?: Readonly<Record<string, unknown>>;
  /** dbt's `--select`: node names, `tag:`, `source:`, `path:`, graph operators (`+x`, `x+`, `@x`), `a,b` intersections; default everything. */
  readonly select?: readonly string[];
  /** dbt's `--exclude`: the same syntax as `select`; what it picks is left out. */
  readonly exclude?: readonly string[];
  /** dbt's `--full-refresh`: rebuild incremental models and seeds from scratch. */
  readonly fullRefresh?: boolean;
  /** dbt's `--threads`: how many nodes may run at once (default: the profile's `threads`, else 1). */
  readonly threads?: number;
  /**
   * dbt's partial parsing (default on; `--no-partial-parse` or DBT_PARTIAL_PARSE=false turn it
   * off): nodes whose inputs did not change since the last run in this target folder are not
   * rendered again to be parsed (see PartialParse).
   */
  readonly partialParse?: boolean;
  /** An open warehouse to build in, instead of opening the profile's (it is not closed). */
  readonly warehouse?: Warehouse;
  /** Progress lines (dbt's log lines); default: stderr. */
  readonly onEvent?: (line: string) => void;
  /** Hears every node start and end (in addition to observers registered with `addDbtNodeObserver`). */
  readonly nodeObserver?: DbtNodeObserver;
}

/** Per-node status: models and snapshots `success`/`error`/`skipped`; tests `pass`/`fail`/`warn`/`error`/`skipped`. */
export type DbtNodeStatus = 'success' | 'error' | 'skipped' | 'pass' | 'fail' | 'warn';

export interface DbtNodeResult {
  readonly uniqueId: string;
  readonly name: string;
  readonly resourceType: 'model' | 'seed' | 'snapshot' | 'test' | 'source';
  readonly status: DbtNodeStatus;
  /** What happened, in one line (dbt's message: "OK", "Got 2 results, configured to fail if != 0", the error). */
  readonly message: string;
  /** For tests: the number of failing rows (dbt's `failures`). */
  readonly failures?: number;
  readonly executionTimeS: number;
  /** For models and snapshots: `schema.identifier`. */
  readonly relation?: string;
}

export interface DbtTotals {
  /** Nodes that succeeded or passed. */
  readonly pass: number;
  readonly warn: number;
  /** Nodes that errored, and tests that failed. */
  readonly error: number;
  readonly skip: number;
  readonly total: number;
}

export interface DbtRunResult {
  readonly command: DbtCommand;
  /** True when no node errored or failed. */
  readonly success: boolean;
  readonly results: readonly DbtNodeResult[];
  readonly totals: DbtTotals;
  readonly elapsedS: number;
  readonly invocationId: string;
  readonly targetPath: string;
  /** For `ls`: the selected resources, as dbt lists them (`project.folder.name`, `source:project.src.tbl`). */
  readonly listed: readonly string[];
  /** Things noticed while loading the project that the user should know (unsupported seeds …). */
  readonly notes: readonly string[];
}

/** A relation a node reads (a ref'd node or a source) with its columns as the warehouse knows them. */
export interface DbtNodeInput {
  readonly uniqueId: string;
  readonly resourceType: 'model' | 'seed' | 'snapshot' | 'test' | 'source';
  readonly schema: string;
  readonly identifier: string;
  readonly columns?: readonly { readonly name: string; readonly type: string }[];
}

/** What observers learn about a gold node when it starts. */
export interface DbtNodeStartEvent {
  readonly invocationId: string;
  readonly command: DbtCommand;
  readonly uniqueId: string;
  readonly name: string;
  readonly resourceType: 'model' | 'seed' | 'snapshot' | 'test';
  /** `table`, `view`, `incremental`, `ephemeral`… (models); undefined for tests. */
  readonly materialized?: string;
  /** Where the node builds (`schema.identifier`); undefined for tests. */
  readonly relation?: { readonly schema: string; readonly identifier: string };
  readonly description: string;
  readonly originalFilePath: string;
  /** What the node reads, in dependency order. */
  readonly inputs: readonly DbtNodeInput[];
  /** For generic tests: the test's name, column and the node it is attached to. */
  readonly test?: { readonly name: string; readonly column: string | null; readonly attachedTo: string };
  readonly startedAt: Date;
}

/** What observers learn about a gold node when it ends. */
export interface DbtNodeEndEvent extends DbtNodeStartEvent {
  readonly result: DbtNodeResult;
  /** The SQL the node ran (compiled), when it compiled. */
  readonly compiledSql?: string;
  /** The built relation's columns (models, snapshots, seeds that succeeded). */
  readonly columns?: readonly { readonly name: string; readonly type: string }[];
  readonly completedAt: Date;
}

/** Hears gold nodes start and end (see `addDbtNodeObserver`). Errors it throws are reported, never fail the node. */
export interface DbtNodeObserver {
  onNodeStart?(event: DbtNodeStartEvent): void | Promise<void>;
  onNodeEnd?(event: DbtNodeEndEvent): void | Promise<void>;
}
