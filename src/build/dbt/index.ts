/**
 * Medallion's dbt-compatible runner: builds the gold layer of a dbt-format project on the warehouse
 * (through the `Warehouse` contract). `runDbt` is the whole public surface.
 */
export { addDbtNodeObserver } from './run/node-events.ts';
export { runDbt } from './run/run-dbt.ts';
export type {
  DbtCommand,
  DbtNodeEndEvent,
  DbtNodeInput,
  DbtNodeObserver,
  DbtNodeResult,
  DbtNodeStartEvent,
  DbtNodeStatus,
  DbtRunOptions,
  DbtRunResult,
  DbtTotals,
} from './types.ts';
export { DBT_COMMANDS } from './types.ts';
