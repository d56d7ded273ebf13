/**
 * Medallion's dbt-compatible runner: builds the gold layer of a dbt-format project on the warehouse
 * (through the `Warehouse` contract). `runDbt` is the whole public surface.
 */
export { runDbt } from './run/run-dbt.ts';
export type {
  DbtCommand,
  DbtNodeResult,
  DbtNodeStatus,
  DbtRunOptions,
  DbtRunResult,
  DbtTotals,
} from './types.ts';
export { DBT_COMMANDS } from './types.ts';
