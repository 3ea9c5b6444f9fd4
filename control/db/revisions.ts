/** The audit log's high-water mark, which snapshot coverage and blocking queries compare against. */
import { sql } from "drizzle-orm";
import type { Queryable } from "./connect.ts";
import { revisions } from "./schema.ts";

/** The largest revision id committed (0 for an empty log). */
export async function latestRevisionId(db: Queryable): Promise<number> {
  const [{ latest }] = await db.select({ latest: sql<string>`coalesce(max(${revisions.id}), 0)::text` }).from(revisions);
  return Number(latest);
}
