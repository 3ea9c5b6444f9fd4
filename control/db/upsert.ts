/**
 * Multi-row upserts: `INSERT … VALUES (…), (…) ON CONFLICT (…) DO UPDATE SET col = excluded.col`
 * sets each conflicting row from its own proposed row (PostgreSQL INSERT, "ON CONFLICT Clause":
 * `excluded` is the row proposed for insertion). One statement per batch instead of one round trip
 * per row: a node report carries every instance of the node, so per-row upserts made the report's
 * write (on the cold-start path) grow with the node's instance count.
 */
import { getTableColumns, type SQL, sql } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";

/** `{key: excluded.<column>}` for each of `keys` of `table`, as an upsert's `set`. */
export function setFromExcluded<T extends PgTable>(table: T, keys: readonly (keyof T["_"]["columns"] & string)[]): Record<string, SQL> {
  const columns = getTableColumns(table);
  return Object.fromEntries(keys.map((key) => [key, sql.raw(`excluded."${(columns[key] as { name: string }).name}"`)]));
}
