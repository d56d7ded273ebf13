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
  /** An open warehouse to build in, instead of opening the profile's (it is not closed). */
  readonly warehouse?: Warehouse;
  /** Progress lines (dbt's log lines); default: stderr. */
  readonly onEvent?: (line: string) => void;
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
