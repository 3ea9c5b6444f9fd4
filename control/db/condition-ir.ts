/**
 * Backfill of `policies.condition_ir` for rows admission did not store IR for: rows written before
 * stored IR existed, and rows of an older compiler (another STORED_IR_VERSION). The snapshot build
 * lowers those from source meanwhile, so this only saves the next restart's parse, and it runs in
 * the background after control serves (control/server.ts).
 *
 * A row's IR must always belong to its current source. API writes store both in one statement
 * (control/config/policy-store.ts); the backfill writes a row's IR only where id, condition, key
 * and passway still equal what it lowered (compare-and-set), so a policy updated in between
 * keeps the IR its update stored. PostgreSQL re-checks that WHERE clause against the newest row
 * version after waiting for a concurrent writer's row lock (READ COMMITTED), so no lock beyond
 * the row's is needed and API writes are never held up.
 */
import { and, asc, eq, gt, sql } from "drizzle-orm";
import type { Logger } from "pino";
import { STORED_IR_VERSION } from "../../wasm/cel/ir-codec.ts";
import { keyAttribute, storedConditionIr } from "../compiler/index.ts";
import type { Database } from "./connect.ts";
import { policies } from "./schema.ts";

/** Rows per read and per write transaction: ~100–150 µs of parsing each, so ≈ 15 ms of CPU between yields. */
const BATCH_ROWS = 100;

/** The part of a policy row its stored IR is derived from, as the backfill read it. */
export interface PolicySource {
  id: number;
  key: string;
  passway: string;
  condition: string;
}

export interface BackfillResult {
  /** Rows whose IR was written. */
  stored: number;
  /** Rows left as they were: changed since they were read, or a condition that no longer lowers. */
  skipped: number;
}

/**
 * Lowers each of `rows` and stores its IR in one transaction, on rows whose id, key, passway and
 * condition are still those of `rows` (others are left alone: their writer stored their IR).
 * A condition that does not lower leaves its row as it is.
 * @returns how many rows were written and skipped.
 */
export async function storeLoweredIr(db: Database, rows: readonly PolicySource[]): Promise<BackfillResult> {
  const lowered = rows.map((row) => ({
    row,
    stored: storedConditionIr(row.condition, keyAttribute(row.passway as "query" | "header" | "cookie" | "body", row.key)),
  }));
  let stored = 0;
  await db.transaction(async (tx) => {
    for (const { row, stored: ir } of lowered) {
      if (ir === null) continue;
      const written = await tx
        .update(policies)
        .set({ conditionIr: ir })
        .where(
          and(eq(policies.id, row.id), eq(policies.condition, row.condition), eq(policies.key, row.key), eq(policies.passway, row.passway)),
        )
        .returning({ id: policies.id });
      stored += written.length;
    }
  });
  return { stored, skipped: rows.length - stored };
}

export interface BackfillOptions {
  logger?: Logger;
  /** Stops between batches when aborted (control shutting down); the rest waits for the next start. */
  signal?: AbortSignal;
}

/**
 * Stores IR for every policy whose `condition_ir` is null or of another STORED_IR_VERSION, in
 * batches of BATCH_ROWS by id, yielding to the event loop between batches. Idempotent; replicas
 * running it at once write the same values.
 * @returns the totals over the batches run.
 * @throws on a database error (rows of committed batches keep their IR; the rest stay as they were).
 */
export async function backfillConditionIr(db: Database, { logger, signal }: BackfillOptions = {}): Promise<BackfillResult> {
  const total: BackfillResult = { stored: 0, skipped: 0 };
  const stale = sql`(${policies.conditionIr} is null or ${policies.conditionIr}->'v' is distinct from ${String(STORED_IR_VERSION)}::jsonb)`;
  let after = 0;
  while (!signal?.aborted) {
    const rows = await db
      .select({ id: policies.id, key: policies.key, passway: policies.passway, condition: policies.condition })
      .from(policies)
      .where(and(gt(policies.id, after), stale))
      .orderBy(asc(policies.id))
      .limit(BATCH_ROWS);
    if (rows.length === 0) break;
    const result = await storeLoweredIr(db, rows);
    total.stored += result.stored;
    total.skipped += result.skipped;
    after = rows[rows.length - 1]?.id ?? after;
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (total.stored + total.skipped > 0) logger?.info(total, "stored condition IR for policies written without it");
  return total;
}
