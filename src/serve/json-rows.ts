import type { Warehouse } from '../warehouse/warehouse.ts';

/**
 * Runs `sql` and returns its rows, ordered by `orderBy` (an ORDER BY list over the alias `q`), as
 * DuckDB serialises them to one JSON text: for answers of thousands of rows this is about twice as
 * fast as converting each value to JavaScript, and the numbers are the same doubles.
 */
export async function jsonRows<T>(
  wh: Warehouse,
  sql: string,
  params: readonly unknown[],
  orderBy: string,
): Promise<T[]> {
  const [row] = await wh.query<{ j: string | null }>(
    `SELECT to_json(coalesce(list(q ORDER BY ${orderBy}), []))::VARCHAR AS j FROM (${sql}) q`,
    params,
  );
  return JSON.parse(row?.j ?? '[]') as T[];
}
