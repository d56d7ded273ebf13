import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DuckDbWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.ts';

/** The fixture project covering what the flagship does not (see its dbt_project.yml). */
export const FEATURE_LAB = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'dbt', 'feature_lab');

/** Schemas the feature lab builds in (dbt's `<target schema>_<custom>` naming for `+schema`). */
export const FEATURE_LAB_SCHEMAS = ['main', 'main_marts', 'main_ref_data', 'main_dbt_test__audit', 'snapshots'];

/**
 * Columns that hold the run's wall clock and so cannot match between two builds: every meta column
 * of the check snapshot (its versions are stamped with the snapshot time), and `dbt_valid_to` of the
 * timestamp snapshot (a hard delete closes a row at the snapshot time). Only their nullness is compared.
 */
export function clockColumns(relation: string): string[] {
  if (relation === 'snapshots.customers_check')
    return ['dbt_scd_id', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to'];
  if (relation === 'snapshots.orders_ts') return ['dbt_valid_to'];
  return [];
}

/**
 * Loads the feature lab's raw input. Version 1 is the first run's; version 2 changes it the way
 * a second run must handle: an updated and a deleted customer, a new one; an updated, a deleted
 * and new orders.
 */
export async function loadFeatureLabInput(warehouse: DuckDbWarehouse, version: 1 | 2): Promise<void> {
  await warehouse.exec('create schema if not exists raw');
  const customers =
    version === 1
      ? "(1, 'Ana', '001'), (2, 'Bo', '002'), (3, 'Cy', '003'), (4, 'Di', '004')"
      : "(1, 'Ana', '001'), (2, 'Bob', '002'), (3, 'Cy', null), (5, 'Eve', '002')";
  const orders =
    version === 1
      ? `(1, 1, 'placed', 50.0, '2024-01-01 10:00:00'), (2, 1, 'shipped', 70.0, '2024-01-02 10:00:00'),
         (3, 2, 'placed', 20.0, '2024-01-02 11:00:00'), (4, 3, 'shipped', 5.0, '2024-01-03 09:00:00'),
         (5, 4, 'returned', 30.0, '2024-01-03 10:00:00')`
      : `(1, 1, 'placed', 50.0, '2024-01-01 10:00:00'), (2, 1, 'shipped', 70.0, '2024-01-02 10:00:00'),
         (3, 2, 'shipped', 20.0, '2024-01-04 08:00:00'), (4, 3, 'shipped', 5.0, '2024-01-03 09:00:00'),
         (6, 5, 'placed', 80.0, '2024-01-05 12:00:00'), (7, 1, 'placed', 10.0, '2024-01-05 13:00:00')`;
  await warehouse.exec(
    `create or replace table raw.customers as select * from (values ${customers}) as t(customer_id, name, country_code)`,
  );
  await warehouse.exec(
    `create or replace table raw.orders as
     select order_id::integer as order_id, customer_id::integer as customer_id, status, amount::double as amount,
            ordered_at::timestamp as ordered_at
     from (values ${orders}) as t(order_id, customer_id, status, amount, ordered_at)`,
  );
  await warehouse.exec('create or replace table raw.events as select 1 as id, now()::timestamp as loaded_at');
}
